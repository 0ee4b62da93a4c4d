/**
 * One peer session: the frame router of one link (docs/PROTOCOL.md, "The frame router"). It greets the
 * other peer, and routes each frame by its kind byte: file transfer's kinds (control, chunk, manifest) to
 * typed events, other kinds to the protocol registered for them (protocol-registrar.ts). Every kind has a
 * budget per remote peer (peer-budgets.ts). A peer that sends anything but `hello` first, a frame that
 * does not parse, a kind nobody handles, or more than its budget, is told why and disconnected: it is
 * either broken or hostile, and either way nothing it sends can be trusted. Such a close is kept as the
 * session's `violation`, for the swarm to remember (ban-list.ts).
 */
import { assertNever } from '../../shared/assert-never.js'
import { SwarmError } from '../../shared/errors.js'
import {
  type ControlMessage,
  encodeChunkFrames,
  encodeControl,
  encodeManifestFrames,
  FIRST_EXTENSION_KIND,
  FRAME_KIND,
  MAX_FRAME_BYTES,
  MIN_FRAME_BYTES,
  parseFrame,
  WIRE_PROTOCOL_VERSION,
} from '../../shared/wire-protocol.js'
import type { Clock } from './clock.js'
import { type FrameBudget, PeerBudgets } from './peer-budgets.js'
import type { PeerLink } from './peer-link.js'
import { guarded, type ProtocolRegistrar, type RouterSession } from './protocol-registrar.js'
import { TypedEventTarget } from './typed-events.js'

/** A peer that has not said hello by then is not speaking our protocol. */
export const HELLO_TIMEOUT_MS = 10_000
/**
 * How long a failed session stays open for its `error` message to leave: a small message leaves the channel
 * within milliseconds on any link that is not congested. Short, because a flooding peer's frames keep
 * landing until the link is gone (each one is a task on the page's main thread, dropped unread): at 200 ms,
 * a flood of small frames put ~20,000 of them on the seeder per link.
 */
export const FAIL_GRACE_MS = 25
/**
 * Frames a failed session takes from its peer during the grace before it closes at once: a peer that keeps
 * sending after it was told to stop is flooding, and its error message is not worth the flood (each frame
 * is a task on the main thread; a small-frame flood lands thousands in 25 ms).
 */
export const FRAMES_AFTER_FAIL = 32

/**
 * File transfer's budgets per remote peer, by frame kind (docs/PROTOCOL.md, "Budgets").
 * - control: 200 a second, bursts of 400. An honest downloader sends a request and a `have-chunk` per chunk
 *   (~30 a second at 30 MB/s of 1 MiB chunks) and a few dozen messages when it starts; the bucket also pays
 *   for the replies a peer makes us send (`reject`, `have`) and for chunk or manifest frames nobody asked for.
 * - chunk: 4096 frames a second, bursts of 8192: 64 MB/s in the smallest frames a peer may use (16 KiB),
 *   twice the fastest channel measured here (SPEC §8). Chunk frames answer our own requests: the bound is
 *   what a peer may make us parse, not what it may send us.
 * - manifest: a manifest is at most 9 frames of 16 KiB; 64 a second, bursts of 256, is several at once.
 */
export const TRANSFER_BUDGETS = {
  control: { framesPerSecond: 200, burst: 400 },
  chunk: { framesPerSecond: 4096, burst: 8192 },
  manifest: { framesPerSecond: 64, burst: 256 },
} as const satisfies Record<string, FrameBudget>

/** Request ids ended recently (completed, cancelled, refused) whose late frames are dropped unpunished. */
const RECENTLY_ENDED_IDS = 64

export type PeerSessionEvents = {
  /** A control message other than hello (those are handled here). */
  control: Exclude<ControlMessage, { type: 'hello' }>
  /** A chunk frame for a request this side made and has not ended. */
  chunk: { requestId: number; offset: number; bytes: Uint8Array }
  /** A manifest frame for a request this side made and has not ended. */
  manifest: { requestId: number; offset: number; total: number; bytes: Uint8Array }
  /** This side is closing the link for the peer's misbehaviour (see `fail`); `close` follows. */
  violation: SwarmError
  close: { error?: Error }
}

