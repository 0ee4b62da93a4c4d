import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import WebSocket from 'ws'
import { Bitfield } from '../../shared/bitfield.js'
import { CLOSE_CODES, SwarmError } from '../../shared/errors.js'
import { helloSignedBytes, verifySignature } from '../../shared/identity-proof.js'
import { DEFAULT_TRACKER_LIMITS, TRACKER_PROTOCOL_VERSION, type TrackerLimits } from '../../shared/limits.js'
import { type Manifest, manifestDigest, manifestOf } from '../../shared/manifest.js'
import {
  type AnnouncedFile,
  type ClientHello,
  type ClientMessage,
  type ClientMessageOf,
  type ClientMessageType,
  PEER_ID_PATTERN,
  type ServerMessageOf,
} from '../../shared/tracker-protocol.js'
import type { RunningServer } from '../../signal/server.js'
import { BACKOFF_MAX_MS, backoffDelayMs } from '../../web/peer/backoff.js'
import type { Signaller } from '../../web/peer/peer-link.js'
import {
  CONNECT_TIMEOUT_MS,
  HAVE_BATCH_MS,
  MAX_PENDING_SIGNALS,
  REQUEST_TIMEOUT_MS,
  SIGNAL_REPLY_MS,
  STABLE_CONNECTION_MS,
  TrackerClient,
  type TrackerClientEvents,
  type TrackerClientOptions,
  type TrackerStatus,
  type WebSocketLike,
} from '../../web/peer/tracker-client.js'
import { FakeClock } from '../support/fake-clock.js'
import { nodeIdentity } from '../support/identities.js'
import { startTestServer } from '../support/server.js'

const CHUNK = 16 * 1024
const EVENT_TYPES = [
  'status',
  'welcome',
  'ice-servers',
  'catalog-changed',
  'signal',
  'undeliverable',
  'error',
] as const
type Recorded = { [K in keyof TrackerClientEvents]: [K, TrackerClientEvents[K]] }[keyof TrackerClientEvents]

const servers: RunningServer[] = []
const clients: TrackerClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

function record(client: TrackerClient): Recorded[] {
  const events: Recorded[] = []
  for (const type of EVENT_TYPES) client.on(type, (detail) => events.push([type, detail] as Recorded))
  return events
}

const states = (events: Recorded[]) =>
  events.flatMap(([type, detail]) => (type === 'status' ? [(detail as TrackerStatus).state] : []))

function parse<K extends ClientMessageType>(sent: ClientMessage[], type: K): ClientMessageOf<K>[] {
  return sent.filter((m): m is ClientMessageOf<K> => m.type === type)
}

/** A real file of `size` pseudo-random bytes, with its manifest and digest. */
async function fileOf(size: number, seed: number) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + seed * 17) & 255)
  const manifest = await manifestOf(bytes, CHUNK)
  return { manifest, digest: await manifestDigest(manifest) }
}

function announced(file: { digest: string; manifest: Manifest }, name: string, have = 'all'): AnnouncedFile {
  return { digest: file.digest, name, size: file.manifest.size, chunkSize: file.manifest.chunkSize, have }
}

const digestOf = (n: number) => n.toString(16).padStart(64, '0')

/** The members of a browser's WebSocket (WHATWG WebSockets standard, with EventTarget's). */
const BROWSER_WEBSOCKET_MEMBERS = new Set([
  'url',
  'readyState',
  'bufferedAmount',
  'extensions',
  'protocol',
  'binaryType',
  'onopen',
  'onerror',
  'onclose',
  'onmessage',
  'send',
  'close',
  'addEventListener',
  'removeEventListener',
  'dispatchEvent',
  'CONNECTING',
  'OPEN',
  'CLOSING',
  'CLOSED',
])

// ---------------------------------------------------------------- against a real server

