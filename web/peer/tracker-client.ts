/**
 * The client of the tracker (SPEC §4): one WebSocket to the server's `/ws`, reconnected with backoff,
 * announcing what this peer holds on every welcome, reporting newly verified chunks, asking for the catalog,
 * peers and manifests, and relaying WebRTC signals (it is the `Signaller` of peer links).
 *
 * It touches neither the DOM nor IndexedDB (SPEC §9): the socket, the clock, the randomness and what to
 * announce come in through its options, so the headless Node peer reuses it with `ws` and tests drive it
 * with a fake socket and a fake clock.
 */
import { assertNever } from '../../shared/assert-never.js'
import { fromHex, toHex } from '../../shared/encoding.js'
import { CLOSE_CODES, type ErrorCode, SwarmError } from '../../shared/errors.js'
import { helloHostOf, helloSignedBytes } from '../../shared/identity-proof.js'
import {
  DEFAULT_TRACKER_LIMITS,
  MAX_CHUNK_COUNT,
  TRACKER_PROTOCOL_VERSION,
  type TrackerLimits,
} from '../../shared/limits.js'
import { DIGEST_PATTERN, type Manifest, manifestMatchesDigest } from '../../shared/manifest.js'
import {
  type AnnouncedFile,
  AnnouncedFileSchema,
  type ClientHello,
  type ClientMessage,
  encodeClientMessage,
  type IceServer,
  parseServerMessage,
  type ServerMessage,
  type ServerMessageOf,
  type ServerMessageType,
} from '../../shared/tracker-protocol.js'
import { backoffDelayMs } from './backoff.js'
import { type Clock, systemClock } from './clock.js'
import type { Identity } from './identity.js'
import type { Signaller, SignalMeta } from './peer-link.js'
import { TypedEventTarget } from './typed-events.js'

/** Chunk reports are batched: at most one `have` message a second (SPEC §4, docs/PROTOCOL.md `have`). */
export const HAVE_BATCH_MS = 1000
/**
 * How long a request waits for its reply. The server answers each message in order within milliseconds;
 * ten seconds covers a congested link without leaving a caller hanging on a dead connection.
 */
export const REQUEST_TIMEOUT_MS = 10_000
/**
 * How long a connection attempt may take from opening the socket to the welcome. A browser's WebSocket to a
 * black-holed address can wait minutes for TCP to give up; after this the attempt is abandoned and retried.
 */
export const CONNECT_TIMEOUT_MS = 10_000
/**
 * How long a welcomed connection must stay up before the backoff starts again from 1 s. Resetting on the
 * welcome alone would turn a server that welcomes and then drops every connection into a reconnect a second.
 */
export const STABLE_CONNECTION_MS = 10_000
/**
 * Signals awaiting the server's reply are remembered by ref, so that a `PEER_NOT_FOUND` reply can tell the
 * link layer at once that the peer it dials has left (instead of its connect timeout, 15 s later). The
 * server answers a signal that carries a ref with an `ack` or an `error` within milliseconds, which ends
 * the entry; but a reply can go missing (a signal dropped as `RATE_LIMITED` is answered without a ref), so
 * at most this many are kept, oldest dropped first: five seconds of signals at the server's default rate
 * limit of 50 messages a second, where a reply takes one round trip.
 */
export const MAX_PENDING_SIGNALS = 256
/** An unanswered signal older than this is forgotten (on the next send): a reply that late is not coming. */
export const SIGNAL_REPLY_MS = 10_000

/** WHATWG `WebSocket.OPEN`; `ws` uses the same value. */
const SOCKET_OPEN = 1

/**
 * The part of the WHATWG WebSocket the client uses. Browsers' `WebSocket` and the `ws` package's
 * `WebSocket` both fit. Text messages arrive as strings in both (`ws` decodes text frames).
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void
  /** Always followed by `close`; listened to only so that `ws` does not treat the error as unhandled. */
  addEventListener(type: 'error', listener: () => void): void
}

