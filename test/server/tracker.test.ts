import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { connect as connectTcp } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Bitfield } from '../../shared/bitfield.js'
import { CLOSE_CODES } from '../../shared/errors.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import type { AnnouncedFile, IceServer } from '../../shared/tracker-protocol.js'
import type { RunningServer } from '../../signal/server.js'
import { FakeClock } from '../support/fake-clock.js'
import { bothRegistries, REGISTRY_KINDS } from '../support/redis.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

const CHUNK = 16 * 1024
/** Heartbeat tests run on a fake clock: time moves only when a test says, so no beat comes early or late. */
const START_MS = Date.UTC(2026, 0, 1)
const BEAT_MS = 1000
/** The tracker checks heartbeats a hundred times an interval. */
const SLICE_MS = BEAT_MS / 100
/** For tests that move the clock by days and are not about heartbeats. */
const NO_HEARTBEAT_MS = 365 * 24 * 3600 * 1000
const servers: RunningServer[] = []
const clients: TestClient[] = []

/** The suite runs against both registries (test/support/redis.ts). */
const registries = bothRegistries()

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function serve(overrides: Parameters<typeof startTestServer>[0] = {}) {
  const server = await startTestServer({ ...registries.options(), ...overrides })
  servers.push(server)
  return server
}

async function connect(url: string, options?: WebSocket.ClientOptions) {
  const client = await TestClient.connect(url, options)
  clients.push(client)
  return client
}

/** A real file of `size` pseudo-random bytes, with its manifest and digest. */
async function fileOf(size: number, seed: number) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + seed * 17) & 255)
  const manifest = await manifestOf(bytes, CHUNK)
  return { bytes, manifest, digest: await manifestDigest(manifest) }
}

function announced(
  file: { digest: string; manifest: { size: number } },
  name: string,
  have: AnnouncedFile['have'] = 'all',
): AnnouncedFile {
  return { digest: file.digest, name, size: file.manifest.size, chunkSize: CHUNK, have }
}