describe('TrackerClient against a real tracker', () => {
  async function serve(port = 0) {
    const server = await startTestServer({ port })
    servers.push(server)
    return server
  }

  /** A client on `ws`'s WebSocket whose every sent message is recorded, with when it was sent. */
  function connect(url: string, holdings: () => AnnouncedFile[] = () => []) {
    const sent: { at: number; message: ClientMessage }[] = []
    const client = new TrackerClient({
      url,
      createSocket: (socketUrl) => {
        const socket = new WebSocket(socketUrl)
        const send = socket.send.bind(socket)
        socket.send = ((data: string) => {
          sent.push({ at: Date.now(), message: JSON.parse(data) })
          send(data)
        }) as typeof socket.send
        return socket
      },
      holdings,
      identity: nodeIdentity(),
      // Jitter at its floor: the restart test reconnects after half a second.
      random: () => 0,
    })
    clients.push(client)
    const events = record(client)
    const online = client.once('welcome')
    client.start()
    return { client, events, online, sent: () => sent.map((s) => s.message), sentAt: () => sent }
  }

  it("takes browsers' WebSocket and ws's as they are, using only what both have", async () => {
    // At compile time: both fit the interface the client asks for.
    expectTypeOf<InstanceType<typeof globalThis.WebSocket>>().toExtend<WebSocketLike>()
    expectTypeOf<WebSocket>().toExtend<WebSocketLike>()
    // At run time: through a whole session (welcome, announce, a request and its reply, close), the client
    // touches nothing of ws's socket that a browser's WebSocket lacks (no `on`, `ping`, `terminate`...).
    const server = await serve()
    const touched = new Set<string>()
    const client = new TrackerClient({
      url: server.url,
      createSocket: (url) =>
        new Proxy(new WebSocket(url), {
          get(target, property) {
            if (typeof property === 'string') touched.add(property)
            // Read on the socket itself, so that ws's own getters reading its internals are not counted.
            const value = Reflect.get(target, property)
            return typeof value === 'function' ? value.bind(target) : value
          },
        }),
      holdings: () => [],
      identity: nodeIdentity(),
    })
    clients.push(client)
    const online = client.once('welcome')
    client.start()
    await online
    expect(await client.catalog()).toMatchObject({ type: 'catalog', total: 0 })
    client.destroy()
    expect(touched.size).toBeGreaterThan(0)
    expect([...touched].filter((member) => !BROWSER_WEBSOCKET_MEMBERS.has(member))).toEqual([])
  })

  it('goes online with the peer id and ICE servers of its welcome', async () => {
    const server = await serve()
    const { client, events, online } = connect(server.url)
    const welcome = await online
    expect(welcome.peerId).toMatch(PEER_ID_PATTERN)
    expect(client.peerId).toBe(welcome.peerId)
    expect(client.limits).toEqual(DEFAULT_TRACKER_LIMITS)
    expect(states(events)).toEqual(['connecting', 'online'])
    expect(client.status).toEqual({ state: 'online', peerId: welcome.peerId, iceServers: welcome.iceServers })
  })

  it('announces everything it holds as soon as it is welcomed', async () => {
    const server = await serve()
    const whole = await fileOf(40_000, 1)
    const partial = await fileOf(40_000, 2)
    const seeder = connect(server.url, () => [
      announced(whole, 'whole.bin'),
      announced(partial, 'partial.bin', new Bitfield(3).toBase64()),
    ])
    await seeder.online
    const { client, online } = connect(server.url)
    await online
    const page = await client.catalog()
    expect(page.files.map((f) => f.names[0]).sort()).toEqual(['partial.bin', 'whole.bin'])
    expect((await client.peers(whole.digest)).peers).toEqual([{ peerId: seeder.client.peerId, have: 'all' }])
    expect((await client.peers(partial.digest)).peers).toEqual([
      { peerId: seeder.client.peerId, have: 'AA==' },
    ])
  })

  it('relays signals between two clients through the Signaller interface', async () => {
    const server = await serve()
    const a = connect(server.url)
    const b = connect(server.url)
    await Promise.all([a.online, b.online])
    const signallerA: Signaller = a.client
    const signallerB: Signaller = b.client
    const atB = new Promise<[string, Record<string, unknown>]>((resolve) =>
      signallerB.onSignal((from, data) => resolve([from, data])),
    )
    signallerA.send(b.client.peerId!, { type: 'offer', sdp: 'v=0\r\n' })
    expect(await atB).toEqual([a.client.peerId, { type: 'offer', sdp: 'v=0\r\n' }])
    const atA = new Promise<[string, Record<string, unknown>]>((resolve) =>
      signallerA.onSignal((from, data) => resolve([from, data])),
    )
    signallerB.send(a.client.peerId!, { type: 'answer', sdp: 'v=0\r\n' })
    expect(await atA).toEqual([b.client.peerId, { type: 'answer', sdp: 'v=0\r\n' }])
  })

  it('answers catalog, peers and manifest requests', async () => {
    const server = await serve()
    const file = await fileOf(40_000, 3)
    const seeder = connect(server.url, () => [announced(file, 'holiday.jpg')])
    await seeder.online
    const { client, online, sent } = connect(server.url)
    await online

    const page = await client.catalog({ query: 'HOLI', offset: 0, limit: 10_000, watch: true })
    expect(page).toMatchObject({ type: 'catalog', total: 1, offset: 0 })
    expect(page.files[0]).toMatchObject({
      digest: file.digest,
      names: ['holiday.jpg'],
      chunkCount: 3,
      seeders: 1,
    })
    // A limit over the server's page size is clamped, not refused.
    expect(parse(sent(), 'catalog')[0]?.limit).toBe(DEFAULT_TRACKER_LIMITS.catalogPageSize)

    const peers = await client.peers(file.digest)
    expect(peers).toMatchObject({
      digest: file.digest,
      chunkCount: 3,
      peers: [{ peerId: seeder.client.peerId }],
    })

    await seeder.client.putManifest(file.digest, file.manifest)
    expect(await client.getManifest(file.digest)).toEqual(file.manifest)
  })

  it("rejects a request with the server's error code", async () => {
    const server = await serve()
    const file = await fileOf(40_000, 4)
    const other = await fileOf(40_000, 5)
    const { client, online, events } = connect(server.url, () => [announced(file, 'a.bin')])
    await online
    await expect(client.peers(digestOf(1))).rejects.toMatchObject({
      name: 'SwarmError',
      code: 'FILE_NOT_FOUND',
    })
    await expect(client.getManifest(digestOf(1))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' })
    await expect(client.putManifest(file.digest, other.manifest)).rejects.toMatchObject({
      code: 'MANIFEST_MISMATCH',
    })
    await expect(client.catalog({ query: 'x'.repeat(201) })).rejects.toBeInstanceOf(SwarmError)
    // The connection goes on, and nothing was reported twice as an event.
    expect((await client.catalog()).total).toBe(1)
    expect(events.filter(([type]) => type === 'error')).toEqual([])
  })

  it('reports verified chunks in batches, at most one have a second', async () => {
    const server = await serve()
    const file = await fileOf(40_000, 6)
    const held = new Bitfield(3)
    held.set(0)
    const seeder = connect(server.url, () => [announced(file, 'p.bin', held.toBase64())])
    await seeder.online
    const { client, online } = connect(server.url)
    await online
    const haveOf = async () => (await client.peers(file.digest)).peers[0]?.have

    seeder.client.reportChunk(file.digest, 1)
    seeder.client.reportChunk(file.digest, 1)
    await vi.waitFor(async () =>
      expect(await haveOf()).toBe(new Bitfield(3, new Uint8Array([0xc0])).toBase64()),
    )
    seeder.client.reportChunk(file.digest, 2)
    await vi.waitFor(async () => expect(await haveOf()).toBe('all'), { timeout: 3000 })

    const haves = seeder.sentAt().filter((s) => s.message.type === 'have')
    expect(haves.map((s) => s.message)).toEqual([
      { type: 'have', updates: [{ digest: file.digest, chunks: [1] }] },
      { type: 'have', updates: [{ digest: file.digest, chunks: [2] }] },
    ])
    // Real timers fire a millisecond early at most.
    expect(haves[1]!.at - haves[0]!.at).toBeGreaterThanOrEqual(HAVE_BATCH_MS - 5)
  })

  it('reconnects by itself after a server restart, re-announces, and the catalog is whole again', async () => {
    const first = await serve()
    const file = await fileOf(40_000, 7)
    const { client, online, events } = connect(first.url, () => [announced(file, 'kept.bin')])
    const before = await online
    const back = client.once('welcome')
    await first.close()
    const second = await serve(first.port)
    const after = await back
    // The peer id derives from the client's key: the same on the restarted server.
    expect(after.peerId).toBe(before.peerId)
    const offline = events.find(([type, detail]) => type === 'status' && detail.state === 'offline')
    expect(offline?.[1]).toMatchObject({ state: 'offline', code: CLOSE_CODES.GOING_AWAY, retryInMs: 500 })

    const observer = connect(second.url)
    await observer.online
    const page = await observer.client.catalog()
    expect(page.files.map((f) => f.digest)).toEqual([file.digest])
    expect((await observer.client.peers(file.digest)).peers).toEqual([{ peerId: after.peerId, have: 'all' }])
  })

  it('says bye on destroy, rejects what is pending, and emits nothing afterwards', async () => {
    const server = await serve()
    const a = connect(server.url)
    const b = connect(server.url)
    await Promise.all([a.online, b.online])
    const peerIdA = a.client.peerId!
    const pending = a.client.catalog()
    const eventsBefore = a.events.length

    a.client.destroy()
    a.client.destroy()
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(a.sent().at(-1)).toEqual({ type: 'bye' })
    expect(a.events.slice(eventsBefore)).toEqual([['status', { state: 'offline' }]])
    expect(a.client.peerId).toBeUndefined()
    await expect(a.client.peers(digestOf(1))).rejects.toMatchObject({ code: 'TRACKER_OFFLINE' })
    await vi.waitFor(() => expect(server.tracker.stats().peersOnline).toBe(1))

    // The server forgot a at once; signals to it come back undeliverable (not as errors), and a hears nothing.
    const gone = b.client.once('undeliverable')
    b.client.send(peerIdA, { type: 'offer', sdp: 'late' })
    expect(await gone).toEqual({ to: peerIdA, code: 'PEER_NOT_FOUND' })
    expect(b.events.filter(([type]) => type === 'error')).toEqual([])
    a.client.send(b.client.peerId!, { type: 'offer' })
    a.client.reportChunk(digestOf(1), 0)
    a.client.start()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(a.events.slice(eventsBefore)).toHaveLength(1)
  })
})

// ---------------------------------------------------------------- fake socket, fake clock

/** The server's side of one socket, driven by the test. */
class FakeSocket implements WebSocketLike {
  readyState = 0
  readonly sent: ClientMessage[] = []
  readonly raw: string[] = []
  readonly hellos: ClientHello[] = []
  closeCalls = 0
  readonly #listeners = new Map<string, ((event: unknown) => void)[]>()

  addEventListener(type: string, listener: (event: never) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener as (event: unknown) => void])
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open')
    if (JSON.parse(data).type === 'hello') {
      this.hellos.push(JSON.parse(data))
      return
    }
    this.raw.push(data)
    this.sent.push(JSON.parse(data))
  }

  close(): void {
    this.closeCalls++
    this.readyState = 3
  }

  /** The challenge, then (the fake does not wait for the hello, which it keeps apart) the welcome. */
  welcome(limits: Partial<TrackerLimits> = {}, overrides: Partial<ServerMessageOf<'welcome'>> = {}): void {
    this.readyState = 1
    this.receive({ type: 'challenge', protocol: TRACKER_PROTOCOL_VERSION, nonce: '00'.repeat(32) })
    this.receive({
      type: 'welcome',
      protocol: TRACKER_PROTOCOL_VERSION,
      peerId: 'AAAAAAAAAAAAAAA1',
      iceServers: [{ urls: 'stun:tracker.test:3478' }],
      heartbeatMs: 30_000,
      limits: { ...DEFAULT_TRACKER_LIMITS, ...limits },
      ...overrides,
    })
  }

  receive(message: unknown): void {
    const data =
      typeof message === 'string' || message instanceof Uint8Array ? message : JSON.stringify(message)
    this.#dispatch('message', { data })
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3
    this.#dispatch('error', {})
    this.#dispatch('close', { code, reason })
  }

  of<K extends ClientMessageType>(type: K): ClientMessageOf<K>[] {
    return parse(this.sent, type)
  }

  #dispatch(type: string, event: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event)
  }
}