export interface TrackerClientOptions {
  /** The tracker's WebSocket URL, e.g. `wss://example.org/ws`. */
  url: string
  /** Opens a socket: `(url) => new WebSocket(url)` in browsers, `ws`'s `WebSocket` in Node. */
  createSocket: (url: string) => WebSocketLike
  /**
   * Who this peer is: it answers each connection's challenge by signing it with this key (SPEC §9), and the
   * tracker binds the connection to the peer id the key derives to.
   */
  identity: Pick<Identity, 'publicKey' | 'peerId' | 'sign'>
  /**
   * What this peer holds, announced in full on every welcome (complete files as `"all"`, partial ones with
   * their bitfields). Called synchronously on each welcome, so it must reflect every chunk already reported.
   */
  holdings: () => readonly AnnouncedFile[]
  /** Timers for backoff, batching and timeouts. Default: the system clock. */
  clock?: Clock
  /** A source in [0, 1) for the backoff jitter. Default: `Math.random`. */
  random?: () => number
  /** How long a request waits for its reply. Default: `REQUEST_TIMEOUT_MS` (10 s). */
  requestTimeoutMs?: number
}

/** The connection as the UI shows it (`data-tracker-state`). */
export type TrackerStatus =
  | { state: 'connecting' }
  | {
      state: 'online'
      peerId: string
      /** The latest ICE servers: the welcome's, then each `ice-servers` event's (not a `status` event). */
      iceServers: IceServer[]
    }
  | {
      state: 'offline'
      /** The WebSocket close code and reason, when the server or the network closed it. */
      code?: number
      reason?: string
      /** When the next attempt starts; absent once the client is stopped for good. */
      retryInMs?: number
      /** Why the client stopped, when it stopped on an error (e.g. a protocol version it does not speak). */
      error?: SwarmError
    }

/** An error from the server (or a local `BAD_MESSAGE` about what it sent) that no pending request took. */
export interface TrackerError {
  code: ErrorCode
  message: string
  ref?: string
  /** Set on the per-file refusals of an announce or a chunk report. */
  digest?: string
}

export type TrackerClientEvents = {
  status: TrackerStatus
  /** The whole welcome of each new connection, after everything held has been announced on it. */
  welcome: ServerMessageOf<'welcome'>
  /**
   * Fresh ICE servers for this connection (new TURN credentials before the welcome's expire): use them for
   * every peer connection from now on. `status.iceServers` holds them too; no `status` event is emitted.
   */
  'ice-servers': { iceServers: IceServer[] }
  /** The catalog changed (for connections that asked `catalog({watch: true})`); fetch the pages shown. */
  'catalog-changed': { revision: number }
  /** `origin`: the sender's network origin as the tracker tags it (peer-link.ts SignalMeta). */
  signal: { from: string; data: Record<string, unknown>; origin?: string }
  /**
   * The tracker pushed holders of a file this client is downloading (an unsolicited `peers`: a peer that has
   * just announced it), so that a download need not wait for its next refresh to find them.
   */
  holders: ServerMessageOf<'peers'>
  /**
   * A signal this client relayed did not reach its target: `PEER_NOT_FOUND`, the target is no longer
   * connected to the tracker. For the link layer (`Signaller.onUndeliverable`); not an `error` event too.
   */
  undeliverable: { to: string; code: ErrorCode }
  /**
   * Errors no pending request took: per-file refusals of announces and chunk reports (with `digest`), signal
   * failures other than `undeliverable` ones, `RATE_LIMITED`; and local `BAD_MESSAGE`s for invalid server
   * messages or unannounceable files.
   */
  error: TrackerError
}

export interface CatalogQuery {
  /** Filters names (and digests by prefix); see docs/PROTOCOL.md "Search". */
  query?: string
  offset?: number
  /** Page size; clamped to the server's `catalogPageSize`. Default: the server's (50). */
  limit?: number
  /** `true` asks for `catalog-changed` notices on this connection, `false` stops them. */
  watch?: boolean
}

interface PendingRequest {
  reply: ServerMessageType
  resolve: (message: ServerMessage) => void
  reject: (error: SwarmError) => void
  timer: unknown
}

interface PendingSignal {
  to: string
  sentAt: number
}

interface Session {
  peerId: string
  limits: TrackerLimits
  welcomedAt: number
}

/** Failures on this side: a request cut off by a disconnect or a stop, and one nobody answered in time. */
const OFFLINE_CODE: ErrorCode = 'TRACKER_OFFLINE'
const TIMEOUT_CODE: ErrorCode = 'TIMEOUT'
/**
 * Replies to a signal that become `undeliverable` events rather than `error`s: the peer left, which the link
 * layer handles and the user need not hear about for each dial of it. The other signal failures stay errors:
 * `SELF_SIGNAL` and `SIGNAL_TOO_LARGE` are bugs on this side, and `PEER_BUSY` loses one signal to a peer that
 * is still there (the link may still open).
 */