describe.each(REGISTRY_KINDS)('tracker (%s registry)', (registry) => {
  beforeAll(() => registries.use(registry))

  it('lets two peers announce, a third list the catalog, find the peers of a digest, and exchange offer and answer', async () => {
    const server = await serve()
    const a = await connect(server.url)
    const b = await connect(server.url)
    const c = await connect(server.url)
    const film = await fileOf(5 * CHUNK + 7, 1)
    const notes = await fileOf(100, 2)

    expect(
      await a.request({
        type: 'announce',
        files: [announced(film, 'film.mkv'), announced(notes, 'notes.txt')],
      }),
    ).toMatchObject({ type: 'ack' })
    expect(
      await b.request({
        type: 'announce',
        files: [announced(film, 'movie.mkv', new Bitfield(6).toBase64())],
      }),
    ).toMatchObject({ type: 'ack' })

    const catalog = await c.request({ type: 'catalog' })
    expect(catalog).toMatchObject({ type: 'catalog', total: 2, offset: 0 })
    if (catalog.type !== 'catalog') throw new Error('unreachable')
    const filmEntry = catalog.files.find((f) => f.digest === film.digest)
    expect(filmEntry).toEqual({
      digest: film.digest,
      names: ['film.mkv', 'movie.mkv'],
      size: 5 * CHUNK + 7,
      chunkSize: CHUNK,
      chunkCount: 6,
      seeders: 1,
      leechers: 1,
    })
    // most-held first
    expect(catalog.files[0]!.digest).toBe(film.digest)

    const peers = await c.request({ type: 'peers', digest: film.digest })
    expect(peers).toMatchObject({ type: 'peers', digest: film.digest, chunkCount: 6 })
    if (peers.type !== 'peers') throw new Error('unreachable')
    expect(new Map(peers.peers.map((p) => [p.peerId, p.have]))).toEqual(
      new Map([
        [a.peerId, 'all'],
        [b.peerId, 'AA=='],
      ]),
    )

    const offer = { type: 'offer', sdp: 'v=0 fake offer' }
    c.send({ type: 'signal', to: a.peerId, data: offer })
    expect(await a.next('signal')).toEqual({
      type: 'signal',
      from: c.peerId,
      origin: expect.any(String),
      data: offer,
    })
    const answer = { type: 'answer', sdp: 'v=0 fake answer' }
    a.send({ type: 'signal', to: c.peerId, data: answer })
    expect(await c.next('signal')).toEqual({
      type: 'signal',
      from: a.peerId,
      origin: expect.any(String),
      data: answer,
    })
    expect(b.received.some((m) => m.type === 'signal')).toBe(false)
  })

  it('changes what peers returns as chunk reports arrive, and counts a peer that completes as a seeder', async () => {
    const server = await serve()
    const seeder = await connect(server.url)
    const leecher = await connect(server.url)
    const asker = await connect(server.url)
    const file = await fileOf(3 * CHUNK, 3)
    await seeder.request({ type: 'announce', files: [announced(file, 'f.bin')] })
    await leecher.request({ type: 'announce', files: [announced(file, 'f.bin', new Bitfield(3).toBase64())] })

    const haveOf = async () => {
      const reply = await asker.request({ type: 'peers', digest: file.digest })
      if (reply.type !== 'peers') throw new Error(JSON.stringify(reply))
      return reply.peers.find((p) => p.peerId === leecher.peerId)!.have
    }
    expect(await haveOf()).toBe('AA==')
    expect(
      await leecher.request({ type: 'have', updates: [{ digest: file.digest, chunks: [0, 2] }] }),
    ).toMatchObject({ type: 'ack' })
    expect(Bitfield.fromBase64(3, await haveOf()).has(2)).toBe(true)
    expect(await haveOf()).toBe('oA==') // 0b1010_0000: chunks 0 and 2
    await leecher.request({ type: 'have', updates: [{ digest: file.digest, chunks: [1] }] })
    expect(await haveOf()).toBe('all')
    const catalog = await asker.request({ type: 'catalog' })
    expect(catalog).toMatchObject({ files: [{ seeders: 2, leechers: 0 }] })
  })

  it('tells the peers downloading a file of each new holder at once, and tells seeders nothing', async () => {
    const server = await serve()
    const seeder = await connect(server.url)
    const early = await connect(server.url)
    const file = await fileOf(3 * CHUNK, 4)
    const none = new Bitfield(3).toBase64()
    await seeder.request({ type: 'announce', files: [announced(file, 'f.bin')] })
    await early.request({ type: 'announce', files: [announced(file, 'f.bin', none)] })
    // A later downloader: the earlier one hears of it without asking (a `peers` with no ref).
    const late = await connect(server.url)
    await late.request({ type: 'announce', files: [announced(file, 'f.bin', none)] })
    const pushed = await early.next('peers')
    expect(pushed).toEqual({
      type: 'peers',
      digest: file.digest,
      chunkCount: 3,
      peers: [{ peerId: late.peerId, have: none }],
    })
    // A second seeder: both downloaders hear of it; the first seeder, which wants nothing, does not.
    const second = await connect(server.url)
    await second.request({ type: 'announce', files: [announced(file, 'f.bin')] })
    expect((await early.next('peers')).peers).toEqual([{ peerId: second.peerId, have: 'all' }])
    expect((await late.next('peers')).peers).toEqual([{ peerId: second.peerId, have: 'all' }])
    await seeder.request({ type: 'catalog' }) // a round trip: anything pushed to the seeder is in by now
    expect(seeder.received.filter((m) => m.type === 'peers')).toEqual([])
  })

  it('binds the peer id to the connection: nobody can announce, leave or receive signals as another', async () => {
    const server = await serve()
    const alice = await connect(server.url)
    const mallory = await connect(server.url)
    const file = await fileOf(CHUNK, 4)
    await alice.request({ type: 'announce', files: [announced(file, 'alice.txt')] })

    // No message carries a sender id; one that tries is refused by the strict schema.
    const forged = await mallory.request({
      type: 'announce',
      peerId: alice.peerId,
      files: [announced(file, 'x')],
    })
    expect(forged).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' })
    const forgedLeave = await mallory.request({ type: 'leave', peerId: alice.peerId, digests: [file.digest] })
    expect(forgedLeave).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' })
    const forgedSignal = await mallory.request({
      type: 'signal',
      from: alice.peerId,
      to: alice.peerId,
      data: { x: 1 },
    })
    expect(forgedSignal).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' })

    // Leaving acts only on one's own holdings: alice still holds her file.
    expect(await mallory.request({ type: 'leave', digests: [file.digest] })).toMatchObject({ type: 'ack' })
    const peers = await mallory.request({ type: 'peers', digest: file.digest })
    expect(peers).toMatchObject({ type: 'peers', peers: [{ peerId: alice.peerId, have: 'all' }] })

    // A signal for alice reaches alice only, stamped with the true sender.
    const bob = await connect(server.url)
    bob.send({ type: 'signal', to: alice.peerId, data: { type: 'offer', sdp: 'o' } })
    expect(await alice.next('signal')).toMatchObject({ from: bob.peerId })
    await mallory.request({ type: 'catalog' })
    expect(mallory.received.some((m) => m.type === 'signal')).toBe(false)
  })

  it('drops a connection that misses heartbeats, and its files leave the catalog', async () => {
    const clock = new FakeClock(START_MS)
    const server = await serve({ heartbeatMs: BEAT_MS, clock })
    const silent = await connect(server.url, { autoPong: false })
    const healthy = await connect(server.url)
    const file = await fileOf(CHUNK, 5)
    await silent.request({ type: 'announce', files: [announced(file, 'ghost.bin')] })
    expect(await healthy.request({ type: 'catalog' })).toMatchObject({ total: 1 })

    // A whole interval in which neither says anything: both are pinged; only the healthy one answers.
    await beat(clock, [silent, healthy])
    // The next interval: the silent one has missed its ping and is dropped; the healthy one is pinged again.
    clock.advance(BEAT_MS + SLICE_MS)
    expect(await silent.closed).toMatchObject({ code: CLOSE_CODES.HEARTBEAT_TIMEOUT })
    expect(await healthy.request({ type: 'catalog' })).toMatchObject({ total: 0 })
    // The one that answers pings stays through several more beats.
    for (let i = 0; i < 3; i++) await beat(clock, [healthy])
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN)
    expect(server.tracker.stats().peersOnline).toBe(1)
  })

  it('pings at most its budget a tick when many fall due together, the rest in the next ticks, and drops none that answer', async () => {
    const clock = new FakeClock(START_MS)
    const server = await serve({ heartbeatMs: BEAT_MS, clock, heartbeatWorkPerTick: 2 })
    // Connected at one instant, silent since: all fall due in the same tick, as peers that announced
    // together after a restart do.
    const crowd = await Promise.all(Array.from({ length: 5 }, () => connect(server.url)))
    const pinged = new Set<TestClient>()
    let pings = 0
    for (const client of crowd)
      client.socket.on('ping', () => {
        pings++
        pinged.add(client)
      })
    const pingsAfter = async (ms: number) => {
      clock.advance(ms)
      // A ping the server wrote in the tick arrives before its pong to ours.
      await Promise.all(crowd.map(roundTrip))
      return pings
    }
    expect(await pingsAfter(BEAT_MS)).toBe(2)
    expect(await pingsAfter(SLICE_MS)).toBe(4)
    expect(await pingsAfter(SLICE_MS)).toBe(5)
    expect(pinged.size).toBe(5)
    // Each answered: none is pinged again or dropped before a whole interval has passed since.
    expect(await pingsAfter(BEAT_MS / 2)).toBe(5)
    expect(server.tracker.stats().peersOnline).toBe(5)
  })

  it('does not ping, or drop, a connection that keeps talking', async () => {
    const clock = new FakeClock(START_MS)
    const server = await serve({ heartbeatMs: BEAT_MS, clock })
    const chatty = await connect(server.url, { autoPong: false })
    let pings = 0
    chatty.socket.on('ping', () => pings++)
    // Eight half-intervals, a request in each: never a whole interval without hearing from it.
    for (let i = 0; i < 8; i++) {
      await chatty.request({ type: 'catalog' })
      clock.advance(BEAT_MS / 2)
    }
    await roundTrip(chatty)
    expect(pings).toBe(0)
    expect(chatty.socket.readyState).toBe(WebSocket.OPEN)
  })

  it('closes a connection that sends an oversized message with 1009 and keeps serving others', async () => {
    const server = await serve({ limits: { maxMessageBytes: 4096 } })
    const big = await connect(server.url)
    const other = await connect(server.url)
    // replies already queued are delivered before the close, which carries its code
    for (let i = 0; i < 100; i++) big.send({ type: 'catalog', ref: `q${i}` })
    // With Redis the replies are still on their way (a round trip each), not queued: the close would cut them.
    if (registries.kind === 'redis')
      await until(() => big.received.filter((m) => m.type === 'catalog').length === 100)
    big.send({ type: 'catalog', query: 'x'.repeat(8000) })
    expect(await big.closed).toMatchObject({ code: 1009 })
    expect(big.received.filter((m) => m.type === 'catalog')).toHaveLength(100)
    expect(await other.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
  })

  it('answers a flood with typed rate-limit errors, then closes it, while another client is served normally', async () => {
    const server = await serve({ limits: { messagesPerSecond: 20, messageBurst: 40 } })
    const flooder = await connect(server.url)
    const neighbour = await connect(server.url)
    for (let i = 0; i < 60; i++) flooder.send({ type: 'catalog', ref: `f${i}` })
    const limited = await flooder.next('error')
    expect(limited).toMatchObject({ code: 'RATE_LIMITED' })
    expect(await neighbour.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })

    for (let i = 0; i < 200; i++) flooder.send({ type: 'catalog' })
    expect(await flooder.closed).toMatchObject({ code: CLOSE_CODES.POLICY })
    expect(await neighbour.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
  })

  it('makes the catalog whole again after a restart, once clients reconnect and re-announce', async () => {
    // With Redis, the restarted instance joins the same swarm (its key prefix).
    const swarm = registries.options()
    const first = await serve(swarm)
    const port = first.port
    const files = await Promise.all([fileOf(CHUNK, 6), fileOf(2 * CHUNK, 7)])
    const holdings = [
      announced(files[0]!, 'one.bin'),
      announced(files[1]!, 'two.bin', new Bitfield(2).toBase64()),
    ]
    const a = await connect(first.url)
    const b = await connect(first.url)
    await a.request({ type: 'announce', files: [holdings[0]] })
    await b.request({ type: 'announce', files: [holdings[1]] })
    const before = await a.request({ type: 'catalog' })

    await first.close()
    servers.splice(servers.indexOf(first), 1)
    expect((await a.closed).code).toBe(CLOSE_CODES.GOING_AWAY)
    await b.closed

    const second = await serve({ port, ...swarm })
    const reconnect = async (have: AnnouncedFile) => {
      const client = await connect(second.url)
      await client.request({ type: 'announce', files: [have] })
      return client
    }
    const [a2] = await Promise.all([reconnect(holdings[0]!), reconnect(holdings[1]!)])
    const after = await a2!.request({ type: 'catalog' })
    if (before.type !== 'catalog' || after.type !== 'catalog') throw new Error('unreachable')
    expect(after.files).toEqual(before.files)
  })

  it('forgets a peer that says bye and closes it normally', async () => {
    const server = await serve()
    const leaving = await connect(server.url)
    const staying = await connect(server.url)
    const file = await fileOf(CHUNK, 8)
    await leaving.request({ type: 'announce', files: [announced(file, 'bye.bin')] })
    leaving.send({ type: 'bye' })
    expect(await leaving.closed).toMatchObject({ code: CLOSE_CODES.NORMAL })
    expect(await staying.request({ type: 'catalog' })).toMatchObject({ total: 0 })
  })

  it('answers bad input with typed errors and keeps the connection usable', async () => {
    const server = await serve()
    const client = await connect(server.url)
    client.send('not json')
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE' })
    client.send({ type: 'teleport', ref: 't1' })
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', ref: 't1' })
    client.socket.send(new Uint8Array([1, 2, 3]))
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE' })
    expect(await client.request({ type: 'peers', digest: 'f'.repeat(64) })).toMatchObject({
      code: 'FILE_NOT_FOUND',
    })
    expect(await client.request({ type: 'signal', to: 'AAAAAAAAAAAAAAAA', data: {} })).toMatchObject({
      code: 'PEER_NOT_FOUND',
    })
    expect(await client.request({ type: 'signal', to: client.peerId, data: {} })).toMatchObject({
      code: 'SELF_SIGNAL',
    })
    expect(
      await client.request({ type: 'have', updates: [{ digest: 'a'.repeat(64), chunks: [0] }] }),
    ).toMatchObject({ type: 'ack' })
    expect(client.received.at(-2)).toMatchObject({
      type: 'error',
      code: 'NOT_ANNOUNCED',
      digest: 'a'.repeat(64),
    })
    // a message with a huge number of values is refused before any schema walks them
    const flood = await client.request({ type: 'leave', digests: new Array(100_000).fill(0) })
    expect(flood).toMatchObject({ code: 'BAD_MESSAGE', message: 'message has more than 32768 values' })
    expect(await client.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
  })

  it('rejects file entries that do not fit, one by one, and keeps the valid ones', async () => {
    const server = await serve({ limits: { filesPerPeer: 2 } })
    const first = await connect(server.url)
    const second = await connect(server.url)
    const [f1, f2, f3] = await Promise.all([fileOf(2 * CHUNK, 9), fileOf(CHUNK, 10), fileOf(CHUNK, 11)])
    await first.request({ type: 'announce', files: [announced(f1!, 'a')] })

    const ref = second.newRef()
    second.send({
      type: 'announce',
      ref,
      files: [
        { ...announced(f1!, 'a'), size: 3 * CHUNK }, // disagrees with the catalog
        announced(f2!, 'b', 'AAAA'), // bitfield of the wrong length
        announced(f3!, 'c'),
      ],
    })
    await second.next('ack')
    expect(second.errorsFor(ref).map((e) => [e.digest, e.code])).toEqual([
      [f1!.digest, 'FILE_CONFLICT'],
      [f2!.digest, 'CHUNK_OUT_OF_RANGE'],
    ])
    const peers = await first.request({ type: 'peers', digest: f3!.digest })
    expect(peers).toMatchObject({ type: 'peers', peers: [{ peerId: second.peerId }] })

    const many = await first.request({ type: 'announce', files: [announced(f2!, 'b'), announced(f3!, 'c')] })
    expect(many).toMatchObject({ type: 'ack' })
    expect(first.received.filter((m) => m.type === 'error').map((m) => m.type === 'error' && m.code)).toEqual(
      ['TOO_MANY_FILES'],
    )
    expect(
      await first.request({ type: 'have', updates: [{ digest: f1!.digest, chunks: [2] }] }),
    ).toMatchObject({ type: 'ack' })
    expect(first.received.at(-2)).toMatchObject({ code: 'CHUNK_OUT_OF_RANGE' })
  })

  it('caches a manifest only when it hashes to the digest, and serves it back', async () => {
    const server = await serve()
    const seeder = await connect(server.url)
    const fetcher = await connect(server.url)
    const file = await fileOf(3 * CHUNK + 1, 12)
    expect(
      await seeder.request({ type: 'put-manifest', digest: file.digest, manifest: file.manifest }),
    ).toMatchObject({ code: 'FILE_NOT_FOUND' })
    await seeder.request({ type: 'announce', files: [announced(file, 'm.bin')] })
    const tampered = { ...file.manifest, hashes: [...file.manifest.hashes].reverse() }
    expect(
      await seeder.request({ type: 'put-manifest', digest: file.digest, manifest: tampered }),
    ).toMatchObject({ code: 'MANIFEST_MISMATCH' })
    expect(await fetcher.request({ type: 'get-manifest', digest: file.digest })).toMatchObject({
      code: 'FILE_NOT_FOUND',
    })
    expect(
      await seeder.request({ type: 'put-manifest', digest: file.digest, manifest: file.manifest }),
    ).toMatchObject({ type: 'ack' })
    expect(await fetcher.request({ type: 'get-manifest', digest: file.digest })).toMatchObject({
      type: 'manifest',
      digest: file.digest,
      manifest: file.manifest,
    })
  })

  it('tracks a sealed private share for peers and its manifest, and keeps it out of the catalog', async () => {
    const server = await serve()
    const owner = await connect(server.url)
    const friend = await connect(server.url)
    const file = await fileOf(3 * CHUNK + 1, 13)
    const { name: _name, ...shape } = announced(file, 'unused')
    expect(
      await owner.request({ type: 'announce', files: [{ ...shape, unlisted: true, sealed: true }] }),
    ).toMatchObject({ type: 'ack' })
    // the manifest of an unlisted file is taken (the registry holds it though no catalog lists it)
    expect(
      await owner.request({ type: 'put-manifest', digest: file.digest, manifest: file.manifest }),
    ).toMatchObject({ type: 'ack' })
    expect(await friend.request({ type: 'get-manifest', digest: file.digest })).toMatchObject({
      type: 'manifest',
      manifest: file.manifest,
    })
    expect(await friend.request({ type: 'peers', digest: file.digest })).toMatchObject({
      type: 'peers',
      digest: file.digest,
      chunkCount: 4,
      peers: [{ peerId: owner.peerId, have: 'all' }],
      sealed: true,
    })
    expect(await friend.request({ type: 'catalog' })).toMatchObject({ type: 'catalog', total: 0, files: [] })
    expect(await friend.request({ type: 'catalog', query: file.digest })).toMatchObject({ total: 0 })
  })

  it('corrects a shape a liar announced first once the true manifest arrives', async () => {
    const server = await serve()
    const liar = await connect(server.url)
    const honest = await connect(server.url)
    const file = await fileOf(2 * CHUNK, 13)
    await liar.request({ type: 'announce', files: [{ ...announced(file, 'fake'), size: 9 * CHUNK }] })
    const ref = honest.newRef()
    honest.send({ type: 'announce', ref, files: [announced(file, 'real')] })
    await honest.next('ack')
    expect(honest.errorsFor(ref)).toMatchObject([{ code: 'FILE_CONFLICT' }])

    expect(
      await honest.request({ type: 'put-manifest', digest: file.digest, manifest: file.manifest }),
    ).toMatchObject({ type: 'ack' })
    // the liar is gone with its false entry, the true manifest stays, and the liar cannot come back
    expect(await honest.request({ type: 'catalog' })).toMatchObject({ total: 0 })
    expect(await honest.request({ type: 'get-manifest', digest: file.digest })).toMatchObject({
      manifest: file.manifest,
    })
    const again = liar.newRef()
    liar.send({ type: 'announce', ref: again, files: [{ ...announced(file, 'fake'), size: 9 * CHUNK }] })
    await liar.next('ack')
    expect(liar.errorsFor(again)).toMatchObject([{ code: 'FILE_CONFLICT' }])
    expect(await honest.request({ type: 'announce', files: [announced(file, 'real')] })).toMatchObject({
      type: 'ack',
    })
    const catalog = await honest.request({ type: 'catalog' })
    expect(catalog).toMatchObject({ files: [{ names: ['real'], size: 2 * CHUNK, seeders: 1 }] })
  })

  it('pages and searches the catalog, and notifies watchers of changes at most once a second', async () => {
    const clock = new FakeClock(START_MS)
    const server = await serve({ clock })
    const seeder = await connect(server.url)
    const watcher = await connect(server.url)
    const files = await Promise.all(Array.from({ length: 12 }, (_, i) => fileOf(CHUNK, 100 + i)))
    await seeder.request({
      type: 'announce',
      files: files.map((f, i) => announced(f, i % 3 === 0 ? `Holiday photo ${i}.jpg` : `report-${i}.pdf`)),
    })
    const page1 = await watcher.request({ type: 'catalog', limit: 5, watch: true })
    const page3 = await watcher.request({ type: 'catalog', limit: 5, offset: 10 })
    expect(page1).toMatchObject({ total: 12, offset: 0 })
    expect(page3).toMatchObject({ total: 12, offset: 10 })
    if (page1.type !== 'catalog' || page3.type !== 'catalog') throw new Error('unreachable')
    expect(page1.files).toHaveLength(5)
    expect(page3.files).toHaveLength(2)

    const search = await watcher.request({ type: 'catalog', query: 'holiday' })
    expect(search).toMatchObject({ total: 4 })
    const byDigest = await watcher.request({ type: 'catalog', query: files[5]!.digest.slice(0, 10) })
    expect(byDigest).toMatchObject({ total: 1, files: [{ digest: files[5]!.digest }] })
    const tooBig = await watcher.request({ type: 'catalog', limit: 10_000 })
    expect(tooBig).toMatchObject({
      type: 'error',
      code: 'BAD_MESSAGE',
      message: 'catalog: limit: a page holds at most 200 files',
    })

    // Two changes within one notice period make one notice; a period with no change makes none.
    const extra = await fileOf(CHUNK, 999)
    await seeder.request({ type: 'announce', files: [announced(extra, 'new.bin')] })
    await seeder.request({ type: 'leave', digests: [files[0]!.digest] })
    clock.advance(1000)
    const notice = await watcher.next('catalog-changed')
    expect(notice.revision).toBeGreaterThan(page1.revision)
    clock.advance(1000)
    await roundTrip(watcher)
    expect(watcher.received.filter((m) => m.type === 'catalog-changed')).toHaveLength(1)
  })

  it('counts connections per address at the upgrade: refuses one beyond the limit with 429 before any handshake', async () => {
    const server = await serve({ limits: { connectionsPerAddress: 2 } })
    // A handshake that fails (no Sec-WebSocket-Key) gives its place back.
    expect(await rawUpgrade(server.port, { 'sec-websocket-key': '' })).toMatch(/^HTTP\/1.1 400 /)
    const first = await connect(server.url)
    await connect(server.url)
    const refused = await rawUpgrade(server.port)
    expect(refused).toMatch(/^HTTP\/1.1 429 Too Many Requests\r\n/)
    expect(refused.toLowerCase()).toContain('retry-after: 30')
    expect(refused).not.toContain('101 Switching Protocols')
    // One closes: its place is free again.
    first.socket.terminate()
    await first.closed
    await until(() => server.tracker.stats().peersOnline === 1)
    expect(await connect(server.url)).toHaveProperty('peerId')
  })

  it('tells each peer its ICE servers: the embedded STUN at the host it used, and TURN credentials of its own', async () => {
    const server = await serve({
      stunPort: 0,
      turn: { urls: ['turn:turn.example.test:3478'], secret: 'a-secret-of-sixteen+', ttlSeconds: 600 },
      now: () => Date.UTC(2026, 0, 1),
    })
    const client = await connect(server.url, { headers: { host: `swarm.example.test:${server.port}` } })
    const [stun, turn] = client.welcome.iceServers
    expect(stun).toEqual({ urls: `stun:swarm.example.test:${server.stunPort}` })
    expect(turn).toMatchObject({
      urls: ['turn:turn.example.test:3478'],
      username: `${Date.UTC(2026, 0, 1) / 1000 + 600}:${client.peerId}`,
    })
    expect(JSON.stringify(client.welcome)).not.toContain('a-secret-of-sixteen+')

    const configured = await serve({ iceServers: [{ urls: 'stun:stun.example.test:3478' }], stunPort: 0 })
    const other = await connect(configured.url)
    expect(other.welcome.iceServers).toEqual([{ urls: 'stun:stun.example.test:3478' }])
    expect(other.welcome).toMatchObject({
      protocol: 2,
      heartbeatMs: 30_000,
      limits: { maxMessageBytes: 512 * 1024 },
    })
  })

  it("sends fresh TURN credentials before the welcome's expire, with a later expiry and a valid HMAC", async () => {
    const secret = 'a-secret-of-sixteen+'
    const ttlMs = 600 * 1000
    const clock = new FakeClock(START_MS)
    const server = await serve({
      stunPort: 0,
      turn: { urls: ['turn:turn.example.test:3478'], secret, ttlSeconds: ttlMs / 1000 },
      clock,
      heartbeatMs: NO_HEARTBEAT_MS,
    })
    const client = await connect(server.url, { headers: { host: `swarm.example.test:${server.port}` } })
    const [stun, welcomeTurn] = client.welcome.iceServers
    const firstExpiryMs = expiryMsOf(welcomeTurn!, client.peerId, secret)
    expect(firstExpiryMs).toBe(clock.now() + ttlMs)
    const refreshes = () => client.received.filter((m) => m.type === 'ice-servers')

    // Halfway through the credential's life, over many sweeps: nothing is sent yet.
    clock.advance(ttlMs / 2)
    await roundTrip(client)
    expect(refreshes()).toEqual([])

    // Past 80% of it, still before it expires: the same list, with a credential minted at the sweep.
    clock.advance(firstExpiryMs - 0.15 * ttlMs - clock.now())
    const refresh = await client.next('ice-servers')
    expect(refresh.iceServers).toHaveLength(2)
    expect(refresh.iceServers[0]).toEqual(stun)
    expect(refresh.iceServers[1]).toMatchObject({ urls: ['turn:turn.example.test:3478'] })
    const secondExpiryMs = expiryMsOf(refresh.iceServers[1]!, client.peerId, secret)
    // Minted at the first sweep (one a second) once the refresh fell due: at a random point between 72% and
    // 80% of the first credential's life (the refresh period is 80% of it, less up to a tenth of that).
    expect(secondExpiryMs).toBeGreaterThanOrEqual(firstExpiryMs + 0.72 * ttlMs)
    expect(secondExpiryMs).toBeLessThanOrEqual(firstExpiryMs + 0.8 * ttlMs + 1000)
    expect(JSON.stringify(refresh)).not.toContain(secret)

    // And again before that one expires, once per credential.
    clock.advance(secondExpiryMs - 0.15 * ttlMs - clock.now())
    const again = await client.next('ice-servers')
    const thirdExpiryMs = expiryMsOf(again.iceServers[1]!, client.peerId, secret)
    expect(thirdExpiryMs).toBeGreaterThanOrEqual(secondExpiryMs + 0.72 * ttlMs)
    expect(thirdExpiryMs).toBeLessThanOrEqual(secondExpiryMs + 0.8 * ttlMs + 1000)
    await roundTrip(client)
    expect(refreshes()).toHaveLength(2)
  })

  it('sends no ice-servers when TURN is not configured, however long the connection lasts', async () => {
    const clock = new FakeClock(START_MS)
    const server = await serve({
      iceServers: [{ urls: 'stun:stun.example.test:3478' }],
      clock,
      heartbeatMs: NO_HEARTBEAT_MS,
    })
    const client = await connect(server.url)
    clock.advance(30 * 24 * 3600 * 1000)
    await roundTrip(client)
    expect(client.received.map((m) => m.type)).toEqual(['challenge', 'welcome'])
  })
})

/**
 * Waits until the server has read everything `client` sent before, and `client` has everything the
 * server sent before reading it: a ping goes out behind the client's earlier frames (pongs included), and
 * the server's automatic pong comes back behind its earlier messages. Touches no tracker state: the
 * tracker listens for pongs, not pings.
 */
async function roundTrip(client: TestClient): Promise<void> {
  const pong = once(client.socket, 'pong')
  client.socket.ping()
  await pong
}

/**
 * Moves the clock over one heartbeat interval (and a slice, whatever the phase of the beat's timer), and
 * waits until each of `clients` has been pinged and the server has read whatever it answered.
 */
async function beat(clock: FakeClock, clients: TestClient[]): Promise<void> {
  const pinged = clients.map((client) => once(client.socket, 'ping'))
  clock.advance(BEAT_MS + SLICE_MS)
  await Promise.all(pinged)
  await Promise.all(clients.map(roundTrip))
}

/** An upgrade request for /ws on a raw socket; resolves with whatever the server answered. */
function rawUpgrade(port: number, headers: Record<string, string> = {}): Promise<string> {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  }
  const head = Object.entries(all)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(`GET /ws HTTP/1.1\r\n${head}\r\n\r\n`))
    let answer = ''
    socket.on('data', (data) => {
      answer += data.toString('latin1')
      if (answer.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(answer)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
  })
}

/**
 * The expiry of a TURN entry in coturn's use-auth-secret scheme, after checking it the way coturn does:
 * `<expiry in Unix seconds>:<peer id>`, and the credential is base64(HMAC-SHA1(secret, username)).
 */
function expiryMsOf(server: IceServer, peerId: string, secret: string): number {
  const { username, credential } = server
  expect(username).toMatch(new RegExp(`^\\d+:${peerId}$`))
  expect(credential).toBe(createHmac('sha1', secret).update(username!).digest('base64'))
  return Number(username!.split(':')[0]) * 1000
}