function fake(options: Partial<TrackerClientOptions> = {}) {
  const clock = new FakeClock()
  const sockets: FakeSocket[] = []
  const client = new TrackerClient({
    url: 'ws://tracker.test/ws',
    // The fake tracker checks no signature: an identity whose peer id is the one its welcomes give.
    identity: {
      publicKey: new Uint8Array(32),
      peerId: 'AAAAAAAAAAAAAAA1',
      sign: async () => new Uint8Array(64),
    },
    createSocket: () => {
      const socket = new FakeSocket()
      sockets.push(socket)
      return socket
    },
    holdings: () => [],
    clock,
    random: () => 0,
    ...options,
  })
  clients.push(client)
  const events = record(client)
  client.start()
  return {
    client,
    clock,
    sockets,
    events,
    get socket(): FakeSocket {
      return sockets.at(-1)!
    },
    get retryInMs(): number | undefined {
      const last = client.status
      return last.state === 'offline' ? last.retryInMs : undefined
    },
    errors: () => events.flatMap(([type, detail]) => (type === 'error' ? [detail] : [])),
  }
}

describe('TrackerClient reconnecting', () => {
  it('backs off 1, 2, 4, 8, 16, 30, 30 s, with equal jitter between half the step and the step', () => {
    const ceilings = [1, 2, 4, 8, 16, 30, 30].map((s) => s * 1000)
    for (const draw of [0, 0.5, 0.999_999]) {
      const t = fake({ random: () => draw })
      const delays: number[] = []
      for (const _ of ceilings) {
        t.socket.drop()
        delays.push(t.retryInMs!)
        const before = t.sockets.length
        t.clock.advance(t.retryInMs! - 1)
        expect(t.sockets).toHaveLength(before)
        t.clock.advance(1)
        expect(t.sockets).toHaveLength(before + 1)
      }
      delays.forEach((delay, i) => {
        expect(delay).toBeGreaterThanOrEqual(ceilings[i]! / 2)
        expect(delay).toBeLessThan(ceilings[i]!)
      })
      if (draw === 0) expect(delays).toEqual(ceilings.map((c) => c / 2))
      if (draw > 0.99) expect(delays).toEqual(ceilings.map((c) => c - 1))
    }
    expect(backoffDelayMs(1000, () => 0.5)).toBe(BACKOFF_MAX_MS * 0.75)
    expect(backoffDelayMs(0, () => Number.NaN)).toBe(500)
  })

  it('starts again from 1 s after a connection that stayed online, not after one that dropped at once', () => {
    const t = fake()
    for (const _ of [1, 2, 3]) {
      t.socket.drop()
      t.clock.advance(t.retryInMs!)
    }
    t.socket.welcome()
    t.clock.advance(1000)
    t.socket.drop()
    expect(t.retryInMs).toBe(4000) // welcomed, but dropped within a second: the backoff goes on growing
    t.clock.advance(t.retryInMs!)
    t.socket.welcome()
    t.clock.advance(STABLE_CONNECTION_MS)
    t.socket.drop(CLOSE_CODES.GOING_AWAY, 'server shutting down')
    expect(t.client.status).toEqual({
      state: 'offline',
      code: CLOSE_CODES.GOING_AWAY,
      reason: 'server shutting down',
      retryInMs: 500,
    })
  })

  it('abandons an attempt that brings no welcome in time, and one whose socket cannot be made', () => {
    const t = fake()
    t.clock.advance(CONNECT_TIMEOUT_MS - 1)
    expect(t.client.status.state).toBe('connecting')
    t.clock.advance(1)
    expect(t.sockets[0]!.closeCalls).toBe(1)
    expect(t.client.status).toMatchObject({ state: 'offline', retryInMs: 500 })
    t.sockets[0]!.drop() // its late close is not a second loss
    expect(t.retryInMs).toBe(500)

    let throws = true
    const u = fake({
      createSocket: () => {
        if (throws) throw new SyntaxError('bad url')
        return new FakeSocket()
      },
    })
    expect(u.client.status).toMatchObject({ state: 'offline', reason: expect.stringContaining('bad url') })
    throws = false
    u.clock.advance(u.retryInMs!)
    expect(u.client.status.state).toBe('connecting')
  })

  it('stops for good on a challenge of another protocol version, signing nothing', async () => {
    const t = fake()
    t.socket.readyState = 1
    t.socket.receive({ type: 'challenge', protocol: TRACKER_PROTOCOL_VERSION + 1, nonce: '00'.repeat(32) })
    expect(t.errors()).toEqual([
      { code: 'BAD_MESSAGE', message: expect.stringContaining(`protocol ${TRACKER_PROTOCOL_VERSION + 1}`) },
    ])
    expect(t.client.destroyed).toBe(true)
    await Promise.resolve()
    expect(t.socket.hellos).toEqual([])
  })

  it('answers the challenge with its key and a signature of the nonce and the host it dialled', async () => {
    const identity = nodeIdentity()
    const t = fake({ identity, url: 'ws://Tracker.Test:8080/ws' })
    t.socket.readyState = 1
    const nonce = 'ab'.repeat(32)
    t.socket.receive({ type: 'challenge', protocol: TRACKER_PROTOCOL_VERSION, nonce })
    await vi.waitFor(() => expect(t.socket.hellos).toHaveLength(1))
    const hello = t.socket.hellos[0]!
    expect(hello.publicKey).toBe(Buffer.from(identity.publicKey).toString('hex'))
    const signed = helloSignedBytes(Buffer.from(nonce, 'hex'), 'tracker.test')
    expect(await verifySignature(identity.publicKey, signed, Buffer.from(hello.signature, 'hex'))).toBe(true)
    // A welcome under another peer id than the key's is refused: its signals would be refused as forged.
    t.socket.receive({
      type: 'welcome',
      protocol: TRACKER_PROTOCOL_VERSION,
      peerId: 'AAAAAAAAAAAAAAA1',
      iceServers: [],
      heartbeatMs: 1000,
      limits: DEFAULT_TRACKER_LIMITS,
    })
    expect(t.client.status.state).not.toBe('online')
    expect(t.errors().map((e) => e.code)).toEqual(['BAD_MESSAGE'])
  })

  it('stops for good when another connection of its identity replaced it, rather than take turns with it', () => {
    const t = fake()
    t.socket.welcome()
    t.socket.drop(CLOSE_CODES.REPLACED, 'another connection took over this peer id')
    expect(t.client.status).toMatchObject({ state: 'offline', error: { code: 'IDENTITY_IN_USE' } })
    expect(t.client.status).not.toHaveProperty('retryInMs')
    t.clock.advance(60_000)
    expect(t.sockets).toHaveLength(1)
    expect(t.clock.pendingTimers).toBe(0)
  })

  it('stops for good on a welcome of another protocol version', () => {
    const t = fake()
    t.socket.welcome({}, { protocol: TRACKER_PROTOCOL_VERSION + 1 })
    expect(t.errors()).toEqual([
      { code: 'BAD_MESSAGE', message: expect.stringContaining(`protocol ${TRACKER_PROTOCOL_VERSION + 1}`) },
    ])
    expect(t.client.status).toMatchObject({ state: 'offline', error: { code: 'BAD_MESSAGE' } })
    expect(t.client.status).not.toHaveProperty('retryInMs')
    expect(t.client.destroyed).toBe(true)
    expect(t.socket.closeCalls).toBe(1)
    expect(t.clock.pendingTimers).toBe(0)
  })
})

