/**
 * The whole engine in Node: real tracker server, real tracker clients over `ws`, the link manager's real
 * offer/answer exchange through the tracker, in-memory links instead of WebRTC, in-memory storage.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import type { RunningServer } from '../../signal/server.js'
import type { Clock } from '../../web/peer/clock.js'
import { SwarmEngine } from '../../web/peer/engine.js'
import { CONNECT_TIMEOUT_MS } from '../../web/peer/link-manager.js'
import type { LocalFile } from '../../web/peer/local-files.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import type { IceServer, LinkFactory } from '../../web/peer/peer-link.js'
import {
  RECONNECT_DELAY_MS,
  SOURCE_REFRESH_MS,
  UNREACHABLE_RETRY_MAX_MS,
  UNREACHABLE_RETRY_MS,
} from '../../web/peer/source-finder.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { ingest } from '../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { FakeClock } from '../support/fake-clock.js'
import { startTestServer } from '../support/server.js'
import { unopenableLinks } from '../support/unopenable-links.js'
import { until } from '../support/until.js'

const MiB = 1024 * 1024
const engines: SwarmEngine[] = []
const servers: RunningServer[] = []

afterEach(async () => {
  for (const engine of engines.splice(0)) engine.destroy()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

interface Peer {
  engine: SwarmEngine
  chunks: MemoryChunkStore
  files: MemoryFileStore
  completed: LocalFile[]
}

async function openPeer(
  url: string,
  network: MemoryLinkNetwork,
  stores = { chunks: new MemoryChunkStore(), files: new MemoryFileStore() },
  extra: { clock?: Clock; createLink?: LinkFactory } = {},
): Promise<Peer> {
  const completed: LocalFile[] = []
  const engine = await SwarmEngine.open({
    trackerUrl: url,
    createSocket: (u) => new WebSocket(u),
    ...stores,
    createLink: extra.createLink ?? network.createLink,
    onComplete: (file) => completed.push(file),
    ...(extra.clock ? { clock: extra.clock } : {}),
  })
  engines.push(engine)
  await until(() => engine.tracker.status.state === 'online')
  return { engine, ...stores, completed }
}

function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed + (i >> 11)) & 255)
}

/** Ingests bytes on a peer and shares them, as the page does after a drop. */
async function share(peer: Peer, bytes: Uint8Array<ArrayBuffer>, name: string) {
  const source = new Blob([bytes])
  const { record } = await ingest(
    source,
    { chunks: peer.chunks, files: peer.files, now: Date.now },
    {
      name,
      mime: 'application/octet-stream',
      onManifest: (r) => peer.engine.share(r, source),
    },
  )
  peer.engine.stored(record)
  return record
}