const UNDELIVERABLE_CODES: ReadonlySet<ErrorCode> = new Set(['PEER_NOT_FOUND'])

export class TrackerClient extends TypedEventTarget<TrackerClientEvents> implements Signaller {
  readonly #options: TrackerClientOptions
  readonly #clock: Clock
  readonly #random: () => number
  readonly #requestTimeoutMs: number

  #started = false
  #destroyed = false
  #status: TrackerStatus = { state: 'offline' }
  #socket: WebSocketLike | undefined
  /** Set from the welcome until the connection is lost: only then may anything be sent. */
  #session: Session | undefined
  /** Failed attempts since the last stable connection; picks the next backoff delay. */
  #attempt = 0
  #retryTimer: unknown
  #connectTimer: unknown
  /** The socket whose challenge was answered: one hello per connection. */
  #challengedSocket: WebSocketLike | undefined

  /** Newly verified chunks not reported yet, merged by digest. */
  readonly #pendingHave = new Map<string, Set<number>>()
  #haveTimer: unknown
  #lastHaveAt: number | undefined

  readonly #requests = new Map<string, PendingRequest>()
  /** Signals sent on this connection and not answered yet, by ref, oldest first (MAX_PENDING_SIGNALS). */
  readonly #pendingSignals = new Map<string, PendingSignal>()
  #nextRef = 0