describe('TrackerClient announcing and reporting', () => {
  const files = (n: number, name = (i: number) => `file ${i}.bin`): AnnouncedFile[] =>
    Array.from({ length: n }, (_, i) => ({
      digest: digestOf(i + 1),
      name: name(i),
      size: 3,
      chunkSize: CHUNK,
      have: 'all',
    }))

  it("announces its holdings on every welcome, in batches of the welcome's filesPerAnnounce", () => {
    const held = files(5)
    const t = fake({ holdings: () => held })
    t.socket.welcome({ filesPerAnnounce: 2 })
    expect(t.socket.of('announce').map((m) => m.files.length)).toEqual([2, 2, 1])
    expect(t.socket.of('announce').flatMap((m) => m.files)).toEqual(held)

    t.socket.drop()
    t.clock.advance(t.retryInMs!)
    t.socket.welcome({ filesPerAnnounce: 1000 })
    expect(t.socket.of('announce')).toEqual([{ type: 'announce', files: held }])
  })

  it('keeps each announce within maxMessageBytes, counting UTF-8 bytes', () => {
    const held = files(6, (i) => `${'é'.repeat(100)} ${i}`)
    const t = fake({ holdings: () => held })
    const oneFile = new TextEncoder().encode(JSON.stringify(held[0])).length
    t.socket.welcome({ maxMessageBytes: 2 * oneFile + 60 })
    expect(t.socket.of('announce').map((m) => m.files.length)).toEqual([2, 2, 2])
    for (const raw of t.socket.raw)
      expect(new TextEncoder().encode(raw).length).toBeLessThanOrEqual(2 * oneFile + 60)
  })

  it('leaves out a file the protocol would refuse, so the rest of the batch is not refused with it', () => {
    const held = [
      ...files(2),
      ...files(1, () => 'evil\u202etxt.exe').map((f) => ({ ...f, digest: digestOf(9) })),
    ]
    const t = fake({ holdings: () => held })
    t.socket.welcome()
    expect(t.socket.of('announce')).toEqual([{ type: 'announce', files: held.slice(0, 2) }])
    expect(t.errors()).toEqual([
      { code: 'BAD_MESSAGE', message: expect.stringContaining('name'), digest: digestOf(9) },
    ])
  })

  it('merges chunk reports by digest and sends at most one have a second', () => {
    const t = fake()
    t.socket.welcome()
    t.client.reportChunk(digestOf(1), 1)
    t.client.reportChunk(digestOf(1), 0)
    t.client.reportChunk(digestOf(2), 5)
    t.client.reportChunk(digestOf(1), 1)
    expect(t.socket.of('have')).toEqual([])
    t.clock.advance(0) // the first report after a quiet second goes at once, with those of the same task
    expect(t.socket.of('have')).toEqual([
      {
        type: 'have',
        updates: [
          { digest: digestOf(1), chunks: [0, 1] },
          { digest: digestOf(2), chunks: [5] },
        ],
      },
    ])
    t.clock.advance(10)
    t.client.reportChunk(digestOf(1), 2)
    t.clock.advance(300)
    t.client.reportChunk(digestOf(1), 3)
    t.clock.advance(HAVE_BATCH_MS - 311)
    expect(t.socket.of('have')).toHaveLength(1)
    t.clock.advance(1)
    expect(t.socket.of('have')).toHaveLength(2)
    expect(t.socket.of('have')[1]).toEqual({
      type: 'have',
      updates: [{ digest: digestOf(1), chunks: [2, 3] }],
    })

    t.clock.advance(5000)
    t.client.reportChunk(digestOf(3), 0)
    t.clock.advance(0)
    expect(t.socket.of('have')).toHaveLength(3)
    expect(() => t.client.reportChunk(digestOf(3), 4096)).toThrow(RangeError)
    expect(() => t.client.reportChunk('ABC', 0)).toThrow(RangeError)
  })

  it('sends what does not fit in one have in the following seconds', () => {
    const t = fake()
    t.socket.welcome({ filesPerAnnounce: 2 })
    for (const n of [1, 2, 3]) t.client.reportChunk(digestOf(n), 0)
    t.clock.advance(0)
    expect(t.socket.of('have').map((m) => m.updates.length)).toEqual([2])
    t.clock.advance(HAVE_BATCH_MS - 1)
    expect(t.socket.of('have')).toHaveLength(1)
    t.clock.advance(1)
    expect(t.socket.of('have').map((m) => m.updates.map((u) => u.digest))).toEqual([
      [digestOf(1), digestOf(2)],
      [digestOf(3)],
    ])
  })

  it('drops chunk reports made offline or unsent at a drop: the next welcome announces them from holdings', () => {
    const t = fake({ holdings: () => files(1) })
    t.client.reportChunk(digestOf(1), 0) // connecting: not online yet
    t.socket.welcome()
    t.client.reportChunk(digestOf(1), 1)
    t.client.reportChunk(digestOf(2), 0)
    t.client.leave([digestOf(2)])
    t.clock.advance(0)
    expect(t.socket.of('have')).toEqual([{ type: 'have', updates: [{ digest: digestOf(1), chunks: [1] }] }])
    expect(t.socket.of('leave')).toEqual([{ type: 'leave', digests: [digestOf(2)] }])

    t.client.reportChunk(digestOf(1), 2)
    t.socket.drop()
    t.client.reportChunk(digestOf(1), 3)
    t.client.announce(files(2))
    t.client.leave([digestOf(1)])
    t.clock.advance(t.retryInMs!)
    t.socket.welcome()
    t.clock.advance(HAVE_BATCH_MS * 5)
    expect(t.socket.sent).toEqual([{ type: 'announce', files: files(1) }])
  })
})