export interface PeerSessionOptions {
  clock: Clock
  /** Protocols beside file transfer; default none (every extension kind is unknown). */
  registrar?: ProtocolRegistrar
  /** Budgets per remote peer, shared by every session of the tab; default a fresh set for this session. */
  budgets?: PeerBudgets
  /**
   * Settles when the link is admitted (the other side's address is not banned, say). Until then this side
   * does not say hello, so an honest peer sends nothing but its own; a rejection fails the session with it.
   * Default: admitted at once.
   */
  admission?: Promise<void>
}

export class PeerSession extends TypedEventTarget<PeerSessionEvents> implements RouterSession {
  /** Resolves when both sides have said hello; rejects if the session closes first. */
  readonly ready: Promise<void>
  /** Why this side closed the link for the peer's misbehaviour, if it did. */
  violation: SwarmError | undefined
  #maxFrameBytes: number
  #nextRequestId = 1
  readonly #openRequests = new Set<number>()
  readonly #endedRequests: number[] = []
  #destroyed = false
  #failing = false
  #framesAfterFail = 0
  #helloSent = false
  #helloReceived = false
  /** The extension kinds the peer's hello listed. */
  #remoteProtocols: ReadonlySet<number> = new Set()
  #isReady = false
  readonly #helloTimer: unknown
  readonly #claims = new Set<symbol>()
  #resolveReady!: () => void
  #rejectReady!: (error: Error) => void
  readonly #unsubscribe: (() => void)[]
  readonly #clock: Clock
  readonly #registrar: ProtocolRegistrar | undefined
  readonly #budgets: PeerBudgets