/** Moves a fake clock on second by second, letting real I/O (the tracker's replies) happen in between. */
async function runClock(clock: FakeClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 1000) {
    clock.advance(Math.min(1000, ms - done))
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Lets real time pass (timers and I/O of the engines under test). */
async function runFor(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

async function saved(peer: Peer, digest: string): Promise<Buffer> {
  const file = peer.engine.local.get(digest)!
  return Buffer.from(await (await assembleFile(peer.chunks, file.record)).arrayBuffer())
}

describe('engine', () => {
  it('finds a shared file in the catalog and downloads it from every peer that has it', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => openPeer(server.url, network)))
    const bytes = bytesOf(24 * MiB + 7, 1)
    const record = await share(a!, bytes, 'holiday.mkv')

    await until(() => server.tracker.stats().files === 1)
    const page = await b!.engine.catalog()
    expect(page.files.map((f) => [f.digest, f.names])).toEqual([[record.digest, ['holiday.mkv']]])
    await (await b!.engine.fetch(record.digest)).once('complete')
    expect((await saved(b!, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    expect(b!.completed.map((f) => f.record.name)).toEqual(['holiday.mkv'])

    // c downloads while a and b both seed, and hears from both
    const from = new Set<string>()
    const download = await c!.engine.fetch(record.digest)
    download.on('chunk', ({ state, peerId }) => {
      if (state === 'here' && peerId) from.add(peerId)
    })
    await download.once('complete')
    expect((await saved(c!, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    expect(from.size).toBe(2)
    await until(() => server.tracker.registry.entry(record.digest)?.seeders === 3)
  })

  it('announces thousands of stored files together, within the rate limit, and serves them', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const [seeder, leecher] = await Promise.all([
      openPeer(server.url, network),
      openPeer(server.url, network),
    ])
    const errors: unknown[] = []
    seeder.engine.tracker.on('error', (error) => errors.push(error))
    // What the headless peer's folder scan hands over: files whose chunks storage holds already.
    const records = []
    const small = (i: number) => new TextEncoder().encode(`small file number ${i}`)
    for (let i = 0; i < 3_000; i++) {
      const bytes = small(i)
      const { record } = await ingest(
        new Blob([bytes]),
        { ...seeder, now: Date.now },
        { name: `f${i}.bin`, mime: '' },
      )
      records.push(record)
    }
    seeder.engine.shareStored(records)
    await until(() => server.tracker.stats().files === 3_000)
    expect(errors).toEqual([])
    expect(seeder.engine.local.list().every((f) => f.have.complete)).toBe(true)
    const wanted = records[1234]!
    await (await leecher.engine.fetch(wanted.digest)).once('complete')
    expect((await saved(leecher, wanted.digest)).equals(Buffer.from(small(1234)))).toBe(true)
  })

  it('takes up a download whose chunks storage holds already, fetching only the rest', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const seeder = await openPeer(server.url, network)
    const leecher = await openPeer(server.url, network)
    const bytes = bytesOf(6 * MiB, 9)
    const record = await share(seeder, bytes, 'adopted.bin')
    await until(() => server.tracker.stats().files === 1)
    for (const index of [0, 4]) {
      await leecher.chunks.put(record.digest, index, bytes.subarray(index * MiB, (index + 1) * MiB))
    }
    const uploads: number[] = []
    seeder.engine.swarm.on('uploaded', () => uploads.push(1))
    const have = new Bitfield(6)
    have.set(0)
    have.set(4)
    await leecher.engine.catalog()
    const download = await leecher.engine.adopt(record.digest, record.manifest, have)
    if (download.state !== 'complete') await download.once('complete')
    expect((await saved(leecher, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    expect(uploads.length).toBe(4)
    // Named as the catalog lists it.
    expect(await leecher.files.get(record.digest)).toMatchObject({
      digest: record.digest,
      name: 'adopted.bin',
      origin: 'downloaded',
    })
  })

  it('gives the same download to a double click', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const [seeder, leecher] = await Promise.all([
      openPeer(server.url, network),
      openPeer(server.url, network),
    ])
    const bytes = bytesOf(3 * MiB, 4)
    const record = await share(seeder!, bytes, 'twice.bin')
    await until(() => server.tracker.stats().files === 1)
    const [first, second] = await Promise.all([
      leecher!.engine.fetch(record.digest),
      leecher!.engine.fetch(record.digest),
    ])
    expect(second).toBe(first)
    await first.once('complete')
    expect((await saved(leecher!, record.digest)).equals(Buffer.from(bytes))).toBe(true)
  })

  it('resumes an unfinished download by itself when it is opened again on the same storage', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const seeder = await openPeer(server.url, network)
    const stores = { chunks: new MemoryChunkStore(), files: new MemoryFileStore() }
    const first = await openPeer(server.url, network, stores)
    const bytes = bytesOf(8 * MiB, 2)
    const record = await share(seeder, bytes, 'big.bin')
    await until(() => server.tracker.stats().files === 1)

    // The seeder serves three chunks, then holds every read until the first page is gone: on a fast machine
    // the whole file would otherwise be here before the page goes away, leaving nothing to resume.
    const localFiles = seeder.engine.local
    const read = localFiles.read.bind(localFiles)
    let reads = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    localFiles.read = async (digest, index) => {
      if (++reads > 3) await gate
      return read(digest, index)
    }
    const download = await first.engine.fetch(record.digest)
    await until(() => download.progress().chunksHere >= 3)
    first.engine.destroy() // the page goes away
    release()
    const kept = (await stores.chunks.indices(record.digest)).length
    expect(kept).toBe(3)

    const uploads: number[] = []
    seeder.engine.swarm.on('uploaded', () => uploads.push(1))
    const again = await openPeer(server.url, network, stores)
    // no wait for the next source refresh: sources are asked for as soon as the tracker is online
    await until(() => again.completed.length === 1, 'the resumed download to complete', 3_000)
    expect((await saved(again, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    // only what was missing was fetched again (a chunk in flight at the reload may come twice)
    expect(uploads.length).toBeLessThanOrEqual(8 - kept + 4)
  })

  it('keeps a running download going through a tracker restart', async () => {
    const first = await startTestServer()
    const port = first.port
    const network = new MemoryLinkNetwork()
    const seeder = await openPeer(first.url, network)
    const leecher = await openPeer(first.url, network)
    const bytes = bytesOf(6 * MiB, 3)
    const record = await share(seeder, bytes, 'r.bin')
    await until(() => first.tracker.stats().files === 1)
    const download = await leecher.engine.fetch(record.digest)
    await first.close()
    const second = await startTestServer({ port })
    servers.push(second)
    await download.once('complete')
    expect((await saved(leecher, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    // both reconnect by themselves and the catalog is whole again
    await until(
      () => second.tracker.registry.entry(record.digest)?.seeders === 2,
      'both seeders on the second tracker',
      15_000,
    )
  })

  it("gives links made after the tracker's ice-servers refresh its fresh TURN credentials", async () => {
    let nowMs = Date.UTC(2026, 0, 1)
    const ttlSeconds = 600
    const server = await startTestServer({
      turn: { urls: ['turn:turn.example.org:3478'], secret: 'x'.repeat(32), ttlSeconds },
      now: () => nowMs,
    })
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const seeder = await openPeer(server.url, network)
    const offered: IceServer[][] = []
    const leecher: Peer = await openPeer(server.url, network, undefined, {
      createLink: (options) => {
        if (options.initiator) offered.push(options.iceServers)
        return network.createLink(options)
      },
    })
    const peerId = leecher.engine.tracker.peerId
    const turnUsername = (list: IceServer[]) => list.find((s) => s.username)?.username
    const status = leecher.engine.tracker.status
    const welcomed = status.state === 'online' ? turnUsername(status.iceServers) : undefined
    expect(welcomed).toBe(`${nowMs / 1000 + ttlSeconds}:${peerId}`)

    // Past the point where the server refreshes them, before they expire.
    nowMs += 0.85 * ttlSeconds * 1000
    await leecher.engine.tracker.once('ice-servers')
    const record = await share(seeder, bytesOf(2 * MiB, 7), 'fresh.bin')
    await until(() => server.tracker.stats().files === 1)
    await (await leecher.engine.fetch(record.digest)).once('complete')
    expect(offered.map(turnUsername)).toEqual([`${nowMs / 1000 + ttlSeconds}:${peerId}`])
  })

  it('re-dials a source whose link dropped mid-transfer at once, and finishes from the chunks stored', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const seeder = await openPeer(server.url, network)
    // The leecher's time stands still unless the test moves it: no source refresh can happen unseen.
    const clock = new FakeClock()
    const leecher = await openPeer(server.url, network, undefined, { clock })
    const bytes = bytesOf(8 * MiB, 5)
    const record = await share(seeder, bytes, 'dropped.bin')
    await until(() => server.tracker.stats().files === 1)
    const uploads: number[] = []
    seeder.engine.swarm.on('uploaded', () => uploads.push(1))

    const download = await leecher.engine.fetch(record.digest)
    const leecherId = leecher.engine.tracker.peerId!
    expect(network.createdBy(leecherId)).toBe(1)
    let stored = 0
    let keptAtDrop = 0
    download.on('chunk', ({ state }) => {
      if (state !== 'here' || ++stored !== 3) return
      // The only source's link fails mid-transfer (ICE gone: the other side's network changed).
      keptAtDrop = download.progress().chunksHere
      leecher.engine.swarm.sessions[0]!.link.destroy(new SwarmError('PEER_UNREACHABLE', 'ICE disconnected'))
    })
    await until(() => keptAtDrop > 0 && leecher.engine.swarm.sessions.length === 0)
    expect(download.progress().sources).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(network.createdBy(leecherId)).toBe(1) // nothing happens before the reconnect delay
    const here = download.progress().chunksHere
    expect(here).toBeGreaterThanOrEqual(keptAtDrop)
    const uploadsBefore = uploads.length

    clock.advance(RECONNECT_DELAY_MS)
    await until(() => leecher.completed.length === 1)
    // It came back through a fresh negotiation, long before a source refresh would have fired.
    expect(network.createdBy(leecherId)).toBe(2)
    expect(clock.now()).toBe(RECONNECT_DELAY_MS)
    expect(clock.now()).toBeLessThan(SOURCE_REFRESH_MS)
    expect((await saved(leecher, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    // It went on from the chunks already stored: only what was missing came over the new link.
    expect(uploads.length - uploadsBefore).toBeLessThanOrEqual(8 - here)
  })

  it('keeps serving over the links it has when the browser refuses another RTCPeerConnection, and says why', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    // A stubbed RTCPeerConnection that Chromium stops building after two (the page built others before).
    let constructed = 0
    const stubbed: LinkFactory = (options) => {
      if (++constructed > 2) {
        throw new Error("Failed to construct 'RTCPeerConnection': Cannot create so many PeerConnections")
      }
      return network.createLink(options)
    }
    const tab = await openPeer(server.url, network, undefined, { createLink: stubbed })
    const problems: string[] = []
    tab.engine.on('problem', ({ error }) => problems.push(error.code))
    const [first, second, third, elsewhere] = await Promise.all(
      [1, 2, 3, 4].map(() => openPeer(server.url, network)),
    )
    const a = await share(tab, bytesOf(2 * MiB, 21), 'a.bin')
    await until(() => server.tracker.stats().files === 1)
    await (await first!.engine.fetch(a.digest)).once('complete')
    await (await second!.engine.fetch(a.digest)).once('complete')
    expect(constructed).toBe(2)

    // The tab wants a file only another peer has: the browser refuses the connection.
    const b = await share(elsewhere!, bytesOf(1 * MiB, 22), 'b.bin')
    await until(() => server.tracker.stats().files === 2)
    const download = await tab.engine.fetch(b.digest)
    await until(() => problems.includes('LINK_BUDGET_SPENT'))
    expect(tab.engine.linkBudget.state).toBe('spent')
    expect(download.progress().sources).toBe(0)
    const constructedWhenSpent = constructed

    // The links it has keep serving: the first peer downloads another file over its open link.
    const c = await share(tab, bytesOf(1 * MiB, 23), 'c.bin')
    await until(() => server.tracker.stats().files === 3)
    await (await first!.engine.fetch(c.digest)).once('complete')
    expect((await saved(first!, c.digest)).equals(Buffer.from(bytesOf(1 * MiB, 23)))).toBe(true)
    // A new peer's knock is declined before anything is built, and the tab builds nothing more.
    const declined = third!.engine.fetch(a.digest)
    await runFor(2_000)
    expect((await declined).progress().sources).toBe(0)
    expect(constructed).toBe(constructedWhenSpent)
    expect(problems.filter((code) => code === 'LINK_BUDGET_SPENT')).toHaveLength(1)
  })

  it('fails a dial to a peer that has left the tracker with PEER_NOT_FOUND at once, and shows no error', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    // The dialler's time stands still: only the tracker's answer can end the attempt, not the connect timeout.
    const clock = new FakeClock()
    const dialler = await openPeer(server.url, network, undefined, { clock })
    const departed = await openPeer(server.url, network)
    const departedId = departed.engine.tracker.peerId!
    departed.engine.destroy() // says bye: the tracker forgets it at once
    await until(() => server.tracker.stats().peersOnline === 1)
    const trackerErrors: unknown[] = []
    dialler.engine.tracker.on('error', (error) => trackerErrors.push(error))

    const started = performance.now()
    const error = await dialler.engine.swarm.session(departedId).catch((e: unknown) => e)
    const tookMs = performance.now() - started
    expect(error).toBeInstanceOf(SwarmError)
    expect(error).toMatchObject({ code: 'PEER_NOT_FOUND' })
    expect((error as SwarmError).message).toContain(departedId)
    expect(tookMs).toBeLessThan(CONNECT_TIMEOUT_MS / 10)
    expect(clock.now()).toBe(0)
    expect(trackerErrors).toEqual([])
  })

  it.each([
    { turn: false, code: 'NAT_BLOCKED' },
    { turn: true, code: 'PEER_UNREACHABLE' },
  ])(
    'says once why the only source cannot be reached ($code, TURN $turn), and re-dials it ever more slowly',
    async ({ turn, code }) => {
      const server = await startTestServer({
        iceServers: [{ urls: 'stun:stun.example.org:3478' }],
        ...(turn
          ? { turn: { urls: ['turn:turn.example.org:3478'], secret: 'x'.repeat(32), ttlSeconds: 3600 } }
          : {}),
      })
      servers.push(server)
      const network = new MemoryLinkNetwork()
      // Both sides gather host and server-reflexive candidates, and no path between them works.
      const seeder = await openPeer(server.url, network, undefined, {
        createLink: unopenableLinks(['host', 'srflx']),
      })
      const clock = new FakeClock()
      const stuck = unopenableLinks(['host', 'srflx'])
      const dials: number[] = []
      const leecher = await openPeer(server.url, network, undefined, {
        clock,
        createLink: (options) => {
          if (options.initiator) dials.push(clock.now())
          return stuck(options)
        },
      })
      const record = await share(seeder, bytesOf(2 * MiB, 6), 'far-away.bin')
      await until(() => server.tracker.stats().files === 1)
      const problems: SwarmError[] = []
      leecher.engine.on('problem', ({ digest, error }) => {
        if (digest === record.digest) problems.push(error)
      })

      void leecher.engine.fetch(record.digest)
      await until(() => dials.length === 1)
      const runMs = 180_000
      await runClock(clock, runMs)

      // One problem, with the diagnosis, over dozens of source refreshes.
      expect(problems.map((p) => p.code)).toEqual([code])
      expect(problems[0]!.message).toContain('local candidates: host, srflx')
      expect(leecher.engine.local.get(record.digest)?.have.count).toBe(0)
      // The peer is dialled again, but not on every refresh: the wait after each failure doubles.
      const gaps = dials.slice(1).map((at, i) => at - dials[i]!)
      expect(dials.length).toBeGreaterThanOrEqual(3)
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(
          CONNECT_TIMEOUT_MS + Math.min(UNREACHABLE_RETRY_MAX_MS, UNREACHABLE_RETRY_MS * 2 ** i),
        )
      })
      // Without the backoff it would be dialled after every failure and refresh: every 20 s.
      expect(dials.length).toBeLessThan(runMs / (CONNECT_TIMEOUT_MS + SOURCE_REFRESH_MS) / 2)
    },
  )
})