describe('TrackerClient messages and requests', () => {
  it('reports an invalid server message as BAD_MESSAGE, ignores it and stays online; ignores unknown types', () => {
    const t = fake()
    t.socket.welcome()
    t.socket.receive('not json')
    t.socket.receive({ type: 'peers', ref: 'x1', digest: 'nope', chunkCount: 1, peers: [] })
    t.socket.receive({ type: 'party' })
    t.socket.receive(new Uint8Array([1, 2, 3]))
    t.socket.welcome() // a second challenge, then a second welcome: both refused
    expect(t.errors().map((e) => [e.code, e.ref])).toEqual([
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', 'x1'],
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', undefined],
    ])
    expect(t.client.status.state).toBe('online')
    t.socket.receive({ type: 'catalog-changed', revision: 7 })
    t.socket.receive({ type: 'error', code: 'RATE_LIMITED', message: 'slow down' })
    t.socket.receive({ type: 'signal', from: 'BBBBBBBBBBBBBBB2', data: { candidate: 'c' } })
    expect(t.events.slice(-3)).toEqual([
      ['catalog-changed', { revision: 7 }],
      ['error', { code: 'RATE_LIMITED', message: 'slow down' }],
      ['signal', { from: 'BBBBBBBBBBBBBBB2', data: { candidate: 'c' } }],
    ])
  })

  it('passes fresh ICE servers on as an ice-servers event and in its online status, without a status event', () => {
    const t = fake()
    t.socket.welcome()
    const fresh = [
      { urls: 'stun:tracker.test:3478' },
      { urls: ['turn:tracker.test:3478'], username: '1700007200:AAAAAAAAAAAAAAA1', credential: 'bmV3' },
    ]
    const before = t.events.length
    t.socket.receive({ type: 'ice-servers', iceServers: fresh })
    expect(t.events.slice(before)).toEqual([['ice-servers', { iceServers: fresh }]])
    expect(t.client.status).toEqual({ state: 'online', peerId: 'AAAAAAAAAAAAAAA1', iceServers: fresh })
    // The next connection starts again from its own welcome.
    t.socket.drop()
    t.clock.advance(1000)
    t.socket.welcome({}, { iceServers: [] })
    expect(t.client.status).toEqual({ state: 'online', peerId: 'AAAAAAAAAAAAAAA1', iceServers: [] })
  })

  it('refuses ice-servers before the welcome, and a malformed list, as BAD_MESSAGE', () => {
    const t = fake()
    t.socket.receive({ type: 'ice-servers', iceServers: [{ urls: 'stun:early.test' }] })
    t.socket.welcome()
    t.socket.receive({ type: 'ice-servers', iceServers: [{ urls: 'http://not-ice.test' }] })
    expect(t.errors().map((e) => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE'])
    expect(t.events.filter(([type]) => type === 'ice-servers')).toEqual([])
    expect(t.client.status).toEqual({
      state: 'online',
      peerId: 'AAAAAAAAAAAAAAA1',
      iceServers: [{ urls: 'stun:tracker.test:3478' }],
    })
  })

  it('matches replies by ref, and passes per-file errors on as events', async () => {
    const t = fake()
    t.socket.welcome()
    const peers = t.client.peers(digestOf(1))
    const catalog = t.client.catalog({ limit: 1_000_000 })
    const [peersAsk, catalogAsk] = t.socket.sent as [ClientMessageOf<'peers'>, ClientMessageOf<'catalog'>]
    expect(catalogAsk).toEqual({
      type: 'catalog',
      ref: catalogAsk.ref,
      limit: DEFAULT_TRACKER_LIMITS.catalogPageSize,
    })
    t.socket.receive({ type: 'catalog', ref: catalogAsk.ref, revision: 1, total: 0, offset: 0, files: [] })
    t.socket.receive({
      type: 'error',
      code: 'FILE_CONFLICT',
      message: 'm',
      ref: peersAsk.ref,
      digest: digestOf(1),
    })
    t.socket.receive({ type: 'peers', ref: peersAsk.ref!, digest: digestOf(1), chunkCount: 1, peers: [] })
    expect(await catalog).toMatchObject({ total: 0 })
    expect(await peers).toMatchObject({ digest: digestOf(1), peers: [] })
    expect(t.errors()).toEqual([
      { code: 'FILE_CONFLICT', message: 'm', ref: peersAsk.ref, digest: digestOf(1) },
    ])

    const wrong = t.client.peers(digestOf(2))
    t.socket.receive({ type: 'ack', ref: t.socket.of('peers')[1]!.ref })
    await expect(wrong).rejects.toMatchObject({ code: 'BAD_MESSAGE' })
  })

  it('rejects with TIMEOUT on a timeout, and with TRACKER_OFFLINE when offline or when the connection drops', async () => {
    const t = fake()
    await expect(t.client.catalog()).rejects.toMatchObject({ code: 'TRACKER_OFFLINE' })
    t.socket.welcome()
    const late = t.client.peers(digestOf(1))
    t.clock.advance(REQUEST_TIMEOUT_MS)
    await expect(late).rejects.toMatchObject({ name: 'SwarmError', code: 'TIMEOUT' })
    // A reply after the timeout is of no use and no error either.
    t.socket.receive({
      type: 'peers',
      ref: t.socket.of('peers')[0]!.ref!,
      digest: digestOf(1),
      chunkCount: 1,
      peers: [],
    })

    const cut = t.client.getManifest(digestOf(1))
    t.socket.drop()
    await expect(cut).rejects.toMatchObject({ code: 'TRACKER_OFFLINE' })
    expect(t.errors()).toEqual([])
  })

  it('rejects a manifest that does not hash to the digest asked for', async () => {
    const t = fake()
    t.socket.welcome()
    const real = await fileOf(40_000, 8)
    const other = await fileOf(40_000, 9)
    const asked = t.client.getManifest(real.digest)
    t.socket.receive({
      type: 'manifest',
      ref: t.socket.of('get-manifest')[0]!.ref,
      digest: real.digest,
      manifest: other.manifest,
    })
    await expect(asked).rejects.toMatchObject({ code: 'MANIFEST_MISMATCH' })
    const good = t.client.getManifest(real.digest)
    t.socket.receive({
      type: 'manifest',
      ref: t.socket.of('get-manifest')[1]!.ref,
      digest: real.digest,
      manifest: real.manifest,
    })
    expect(await good).toEqual(real.manifest)
  })

  it('drops signals while offline and refuses ones over maxSignalBytes', () => {
    const t = fake()
    t.client.send('BBBBBBBBBBBBBBB2', { type: 'offer' })
    t.socket.welcome({ maxSignalBytes: 200 })
    t.client.send('BBBBBBBBBBBBBBB2', { type: 'offer' })
    t.client.send('BBBBBBBBBBBBBBB2', { sdp: 'x'.repeat(200) })
    expect(t.socket.sent).toEqual([
      { type: 'signal', ref: expect.any(String), to: 'BBBBBBBBBBBBBBB2', data: { type: 'offer' } },
    ])
    expect(t.errors()).toEqual([{ code: 'SIGNAL_TOO_LARGE', message: expect.any(String) }])
  })

  it('reports a signal whose target left as undeliverable, not as an error; other signal failures stay errors', () => {
    const t = fake()
    t.socket.welcome()
    const signaller: Signaller = t.client
    const heard: [string, string][] = []
    const off = signaller.onUndeliverable!((to, code) => heard.push([to, code]))
    t.client.send('BBBBBBBBBBBBBBB2', { type: 'offer' })
    t.client.send('CCCCCCCCCCCCCCC3', { type: 'offer' })
    t.client.send('DDDDDDDDDDDDDDD4', { type: 'offer' })
    const [toB, toC, toD] = t.socket.of('signal')
    const refs = [toB!.ref, toC!.ref, toD!.ref]
    expect(new Set(refs).size).toBe(3)
    const before = t.events.length
    t.socket.receive({ type: 'ack', ref: toB!.ref })
    t.socket.receive({ type: 'error', code: 'PEER_NOT_FOUND', message: 'not connected', ref: toC!.ref })
    t.socket.receive({ type: 'error', code: 'PEER_BUSY', message: 'busy', ref: toD!.ref })
    // Without a ref of ours (none, or one already answered), it is an error as before.
    t.socket.receive({ type: 'error', code: 'PEER_NOT_FOUND', message: 'again', ref: toC!.ref })
    t.socket.receive({ type: 'error', code: 'PEER_NOT_FOUND', message: 'bare' })
    expect(t.events.slice(before)).toEqual([
      ['undeliverable', { to: 'CCCCCCCCCCCCCCC3', code: 'PEER_NOT_FOUND' }],
      ['error', { code: 'PEER_BUSY', message: 'busy', ref: toD!.ref }],
      ['error', { code: 'PEER_NOT_FOUND', message: 'again', ref: toC!.ref }],
      ['error', { code: 'PEER_NOT_FOUND', message: 'bare' }],
    ])
    expect(heard).toEqual([['CCCCCCCCCCCCCCC3', 'PEER_NOT_FOUND']])
    off()
    t.client.send('EEEEEEEEEEEEEEE5', { type: 'offer' })
    t.socket.receive({
      type: 'error',
      code: 'PEER_NOT_FOUND',
      message: 'm',
      ref: t.socket.of('signal')[3]!.ref,
    })
    expect(heard).toHaveLength(1)
    expect(t.events.at(-1)).toEqual(['undeliverable', { to: 'EEEEEEEEEEEEEEE5', code: 'PEER_NOT_FOUND' }])
  })

  it('forgets the refs of its signals when the connection drops: a new connection does not answer them', () => {
    const t = fake()
    t.socket.welcome()
    t.client.send('BBBBBBBBBBBBBBB2', { type: 'offer' })
    const ref = t.socket.of('signal')[0]!.ref
    t.socket.drop()
    t.clock.advance(1000)
    t.socket.welcome()
    t.socket.receive({ type: 'error', code: 'PEER_NOT_FOUND', message: 'm', ref })
    expect(t.events.filter(([type]) => type === 'undeliverable')).toEqual([])
    expect(t.errors()).toEqual([{ code: 'PEER_NOT_FOUND', message: 'm', ref }])
  })

  it('remembers at most MAX_PENDING_SIGNALS unanswered signals, and none older than SIGNAL_REPLY_MS', () => {
    const t = fake()
    t.socket.welcome()
    const peerIdOf = (n: number) => `P${n.toString().padStart(15, '0')}`
    for (let i = 0; i <= MAX_PENDING_SIGNALS; i++) t.client.send(peerIdOf(i), { type: 'candidate' })
    const sent = t.socket.of('signal')
    expect(sent).toHaveLength(MAX_PENDING_SIGNALS + 1)
    const notFound = (ref: string | undefined) => ({
      type: 'error',
      code: 'PEER_NOT_FOUND',
      message: 'm',
      ref,
    })
    const undeliverable = () => t.events.flatMap(([type, d]) => (type === 'undeliverable' ? [d] : []))
    // The oldest went over the cap: a reply to it is not matched any more; the next oldest still is.
    t.socket.receive(notFound(sent[0]!.ref))
    t.socket.receive(notFound(sent[1]!.ref))
    expect(t.errors().map((e) => e.ref)).toEqual([sent[0]!.ref])
    expect(undeliverable()).toEqual([{ to: peerIdOf(1), code: 'PEER_NOT_FOUND' }])

    // Past SIGNAL_REPLY_MS, whatever is still unanswered is forgotten at the next signal.
    t.clock.advance(SIGNAL_REPLY_MS)
    t.client.send(peerIdOf(9999), { type: 'candidate' })
    t.socket.receive(notFound(sent[2]!.ref))
    t.socket.receive(notFound(t.socket.of('signal').at(-1)!.ref))
    expect(t.errors().map((e) => e.ref)).toEqual([sent[0]!.ref, sent[2]!.ref])
    expect(undeliverable()).toEqual([
      { to: peerIdOf(1), code: 'PEER_NOT_FOUND' },
      { to: peerIdOf(9999), code: 'PEER_NOT_FOUND' },
    ])
  })

  it('tears down once: bye, close, timers cleared, pending rejected, one offline status, then silence', async () => {
    const t = fake()
    t.socket.welcome()
    const pending = t.client.catalog()
    t.client.reportChunk(digestOf(1), 0)
    const socket = t.socket
    const count = t.events.length

    t.client.destroy()
    t.client.stop()
    expect(socket.sent.at(-1)).toEqual({ type: 'bye' })
    expect(socket.closeCalls).toBe(1)
    expect(t.clock.pendingTimers).toBe(0)
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(t.events.slice(count)).toEqual([['status', { state: 'offline' }]])

    socket.receive({ type: 'catalog-changed', revision: 1 })
    socket.receive({ type: 'signal', from: 'BBBBBBBBBBBBBBB2', data: {} })
    socket.drop()
    t.clock.advance(BACKOFF_MAX_MS * 10)
    t.client.start()
    t.client.announce([])
    expect(t.events.slice(count)).toHaveLength(1)
    expect(t.sockets).toHaveLength(1)
    expect(socket.sent.filter((m) => m.type !== 'bye' && m.type !== 'catalog')).toEqual([])
  })

  it('emits a single final offline status when stopped while waiting to retry, and none if never started', () => {
    const t = fake()
    t.socket.drop()
    const count = t.events.length
    t.client.destroy()
    expect(t.events.slice(count)).toEqual([['status', { state: 'offline' }]])
    expect(t.clock.pendingTimers).toBe(0)

    const idle = new TrackerClient({
      url: 'ws://x/ws',
      createSocket: () => new FakeSocket(),
      holdings: () => [],
      identity: nodeIdentity(),
    })
    const events = record(idle)
    idle.destroy()
    expect(events).toEqual([])
  })
})