  constructor(options: TrackerClientOptions) {
    super()
    this.#options = options
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? Math.random
    this.#requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  }

  get status(): TrackerStatus {
    return this.#status
  }

  /** This connection's peer id while online. */
  get peerId(): string | undefined {
    return this.#session?.peerId
  }

  /** The server's limits from the last welcome; the defaults before one. */
  get limits(): Readonly<TrackerLimits> {
    return this.#session?.limits ?? DEFAULT_TRACKER_LIMITS
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Connects, and keeps reconnecting until `stop()`. Subscribe to events first. Idempotent. */
  start(): void {
    if (this.#started || this.#destroyed) return
    this.#started = true
    this.#connect()
  }

  /** The same as `destroy()`. */
  stop(): void {
    this.destroy()
  }

  /**
   * Stops for good, once: says `bye` if online (the server forgets this peer at once instead of at the next
   * heartbeat), closes the socket, clears every timer, rejects pending requests with `CANCELLED`, and emits
   * `status: offline` (with `error` if given) unless already stopped. Nothing is emitted afterwards.
   */
  destroy(error?: SwarmError): void {
    if (this.#destroyed) return
    this.#destroyed = true
    const socket = this.#socket
    const wasOnline = this.#session !== undefined
    if (wasOnline) this.#send({ type: 'bye' })
    this.#socket = undefined
    this.#session = undefined
    if (socket) closeQuietly(socket)
    this.#pendingSignals.clear()
    this.#clock.clearTimeout(this.#retryTimer)
    this.#clock.clearTimeout(this.#connectTimer)
    this.#retryTimer = this.#connectTimer = undefined
    this.#dropChunkReports()
    this.#rejectAll(new SwarmError('CANCELLED', 'the tracker client was stopped'))
    if (this.#started) this.#setStatus(error ? { state: 'offline', error } : { state: 'offline' })
  }

  // ------------------------------------------------------------ announcing

  /**
   * Tells the tracker now about files held (complete or partial; an announce replaces the chunk set held
   * before), in batches within the server's limits. Does nothing while offline: `holdings()` must already
   * include these files, since it is what the next welcome announces. Files that fail the protocol schema
   * are left out and reported as `error` events (`BAD_MESSAGE` with their digest), so that one bad name
   * cannot make the server refuse the whole batch.
   */
  announce(files: readonly AnnouncedFile[]): void {
    const session = this.#session
    if (!session || files.length === 0) return
    const valid: AnnouncedFile[] = []
    for (const file of files) {
      const parsed = AnnouncedFileSchema.safeParse(file)
      if (parsed.success) valid.push(parsed.data)
      else {
        const issue = parsed.error.issues[0]
        this.emit('error', {
          code: 'BAD_MESSAGE',
          message: `not announced: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
          ...(typeof file?.digest === 'string' ? { digest: file.digest } : {}),
        })
      }
    }
    const envelope = byteLength(encodeClientMessage({ type: 'announce', files: [] }))
    for (const batch of batches(
      valid,
      session.limits.filesPerAnnounce,
      session.limits.maxMessageBytes,
      envelope,
    )) {
      if (!this.#sendOrReport({ type: 'announce', files: batch })) return
    }
  }

  /** Stops sharing these files on the tracker, and forgets unsent chunk reports for them. Nothing while offline. */
  leave(digests: readonly string[]): void {
    for (const digest of digests) this.#pendingHave.delete(digest)
    const session = this.#session
    if (!session || digests.length === 0) return
    const envelope = byteLength(encodeClientMessage({ type: 'leave', digests: [] }))
    for (const batch of batches(
      digests,
      session.limits.filesPerAnnounce,
      session.limits.maxMessageBytes,
      envelope,
    )) {
      if (!this.#sendOrReport({ type: 'leave', digests: batch })) return
    }
  }

  /**
   * Reports one newly verified chunk of an announced file. Reports are merged by digest and sent at most
   * once every `HAVE_BATCH_MS` (the first after a quiet second goes out at once). Reports made while offline,
   * and reports not yet sent when the connection drops, are dropped: the next welcome announces everything
   * from `holdings()`, which already counts them. Throws a RangeError for an index or digest no message
   * could carry (a bug in the caller), rather than let it spoil the batch.
   */
  reportChunk(digest: string, index: number): void {
    if (!DIGEST_PATTERN.test(digest)) throw new RangeError(`not a digest: ${digest}`)
    if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNK_COUNT) {
      throw new RangeError(`chunk index ${index} is outside 0..${MAX_CHUNK_COUNT - 1}`)
    }
    if (!this.#session) return
    const chunks = this.#pendingHave.get(digest) ?? new Set<number>()
    chunks.add(index)
    this.#pendingHave.set(digest, chunks)
    this.#scheduleChunkReports()
  }

  // ------------------------------------------------------------ requests

  /**
   * One page of the catalog. Rejects with the server's code on an `error` reply, `TIMEOUT` when no reply
   * comes within the request timeout, `TRACKER_OFFLINE` when offline or when the connection drops first,
   * `CANCELLED` when the client is destroyed first. The other requests (`peers`, `getManifest`,
   * `putManifest`) fail the same ways.
   * `watch` holds for this connection only: ask again on each `welcome`.
   */
  catalog(query: CatalogQuery = {}): Promise<ServerMessageOf<'catalog'>> {
    const limit = query.limit === undefined ? undefined : Math.min(query.limit, this.limits.catalogPageSize)
    // Fields left undefined are left out by JSON.stringify, as the protocol wants (never `null`).
    const { query: text, offset, watch } = query
    return this.#request('catalog', (ref) => ({ type: 'catalog', ref, query: text, offset, limit, watch }))
  }

  /** The peers holding `digest` (never this one), with their chunks. `FILE_NOT_FOUND` when nobody holds it. */
  peers(digest: string): Promise<ServerMessageOf<'peers'>> {
    return this.#request('peers', (ref) => ({ type: 'peers', ref, digest }))
  }

  /**
   * The manifest the tracker caches for `digest`, checked against the digest before it is handed over (a
   * manifest is self-certifying; the server is not trusted): `MANIFEST_MISMATCH` if it does not match,
   * `FILE_NOT_FOUND` when the tracker has none.
   */
  async getManifest(digest: string): Promise<Manifest> {
    const reply = await this.#request('manifest', (ref) => ({ type: 'get-manifest', ref, digest }))
    if (reply.digest !== digest || !(await manifestMatchesDigest(digest, reply.manifest))) {
      throw new SwarmError('MANIFEST_MISMATCH', `the tracker's manifest for ${digest} does not match it`)
    }
    return reply.manifest
  }

  /** Gives the tracker a manifest to cache. The file must be in the catalog (`FILE_NOT_FOUND` otherwise). */
  async putManifest(digest: string, manifest: Manifest): Promise<void> {
    await this.#request('ack', (ref) => ({ type: 'put-manifest', ref, digest, manifest }))
  }

  // ------------------------------------------------------------ Signaller

  /**
   * Relays a WebRTC signal to another peer. While offline the signal is dropped, not queued: the peer id it
   * targets belongs to a connection of the other peer that a tracker restart ends anyway, and the link layer
   * retries (a fresh negotiation once both are back). Each signal carries a ref: a target that has left comes
   * back as an `undeliverable` event; other failures (`SIGNAL_TOO_LARGE`, `PEER_BUSY`, …) as `error` events.
   */
  send(to: string, data: Record<string, unknown>): void {
    const session = this.#session
    if (!session) return
    const ref = this.#newRef()
    const message: ClientMessage = { type: 'signal', ref, to, data }
    const size = byteLength(encodeClientMessage(message))
    if (size > session.limits.maxSignalBytes) {
      // The server would refuse it anyway; past maxMessageBytes it would even close the connection.
      this.emit('error', {
        code: 'SIGNAL_TOO_LARGE',
        message: `a signal of ${size} bytes is over the tracker's ${session.limits.maxSignalBytes}`,
      })
      return
    }
    if (this.#sendOrReport(message)) this.#rememberSignal(ref, to)
  }

  onSignal(listener: (from: string, data: Record<string, unknown>, meta?: SignalMeta) => void): () => void {
    return this.on('signal', ({ from, data, origin }) =>
      listener(from, data, origin === undefined ? {} : { origin }),
    )
  }

  onUndeliverable(listener: (to: string, code: ErrorCode) => void): () => void {
    return this.on('undeliverable', ({ to, code }) => listener(to, code))
  }

  // ------------------------------------------------------------ connection

  #connect(): void {
    this.#retryTimer = undefined
    if (this.#destroyed) return
    this.#setStatus({ state: 'connecting' })
    if (this.#destroyed) return // a status listener stopped us
    let socket: WebSocketLike
    try {
      socket = this.#options.createSocket(this.#options.url)
    } catch (error) {
      // A malformed URL or a blocked scheme throws at once in browsers; retrying costs little and a
      // transient cause (an extension, a CSP being reloaded) may pass.
      this.#connectionLost({ reason: `cannot open a WebSocket: ${(error as Error)?.message ?? error}` })
      return
    }
    this.#socket = socket
    socket.addEventListener('message', (event) => {
      if (socket === this.#socket) this.#onData(event.data)
    })
    socket.addEventListener('close', (event) => {
      if (socket === this.#socket) this.#connectionLost({ code: event.code, reason: event.reason })
    })
    // `close` always follows `error`; the listener is there so that `ws` does not throw it as unhandled.
    socket.addEventListener('error', () => {})
    this.#connectTimer = this.#clock.setTimeout(() => {
      this.#connectTimer = undefined
      if (socket !== this.#socket || this.#session) return
      closeQuietly(socket)
      this.#connectionLost({ reason: `no welcome within ${CONNECT_TIMEOUT_MS} ms` })
    }, CONNECT_TIMEOUT_MS)
  }

  /** The current connection is gone: forget everything bound to it and schedule the next attempt. */
  #connectionLost(close: { code?: number; reason?: string }): void {
    const session = this.#session
    this.#socket = undefined
    this.#session = undefined
    this.#clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    if (session && this.#clock.now() - session.welcomedAt >= STABLE_CONNECTION_MS) this.#attempt = 0
    this.#dropChunkReports()
    // Replies to them would come on this connection only: the next one starts with none pending.
    this.#pendingSignals.clear()
    this.#rejectAll(new SwarmError(OFFLINE_CODE, 'the tracker connection closed before the reply'))
    if (this.#destroyed) return
    if (close.code === CLOSE_CODES.REPLACED) {
      // Another tab or process with this identity took the connection over; taking it back would only make
      // the two take turns. Stop, and say why.
      this.destroy(new SwarmError('IDENTITY_IN_USE', 'another connection with this peer id took over'))
      return
    }
    const retryInMs = backoffDelayMs(this.#attempt, this.#random)
    this.#attempt++
    this.#retryTimer = this.#clock.setTimeout(() => this.#connect(), retryInMs)
    this.#setStatus({ state: 'offline', ...close, retryInMs })
  }

  #onData(data: unknown): void {
    if (typeof data !== 'string') {
      this.emit('error', { code: 'BAD_MESSAGE', message: 'the tracker sent a binary message' })
      return
    }
    const parsed = parseServerMessage(data)
    if (!parsed.ok && parsed.error.code === 'UNKNOWN_TYPE') {
      // A newer server within the same protocol version may add messages (PROTOCOL.md, "Versioning"):
      // a client that does not know one ignores it, rather than show the user a problem it cannot act on.
      return
    }
    if (!parsed.ok) {
      this.emit('error', {
        code: parsed.error.code,
        message: `the tracker sent an invalid message: ${parsed.error.message}`,
        ...(parsed.ref === undefined ? {} : { ref: parsed.ref }),
      })
      return
    }
    const message = parsed.message
    switch (message.type) {
      case 'challenge':
        return this.#onChallenge(message)
      case 'welcome':
        return this.#onWelcome(message)
      case 'ack':
        // A signal delivered: nothing more to do for it.
        if (this.#pendingSignals.delete(message.ref)) return
        this.#settle(message.ref, message)
        return
      case 'peers':
        // Without a ref it is no reply but news: a new holder of a file we download (signal/holder-push.ts).
        if (message.ref === undefined) return this.emit('holders', message)
        this.#settle(message.ref, message)
        return
      case 'catalog':
      case 'manifest':
        // A reply nobody waits for (its request timed out, or carried no ref) is of no use any more.
        this.#settle(message.ref, message)
        return
      case 'error':
        if (message.digest === undefined && this.#onSignalFailed(message)) return
        // Per-file errors (with `digest`) are not the final reply to their ref: the ack follows.
        if (message.digest !== undefined || !this.#settle(message.ref, message)) {
          this.emit('error', {
            code: message.code,
            message: message.message,
            ...(message.ref === undefined ? {} : { ref: message.ref }),
            ...(message.digest === undefined ? {} : { digest: message.digest }),
          })
        }
        return
      case 'catalog-changed':
        return this.emit('catalog-changed', { revision: message.revision })
      case 'signal':
        return this.emit(
          'signal',
          message.origin === undefined
            ? { from: message.from, data: message.data }
            : { from: message.from, data: message.data, origin: message.origin },
        )
      case 'ice-servers':
        return this.#onIceServers(message.iceServers)
      default:
        return assertNever(message)
    }
  }

  /**
   * An error answering one of our signals: ends its entry, and reports the target gone as `undeliverable`.
   * True when that was done and the error needs no `error` event.
   */
  #onSignalFailed(error: ServerMessageOf<'error'>): boolean {
    const pending = error.ref === undefined ? undefined : this.#pendingSignals.get(error.ref)
    if (!pending || error.ref === undefined) return false
    this.#pendingSignals.delete(error.ref)
    if (!UNDELIVERABLE_CODES.has(error.code)) return false
    this.emit('undeliverable', { to: pending.to, code: error.code })
    return true
  }

  #onIceServers(iceServers: IceServer[]): void {
    const status = this.#status
    if (status.state !== 'online') {
      // The server sends them only after the welcome; before it there is no connection to use them for.
      this.emit('error', { code: 'BAD_MESSAGE', message: 'the tracker sent ice-servers before its welcome' })
      return
    }
    this.#status = { ...status, iceServers }
    this.emit('ice-servers', { iceServers })
  }

  /** Proves this peer's key: signs the nonce and the tracker's host (identity-proof.ts) and says `hello`. */
  #onChallenge(challenge: ServerMessageOf<'challenge'>): void {
    const socket = this.#socket
    if (this.#session || !socket || this.#challengedSocket === socket) {
      this.emit('error', { code: 'BAD_MESSAGE', message: 'the tracker sent a second challenge' })
      return
    }
    if (!this.#speaks(challenge.protocol)) return
    this.#challengedSocket = socket
    const { identity, url } = this.#options
    identity.sign(helloSignedBytes(fromHex(challenge.nonce), helloHostOf(url))).then(
      (signature) => {
        if (socket !== this.#socket || this.#destroyed) return
        this.#sendOrReport({
          type: 'hello',
          publicKey: toHex(identity.publicKey),
          signature: toHex(signature),
        })
      },
      (error: unknown) => {
        if (socket !== this.#socket || this.#destroyed) return
        this.emit('error', { code: 'INTERNAL', message: `signing the hello failed: ${String(error)}` })
        closeQuietly(socket)
      },
    )
  }

  /** Whether the tracker speaks our protocol version; if not, stops and says why (a reload is the cure). */
  #speaks(protocol: number): boolean {
    if (protocol === TRACKER_PROTOCOL_VERSION) return true
    const error = new SwarmError(
      'BAD_MESSAGE',
      `the tracker speaks protocol ${protocol}; this client speaks ${TRACKER_PROTOCOL_VERSION}`,
    )
    this.emit('error', { code: error.code, message: error.message })
    this.destroy(error)
    return false
  }

  #onWelcome(welcome: ServerMessageOf<'welcome'>): void {
    if (this.#session) {
      this.emit('error', { code: 'BAD_MESSAGE', message: 'the tracker sent a second welcome' })
      return
    }
    if (!this.#speaks(welcome.protocol)) return
    if (this.#challengedSocket !== this.#socket || welcome.peerId !== this.#options.identity.peerId) {
      // Signals are signed under our own peer id: under another, every peer would refuse them as forged.
      this.emit('error', {
        code: 'BAD_MESSAGE',
        message: `the tracker welcomed this peer as ${welcome.peerId}, not as its key's ${this.#options.identity.peerId}`,
      })
      if (this.#socket) closeQuietly(this.#socket)
      return
    }
    this.#clock.clearTimeout(this.#connectTimer)
    this.#connectTimer = undefined
    this.#session = { peerId: welcome.peerId, limits: welcome.limits, welcomedAt: this.#clock.now() }
    this.#lastHaveAt = undefined
    // Announce before telling anyone, so that a catalog asked for on `welcome` already lists our own files.
    let holdings: readonly AnnouncedFile[] = []
    try {
      holdings = this.#options.holdings()
    } catch (error) {
      this.emit('error', {
        code: 'INTERNAL',
        message: `holdings() failed: ${(error as Error)?.message ?? error}`,
      })
    }
    this.announce(holdings)
    if (this.#session?.peerId !== welcome.peerId) return // a listener stopped us, or the socket failed
    this.#setStatus({ state: 'online', peerId: welcome.peerId, iceServers: welcome.iceServers })
    if (this.#session?.peerId !== welcome.peerId) return
    this.emit('welcome', welcome)
  }

  // ------------------------------------------------------------ chunk reports

  #scheduleChunkReports(): void {
    if (this.#haveTimer !== undefined || this.#pendingHave.size === 0) return
    const now = this.#clock.now()
    const wait = this.#lastHaveAt === undefined ? 0 : Math.max(0, this.#lastHaveAt + HAVE_BATCH_MS - now)
    // Even with no wait, go through the clock: reports made in the same task then share one message.
    this.#haveTimer = this.#clock.setTimeout(() => this.#flushChunkReports(), wait)
  }

  /** Sends one `have` of what is pending, within the limits; whatever does not fit waits for the next second. */
  #flushChunkReports(): void {
    this.#haveTimer = undefined
    const session = this.#session
    if (!session) return this.#pendingHave.clear()
    const updates = [...this.#pendingHave].map(([digest, chunks]) => ({
      digest,
      chunks: [...chunks].sort((a, b) => a - b),
    }))
    const envelope = byteLength(encodeClientMessage({ type: 'have', updates: [] }))
    const [batch = []] = batches(
      updates,
      session.limits.filesPerAnnounce,
      session.limits.maxMessageBytes,
      envelope,
    )
    for (const update of batch) this.#pendingHave.delete(update.digest)
    if (batch.length === 0) return
    this.#lastHaveAt = this.#clock.now()
    this.#sendOrReport({ type: 'have', updates: batch })
    this.#scheduleChunkReports()
  }

  #dropChunkReports(): void {
    this.#clock.clearTimeout(this.#haveTimer)
    this.#haveTimer = undefined
    this.#pendingHave.clear()
    this.#lastHaveAt = undefined
  }

  // ------------------------------------------------------------ sending

  #request<K extends 'catalog' | 'peers' | 'manifest' | 'ack'>(
    reply: K,
    build: (ref: string) => ClientMessage,
  ): Promise<ServerMessageOf<K>> {
    return new Promise((resolve, reject) => {
      if (this.#destroyed || !this.#session) {
        reject(new SwarmError(OFFLINE_CODE, 'the tracker is offline'))
        return
      }
      const ref = this.#newRef()
      const failure = this.#send(build(ref))
      if (failure) {
        reject(failure)
        return
      }
      const timer = this.#clock.setTimeout(() => {
        if (!this.#requests.delete(ref)) return
        reject(
          new SwarmError(
            TIMEOUT_CODE,
            `the tracker did not answer ${reply} request ${ref} in ${this.#requestTimeoutMs} ms`,
          ),
        )
      }, this.#requestTimeoutMs)
      this.#requests.set(ref, { reply, resolve: resolve as (message: ServerMessage) => void, reject, timer })
    })
  }

  /** A ref unique within this client, for a request or a signal. */
  #newRef(): string {
    return `t${++this.#nextRef}`
  }

  /** Remembers a signal sent, for its reply; first forgets the expired ones and any over the cap, oldest first. */
  #rememberSignal(ref: string, to: string): void {
    const now = this.#clock.now()
    for (const [oldRef, entry] of this.#pendingSignals) {
      if (this.#pendingSignals.size < MAX_PENDING_SIGNALS && now - entry.sentAt < SIGNAL_REPLY_MS) break
      this.#pendingSignals.delete(oldRef)
    }
    this.#pendingSignals.set(ref, { to, sentAt: now })
  }

  /** Hands a final reply to the request waiting on `ref`; false when none waits. */
  #settle(ref: string | undefined, message: ServerMessage): boolean {
    const pending = ref === undefined ? undefined : this.#requests.get(ref)
    if (!pending || ref === undefined) return false
    this.#requests.delete(ref)
    this.#clock.clearTimeout(pending.timer)
    if (message.type === 'error') pending.reject(new SwarmError(message.code, message.message))
    else if (message.type !== pending.reply) {
      pending.reject(
        new SwarmError(
          'BAD_MESSAGE',
          `the tracker answered ${ref} with ${message.type}, not ${pending.reply}`,
        ),
      )
    } else pending.resolve(message)
    return true
  }

  #rejectAll(error: SwarmError): void {
    const pending = [...this.#requests.values()]
    this.#requests.clear()
    for (const request of pending) {
      this.#clock.clearTimeout(request.timer)
      request.reject(error)
    }
  }

  /** Sends on the current connection; reports a failure as an `error` event. True when sent. */
  #sendOrReport(message: ClientMessage | ClientHello): boolean {
    const failure = this.#send(message)
    if (failure && failure.code !== OFFLINE_CODE)
      this.emit('error', { code: failure.code, message: failure.message })
    return failure === undefined
  }

  /** Sends on the current connection; the reason it could not, or undefined. */
  #send(message: ClientMessage | ClientHello): SwarmError | undefined {
    const socket = this.#socket
    if (!socket || socket.readyState !== SOCKET_OPEN)
      return new SwarmError(OFFLINE_CODE, 'the tracker is offline')
    const text = encodeClientMessage(message)
    const size = byteLength(text)
    if (size > this.limits.maxMessageBytes) {
      // The server would close the connection (1009) and forget everything announced on it.
      return new SwarmError(
        'BAD_MESSAGE',
        `a ${message.type} of ${size} bytes is over the tracker's ${this.limits.maxMessageBytes}`,
      )
    }
    try {
      socket.send(text)
      return undefined
    } catch (error) {
      // Browsers throw only while CONNECTING (excluded above); `ws` may throw on a socket closing under us.
      return new SwarmError(
        OFFLINE_CODE,
        `the tracker socket refused to send: ${(error as Error)?.message ?? error}`,
      )
    }
  }

  #setStatus(status: TrackerStatus): void {
    const previous = this.#status
    // A stopped client announces being offline once, even if it was already offline waiting to retry.
    if (status.state === 'offline' && previous.state === 'offline' && status.retryInMs === undefined) {
      if (previous.retryInMs === undefined) return
    }
    this.#status = status
    this.emit('status', status)
  }
}

function closeQuietly(socket: WebSocketLike): void {
  try {
    socket.close()
  } catch {
    // Closing is best effort: the socket is already forgotten.
  }
}

/** UTF-8 length of a string: what the server counts against its byte limits. */
function byteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/**
 * Splits items into messages of at most `maxItems` items and `maxBytes` bytes of JSON, `envelopeBytes` being
 * the message without items. An item too large for any message goes alone (sending then reports it).
 */
function batches<T>(items: readonly T[], maxItems: number, maxBytes: number, envelopeBytes: number): T[][] {
  const result: T[][] = []
  let batch: T[] = []
  let bytes = envelopeBytes
  for (const item of items) {
    const size = byteLength(JSON.stringify(item)) + 1 // the comma before it
    if (batch.length > 0 && (batch.length >= maxItems || bytes + size > maxBytes)) {
      result.push(batch)
      batch = []
      bytes = envelopeBytes
    }
    batch.push(item)
    bytes += size
  }
  if (batch.length > 0) result.push(batch)
  return result
}
