import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../shared/encoding.js'
import { PEER_ID_PATTERN } from '../../shared/tracker-protocol.js'
import {
  generateKeyPair,
  identityOf,
  keyPairFromSeed,
  loadOrCreateIdentity,
  MemoryKeyStore,
  nodeIdOf,
  peerIdOf,
  verifySignature,
  webCryptoRing,
} from '../../web/peer/identity.js'

// RFC 8032 §7.1, test 1.
const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const PUBLIC_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const EMPTY_SIGNATURE =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

describe('identity', () => {
  it('derives the RFC 8032 public key and signature from its seed', async () => {
    const identity = await identityOf(await keyPairFromSeed(SEED))
    expect(toHex(identity.publicKey)).toBe(PUBLIC_KEY)
    expect(toHex(await identity.sign(new Uint8Array()))).toBe(EMPTY_SIGNATURE)
  })

  it('names a node by the SHA-256 of its raw public key, and its peer id by the first 96 bits', async () => {
    const identity = await identityOf(await keyPairFromSeed(SEED))
    const nodeId = createHash('sha256').update(fromHex(PUBLIC_KEY)).digest('hex')
    expect(identity.nodeId).toBe(nodeId)
    expect(identity.nodeId).toBe('21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9')
    expect(identity.peerId).toBe(Buffer.from(nodeId.slice(0, 24), 'hex').toString('base64url'))
    expect(identity.peerId).toMatch(PEER_ID_PATTERN)
    expect(peerIdOf(nodeId)).toBe(identity.peerId)
    expect(await nodeIdOf(identity.publicKey)).toBe(nodeId)
  })

  it('generates non-extractable private keys unless asked', async () => {
    const keyPair = await generateKeyPair()
    expect(keyPair.privateKey.extractable).toBe(false)
    await expect(crypto.subtle.exportKey('pkcs8', keyPair.privateKey)).rejects.toThrow()
    expect((await generateKeyPair(true)).privateKey.extractable).toBe(true)
    expect((await keyPairFromSeed(SEED)).privateKey.extractable).toBe(false)
  })

  it('verifies its own signatures and nothing else, without throwing', async () => {
    const identity = await identityOf(await generateKeyPair())
    const message = new TextEncoder().encode('swarmdrop')
    const signature = await identity.sign(message)
    expect(await verifySignature(identity.publicKey, message, signature)).toBe(true)
    expect(await webCryptoRing.verify(identity.publicKey, message, signature)).toBe(true)
    const tampered = signature.slice()
    tampered[0]! ^= 1
    expect(await verifySignature(identity.publicKey, message, tampered)).toBe(false)
    expect(await verifySignature(identity.publicKey, Uint8Array.of(1), signature)).toBe(false)
    expect(await verifySignature(fromHex(PUBLIC_KEY), message, signature)).toBe(false)
    expect(await verifySignature(identity.publicKey.subarray(1), message, signature)).toBe(false)
    expect(await verifySignature(identity.publicKey, message, signature.subarray(1))).toBe(false)
    expect(await verifySignature(new Uint8Array(32).fill(255), message, signature)).toBe(false)
  })

  it('keeps one identity per key store: created once, the same on every load', async () => {
    const store = new MemoryKeyStore()
    expect(await store.load()).toBeNull()
    const first = await loadOrCreateIdentity(store)
    const again = await loadOrCreateIdentity(store)
    expect(again.nodeId).toBe(first.nodeId)
    expect(again.peerId).toBe(first.peerId)
    const other = await loadOrCreateIdentity(new MemoryKeyStore())
    expect(other.nodeId).not.toBe(first.nodeId)
  })

  it('refuses a seed of the wrong length', async () => {
    await expect(keyPairFromSeed(new Uint8Array(31))).rejects.toThrow(RangeError)
  })
})
