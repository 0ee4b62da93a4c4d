/**
 * The folder's key pair (cli/folder/file-key-store.ts): made once, kept owner-only in `.swarmdrop/identity`,
 * the same identity on every start, so the headless peer is the same peer id on the tracker after a restart.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileKeyStore } from '../../cli/folder/file-key-store.js'
import { generateKeyPair, loadOrCreateIdentity } from '../../web/peer/identity.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { startTestServer } from '../support/server.js'
import { openCli, opened, type TestServer, tempDir } from './support/peers.js'

const servers: TestServer[] = []
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

describe('FileKeyStore', () => {
  it('makes a key pair once, owner-only on disk, and gives the same identity on every load', async () => {
    const dir = join(tempDir('keys'), '.swarmdrop', 'identity')
    const store = new FileKeyStore(dir)
    expect(await store.load()).toBeNull()
    const first = await loadOrCreateIdentity(store)
    expect((await stat(join(dir, 'private.pkcs8'))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect(new Uint8Array(await readFile(join(dir, 'public.raw')))).toEqual(first.publicKey)
    const again = await loadOrCreateIdentity(new FileKeyStore(dir))
    expect(again.nodeId).toBe(first.nodeId)
    expect(again.peerId).toBe(first.peerId)
    const message = new TextEncoder().encode('still me')
    expect(await again.sign(message)).toEqual(await first.sign(message))
  })

  it('refuses what is not a key pair on disk (junk, a truncated key, halves that do not match), and makes a new one', async () => {
    const dir = join(tempDir('keys-bad'), 'identity')
    const store = new FileKeyStore(dir)
    await loadOrCreateIdentity(store)
    const other = await generateKeyPair(true)
    const otherPublic = new Uint8Array(await crypto.subtle.exportKey('raw', other.publicKey))
    await writeFile(join(dir, 'public.raw'), otherPublic)
    expect(await store.load()).toBeNull()
    await writeFile(join(dir, 'private.pkcs8'), 'not a key')
    expect(await store.load()).toBeNull()
    await writeFile(join(dir, 'public.raw'), otherPublic.subarray(1))
    expect(await store.load()).toBeNull()
    const fresh = await loadOrCreateIdentity(store)
    expect((await loadOrCreateIdentity(new FileKeyStore(dir))).nodeId).toBe(fresh.nodeId)
  })

  it('keeps the headless peer the same peer id on the tracker across a restart of the same folder', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const dir = tempDir('restart')
    await mkdir(dir, { recursive: true })
    const first = await openCli(dir, server, network)
    const peerId = first.engine.tracker.peerId
    expect(peerId).toBe(first.engine.identity.peerId)
    await opened.splice(opened.indexOf(first), 1)[0]!.close()
    const second = await openCli(dir, server, network)
    expect(second.engine.tracker.peerId).toBe(peerId)
    const other = await openCli(tempDir('other'), server, network)
    expect(other.engine.tracker.peerId).not.toBe(peerId)
  })
})
