/**
 * `swarmdrop share --listen PORT` (issue 13), engine level: a peer listening for signalling is the way back
 * into the network when the tracker is gone. A seeds, L is a headless peer on a folder started with
 * `--listen` (cli/headless-peer.ts, cli/listen-server.ts), the tracker is
 * killed; a fresh peer B that knows only L's URL from its recent contacts links to L over the socket, joins
 * the ring through it, finds A's file by a word of its name and downloads it byte-identical over a link
 * whose signals went through the ring. In-memory links negotiated through real signals; a real tracker.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HeadlessPeer } from '../../cli/headless-peer.js'
import type { SwarmEngine } from '../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { MemoryContactStore } from '../../web/peer/ring/contacts.js'
import {
  bytesOf,
  openRingPeer,
  type RingPeer,
  ringIsIdeal,
  savedBytes,
  shareBytes,
  TEST_RING,
} from '../support/ring-engines.js'
import { startTestServer } from '../support/server.js'
import { until } from '../support/until.js'
import { createSocket } from './support/peers.js'

const MiB = 1024 * 1024
const engines: SwarmEngine[] = []
const headless: HeadlessPeer[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const engine of engines.splice(0)) engine.destroy()
  await Promise.all(headless.splice(0).map((peer) => peer.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function open(
  url: string,
  network: MemoryLinkNetwork,
  contacts?: MemoryContactStore,
): Promise<RingPeer> {
  const peer = await openRingPeer(url, network, contacts ? { contacts } : {})
  engines.push(peer.engine)
  return peer
}

/** `swarmdrop share DIR --listen 0` on loopback: a headless peer on an empty folder, listening. */
async function listeningPeer(url: string, network: MemoryLinkNetwork): Promise<HeadlessPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-listen-'))
  dirs.push(dir)
  const peer = await HeadlessPeer.open({
    dir,
    trackerUrl: url,
    createSocket,
    createLink: network.createLink,
    listenPort: 0,
    listenHost: '127.0.0.1',
    ring: TEST_RING,
  })
  headless.push(peer)
  return peer
}

describe('share --listen', () => {
  it('lets a fresh peer rejoin through the listening peer with the tracker killed, and download byte-identical', async () => {
    const server = await startTestServer()
    const network = new MemoryLinkNetwork()
    const a = await open(server.url, network)
    await until(() => a.engine.tracker.status.state === 'online')
    const bytes = bytesOf(2 * MiB + 12_345, 3)
    const record = await shareBytes(a, bytes, 'Field recordings spring.flac')
    await until(() => server.tracker.stats().files === 1)
    const l = await listeningPeer(server.url, network)
    const listener = l.listenServer!
    await until(() => ringIsIdeal([a.engine, l.engine]), 'A and L in one ring', 30_000)

    await server.close()
    await until(() => [a.engine, l.engine].every((e) => e.tracker.status.state !== 'online'), 'tracker gone')

    // B starts now, the tracker unreachable: all it knows is L's URL, kept from an earlier run.
    const contacts = new MemoryContactStore()
    const url = `ws://127.0.0.1:${listener.port}`
    await contacts.save({ contacts: [], entryUrls: [url], iceServers: [] })
    const b = await open(server.url, network, contacts)
    await until(() => b.engine.entryPoints()[0]?.peers.length === 1, 'B welcomed by L', 15_000)
    expect(listener.peers()).toEqual([b.engine.identity.peerId])
    expect(b.engine.entryPoints()).toEqual([
      { label: url, kind: 'listen', peers: [l.engine.identity.peerId] },
    ])
    await until(() => ringIsIdeal([a.engine, l.engine, b.engine]), 'B in the ring through L', 30_000)
    expect(b.engine.swarm.sessions.some((s) => s.peerId === l.engine.identity.peerId)).toBe(true)

    const hits = await b.engine.search('recordings')
    expect(hits.map((hit) => [hit.digest, hit.source])).toEqual([[record.digest, 'ring']])
    const download = await b.engine.fetch(record.digest)
    await download.once('complete')
    expect(b.engine.tracker.status.state).not.toBe('online')
    expect(b.engine.swarm.sessions.some((s) => s.peerId === a.engine.identity.peerId)).toBe(true)
    expect((await savedBytes(b, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    // The URL stays among B's contacts for the next start.
    expect(b.engine.keptContacts.entryUrls).toEqual([url])
  }, 90_000)
})
