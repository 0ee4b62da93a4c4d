/// <reference types="mocha" />
/**
 * Identities in real Chromium (SPEC §8: Ed25519 in WebCrypto since Chromium 137): the same key
 * derivation and signatures as in Node, a private key that script cannot read, and a key pair that
 * IndexedDB keeps as a CryptoKey and gives back able to sign.
 */
import { expect } from 'chai'
import { createStore, get, set } from 'idb-keyval'
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  generateKeyPair,
  identityOf,
  keyPairFromSeed,
  loadOrCreateIdentity,
  verifySignature,
} from '../../web/peer/identity.js'
import { IdbKeyStore } from '../../web/storage/idb-key-store.js'
import { inNewPage } from './support/commands.js'

const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')

describe('identity in Chromium', () => {
  it('derives the RFC 8032 test key, its node id and its signature as Node does', async () => {
    const identity = await identityOf(await keyPairFromSeed(SEED))
    expect(toHex(identity.publicKey)).to.equal(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    )
    expect(identity.nodeId).to.equal('21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9')
    expect(toHex(await identity.sign(new Uint8Array()))).to.equal(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    )
  })

  it('keeps the private key out of reach of script, and in IndexedDB as a key that still signs', async () => {
    const keyPair = await generateKeyPair()
    let exported = true
    await crypto.subtle.exportKey('pkcs8', keyPair.privateKey).catch(() => (exported = false))
    expect(exported).to.equal(false)
    const store = createStore(`identity-test-${Math.random()}`, 'keys')
    await set('key-pair', keyPair, store)
    const loaded = (await get('key-pair', store)) as CryptoKeyPair
    const before = await identityOf(keyPair)
    const after = await identityOf(loaded)
    expect(after.nodeId).to.equal(before.nodeId)
    const message = new TextEncoder().encode('reloaded')
    expect(await verifySignature(before.publicKey, message, await after.sign(message))).to.equal(true)
  })
})

describe('the identity after a reload', () => {
  it('is the same node id and peer id in a new page and after a reload, with the private key unreadable', async () => {
    const keyDb = `test-identity-${Math.random().toString(36).slice(2, 10)}`
    type Seen = { nodeId: string; peerId: string; extractable: boolean }
    const [first, afterReload] = (await inNewPage([
      { call: 'identity', args: [keyDb] },
      'reload',
      { call: 'identity', args: [keyDb] },
    ])) as [Seen, Seen]
    const [inAnotherPage] = (await inNewPage([{ call: 'identity', args: [keyDb] }])) as [Seen]
    expect(first.nodeId).to.match(/^[0-9a-f]{64}$/)
    expect(afterReload).to.deep.equal(first)
    expect(inAnotherPage).to.deep.equal(first)
    expect(first.extractable).to.equal(false)
    const here = await loadOrCreateIdentity(new IdbKeyStore(keyDb))
    expect(here.peerId).to.equal(first.peerId)
    // Another profile's database is another identity.
    const other = await loadOrCreateIdentity(new IdbKeyStore(`${keyDb}-other`))
    expect(other.nodeId).to.not.equal(first.nodeId)
  })

  it('replaces what is not an Ed25519 key pair in its database with a fresh one', async () => {
    const keyDb = `test-identity-junk-${Math.random().toString(36).slice(2, 10)}`
    await set('key-pair', { publicKey: 'not a key', privateKey: 42 }, createStore(keyDb, 'keys'))
    const store = new IdbKeyStore(keyDb)
    expect(await store.load()).to.equal(null)
    const identity = await loadOrCreateIdentity(store)
    expect((await loadOrCreateIdentity(new IdbKeyStore(keyDb))).nodeId).to.equal(identity.nodeId)
  })
})