  constructor(
    readonly link: PeerLink,
    options: PeerSessionOptions,
  ) {
    super()
    this.#clock = options.clock
    this.#registrar = options.registrar
    this.#budgets = options.budgets ?? new PeerBudgets(options.clock)
    this.#maxFrameBytes = Math.max(MIN_FRAME_BYTES, Math.min(link.maxFrameBytes, MAX_FRAME_BYTES))
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    this.ready.catch(() => {}) // callers that never await it must not see an unhandled rejection
    this.#unsubscribe = [
      link.on('frame', (frame) => this.#onFrame(frame)),
      link.on('close', ({ error }) => this.destroy(error)),
    ]
    this.#helloTimer = this.#clock.setTimeout(
      () => this.fail(new SwarmError('TIMEOUT', 'the peer did not say hello in time')),
      HELLO_TIMEOUT_MS,
    )
    const admission = options.admission ?? Promise.resolve()
    admission.then(
      () => this.#sayHello(),
      (error: unknown) =>
        this.fail(error instanceof SwarmError ? error : new SwarmError('INTERNAL', String(error))),
    )
  }

  get peerId(): string {
    return this.link.remotePeerId
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Whether both sides have said hello. */
  get isReady(): boolean {
    return this.#isReady
  }

  get maxFrameBytes(): number {
    return this.#maxFrameBytes
  }

  /** Whether a protocol has claimed the link (the idle sweep leaves it open). */
  get claimed(): boolean {
    return this.#claims.size > 0
  }

  /** A new request id, open until `endRequest`: chunk or manifest frames carrying it are expected. */
  nextRequestId(): number {
    const id = this.#nextRequestId
    this.#nextRequestId = (this.#nextRequestId + 1) % 2 ** 32
    this.#openRequests.add(id)
    return id
  }

  /**
   * The request is done (complete, cancelled, refused): its late frames (a cancel crosses the frames already
   * sent) are dropped from now on, paid for by the chunk budget alone.
   */
  endRequest(id: number): void {
    if (!this.#openRequests.delete(id)) return
    this.#endedRequests.push(id)
    if (this.#endedRequests.length > RECENTLY_ENDED_IDS) this.#endedRequests.shift()
  }

  /**
   * Takes `tokens` from the peer's bucket for `kind` (file transfer: 'control'); false when the peer is over
   * it, and the session is then failed with RATE_LIMITED. The swarm charges the control budget for the
   * replies a peer makes it send (`reject`, `have`).
   */
  charge(kind: keyof typeof TRANSFER_BUDGETS, tokens = 1): boolean {
    if (this.#budgets.take(this.peerId, kind, TRANSFER_BUDGETS[kind], tokens)) return true
    this.fail(
      new SwarmError(
        'RATE_LIMITED',
        `over the ${kind} budget of ${TRANSFER_BUDGETS[kind].framesPerSecond}/s`,
      ),
    )
    return false
  }

  claim(reason: string): () => void {
    const token = Symbol(reason)
    this.#claims.add(token)
    return () => {
      this.#claims.delete(token)
    }
  }

  send(message: ControlMessage): Promise<void> {
    if (this.#destroyed) return Promise.reject(new SwarmError('SESSION_CLOSED', 'the session is closed'))
    return this.link.send(encodeControl(message))
  }

  /** Whether the peer's hello listed extension kind `kind` (false before its hello). */
  speaks(kind: number): boolean {
    return this.#remoteProtocols.has(kind)
  }

  sendFrame(kind: number, payload: Uint8Array): Promise<void> {
    if (this.#destroyed) return Promise.reject(new SwarmError('SESSION_CLOSED', 'the session is closed'))
    if (!Number.isInteger(kind) || kind < FIRST_EXTENSION_KIND || kind > 0xff) {
      return Promise.reject(new RangeError(`frame kind ${kind} is not in 0x10–0xff`))
    }
    if (!this.speaks(kind)) {
      // It would close the link UNKNOWN_TYPE at the other end: the peer does not handle this protocol.
      return Promise.reject(new SwarmError('UNKNOWN_TYPE', `the peer does not speak protocol ${kind}`))
    }
    if (payload.length + 1 > this.#maxFrameBytes) {
      return Promise.reject(
        new RangeError(`a frame of ${payload.length + 1} bytes is over maxFrameBytes ${this.#maxFrameBytes}`),
      )
    }
    const frame = new Uint8Array(payload.length + 1)
    frame[0] = kind
    frame.set(payload, 1)
    return this.link.send(frame)
  }

  /** Sends a chunk in frames, each awaited so the channel's buffer stays under its high-water mark. */
  async sendChunk(
    requestId: number,
    bytes: Uint8Array,
    isCancelled: () => boolean = () => false,
  ): Promise<void> {
    for (const frame of encodeChunkFrames(requestId, bytes, this.#maxFrameBytes)) {
      if (this.#destroyed || isCancelled()) return
      await this.link.send(frame)
    }
  }

  async sendManifest(requestId: number, canonical: Uint8Array): Promise<void> {
    for (const frame of encodeManifestFrames(requestId, canonical, this.#maxFrameBytes)) {
      if (this.#destroyed) return
      await this.link.send(frame)
    }
  }

  /** Closes the session and its link, once. */
  destroy(error?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#clock.clearTimeout(this.#helloTimer)
    for (const off of this.#unsubscribe) off()
    this.#claims.clear()
    this.link.destroy(error)
    this.#rejectReady(error ?? new SwarmError('SESSION_CLOSED', 'the session closed'))
    this.emit('close', error ? { error } : {})
  }

  /**
   * Tells the peer why, then disconnects it; kept as the session's `violation`. Closing the channel at once
   * would drop the message still in its buffer, so the close waits a moment; nothing the peer sends
   * meanwhile is handled.
   */
  fail(error: SwarmError): void {
    if (this.#destroyed || this.#failing) return
    this.#failing = true
    this.violation = error
    this.emit('violation', error)
    // Best effort: a peer that does not read would keep the send pending forever, so the close does not wait on it.
    this.send({ type: 'error', code: error.code, message: error.message.slice(0, 500) }).catch(() => {})
    this.#clock.setTimeout(() => this.destroy(error), FAIL_GRACE_MS)
  }

  #sayHello(): void {
    if (this.#destroyed || this.#failing) return
    this.#helloSent = true
    this.send({
      type: 'hello',
      version: WIRE_PROTOCOL_VERSION,
      maxFrameBytes: this.#maxFrameBytes,
      protocols: this.#registrar?.kinds ?? [],
    }).catch(() => {})
    this.#becomeReady()
  }

  #becomeReady(): void {
    if (!this.#helloSent || !this.#helloReceived || this.#isReady) return
    this.#isReady = true
    this.#clock.clearTimeout(this.#helloTimer)
    this.#resolveReady()
  }

  #onFrame(data: Uint8Array): void {
    if (this.#destroyed) return
    if (this.#failing) {
      if (++this.#framesAfterFail > FRAMES_AFTER_FAIL) this.destroy(this.violation)
      return
    }
    if (data.length === 0) return this.fail(new SwarmError('BAD_MESSAGE', 'empty frame'))
    const kind = data[0]!
    if (!this.#isReady) return this.#beforeHello(data)
    if (kind >= FIRST_EXTENSION_KIND) return this.#onExtension(kind, data)
    const budget = kind === FRAME_KIND.control ? 'control' : kind === FRAME_KIND.chunk ? 'chunk' : 'manifest'
    if (!this.charge(budget)) return
    const parsed = parseFrame(data)
    if (!parsed.ok) return this.fail(new SwarmError('BAD_MESSAGE', parsed.reason))
    const { frame } = parsed
    switch (frame.kind) {
      case 'control':
        if (frame.message.type === 'hello') {
          return this.fail(new SwarmError('BAD_MESSAGE', 'a second hello'))
        }
        return this.emit('control', frame.message)
      case 'chunk':
        if (this.#expected(frame.requestId)) this.emit('chunk', frame)
        return
      case 'manifest':
        if (this.#expected(frame.requestId)) this.emit('manifest', frame)
        return
      case 'extension':
        return // kinds ≥ FIRST_EXTENSION_KIND went to #onExtension above
      default:
        return assertNever(frame)
    }
  }

  /** Before both hellos only the peer's own hello is accepted: a request sent first is never served. */
  #beforeHello(data: Uint8Array): void {
    if (!this.charge('control')) return
    const parsed = parseFrame(data)
    if (!parsed.ok) return this.fail(new SwarmError('BAD_MESSAGE', parsed.reason))
    const { frame } = parsed
    if (frame.kind !== 'control' || frame.message.type !== 'hello' || this.#helloReceived) {
      const what = frame.kind === 'control' ? frame.message.type : `a ${frame.kind} frame`
      return this.fail(new SwarmError('HELLO_REQUIRED', `${what} before the handshake completed`))
    }
    const hello = frame.message
    if (hello.version !== WIRE_PROTOCOL_VERSION) {
      return this.fail(
        new SwarmError('BAD_MESSAGE', `wire protocol ${hello.version} is not ${WIRE_PROTOCOL_VERSION}`),
      )
    }
    this.#helloReceived = true
    this.#maxFrameBytes = Math.min(this.#maxFrameBytes, hello.maxFrameBytes)
    this.#remoteProtocols = new Set(hello.protocols ?? [])
    this.#becomeReady()
  }

  #onExtension(kind: number, data: Uint8Array): void {
    const protocol = this.#registrar?.get(kind)
    if (!protocol) return this.fail(new SwarmError('UNKNOWN_TYPE', `no protocol ${kind} on this link`))
    if (!this.#budgets.take(this.peerId, `kind ${kind}`, protocol.budget)) {
      return this.fail(
        new SwarmError(
          'RATE_LIMITED',
          `over the ${protocol.name} budget of ${protocol.budget.framesPerSecond}/s`,
        ),
      )
    }
    const payload = data.subarray(1)
    guarded(() => protocol.onFrame(this, payload))
  }

  /**
   * Whether a chunk or manifest frame answers an open request. A frame of a request ended lately is a late
   * one, dropped; a frame of a request never made (unsolicited data) costs the peer a control token too.
   */
  #expected(requestId: number): boolean {
    if (this.#openRequests.has(requestId)) return true
    if (!this.#endedRequests.includes(requestId)) this.charge('control')
    return false
  }
}
