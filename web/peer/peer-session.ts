/**
 * The wire protocol on one link: greets the other peer, parses every frame it sends, and turns frames
 * into typed events. A peer that sends a frame that does not parse is told why and disconnected: it is
 * either broken or hostile, and either way nothing it sends can be trusted.
 */
import { assertNever } from '../../shared/assert-never.js'
import { SwarmError } from '../../shared/errors.js'
import {
  type ControlMessage,
  encodeChunkFrames,
  encodeControl,
  encodeManifestFrames,
  MAX_FRAME_BYTES,
  MIN_FRAME_BYTES,
  parseFrame,
  WIRE_PROTOCOL_VERSION,
} from '../../shared/wire-protocol.js'
import type { Clock } from './clock.js'
import type { PeerLink } from './peer-link.js'
import { TypedEventTarget } from './typed-events.js'

/** A peer that has not said hello by then is not speaking our protocol. */
export const HELLO_TIMEOUT_MS = 10_000
/** How long a failed session stays open for its `error` message to leave the channel's buffer. */
export const FAIL_GRACE_MS = 200

export type PeerSessionEvents = {
  /** A control message other than hello (those are handled here). */
  control: Exclude<ControlMessage, { type: 'hello' }>
  chunk: { requestId: number; offset: number; bytes: Uint8Array }
  manifest: { requestId: number; offset: number; total: number; bytes: Uint8Array }
  close: { error?: Error }
}

export class PeerSession extends TypedEventTarget<PeerSessionEvents> {
  /** Resolves when both sides have said hello; rejects if the session closes first. */
  readonly ready: Promise<void>
  #maxFrameBytes: number
  #nextRequestId = 1
  #destroyed = false
  #failing = false
  readonly #helloTimer: unknown
  #resolveReady!: () => void
  #rejectReady!: (error: Error) => void
  readonly #unsubscribe: (() => void)[]

  constructor(
    readonly link: PeerLink,
    private readonly clock: Clock,
  ) {
    super()
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
    this.#helloTimer = clock.setTimeout(
      () => this.destroy(new SwarmError('BAD_MESSAGE', 'the peer did not say hello in time')),
      HELLO_TIMEOUT_MS,
    )
    this.send({ type: 'hello', version: WIRE_PROTOCOL_VERSION, maxFrameBytes: this.#maxFrameBytes }).catch(
      () => {},
    )
  }

  get peerId(): string {
    return this.link.remotePeerId
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  get maxFrameBytes(): number {
    return this.#maxFrameBytes
  }

  nextRequestId(): number {
    const id = this.#nextRequestId
    this.#nextRequestId = (this.#nextRequestId + 1) % 2 ** 32
    return id
  }

  send(message: ControlMessage): Promise<void> {
    if (this.#destroyed) return Promise.reject(new SwarmError('PEER_NOT_FOUND', 'the session is closed'))
    return this.link.send(encodeControl(message))
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
    this.clock.clearTimeout(this.#helloTimer)
    for (const off of this.#unsubscribe) off()
    this.link.destroy(error)
    this.#rejectReady(error ?? new SwarmError('PEER_NOT_FOUND', 'the session closed'))
    this.emit('close', error ? { error } : {})
  }

  /**
   * Tells the peer why, then disconnects it. Closing the channel at once would drop the message still in
   * its buffer, so the close waits a moment; nothing the peer sends meanwhile is handled.
   */
  fail(error: SwarmError): void {
    if (this.#destroyed || this.#failing) return
    this.#failing = true
    // Best effort: a peer that does not read would keep the send pending forever, so the close does not wait on it.
    this.send({ type: 'error', code: error.code, message: error.message.slice(0, 500) }).catch(() => {})
    this.clock.setTimeout(() => this.destroy(error), FAIL_GRACE_MS)
  }

  #onFrame(data: Uint8Array): void {
    if (this.#destroyed || this.#failing) return
    const parsed = parseFrame(data)
    if (!parsed.ok) {
      this.fail(new SwarmError('BAD_MESSAGE', parsed.reason))
      return
    }
    const { frame } = parsed
    switch (frame.kind) {
      case 'control': {
        const message = frame.message
        if (message.type === 'hello') return this.#onHello(message)
        return this.emit('control', message)
      }
      case 'chunk':
        return this.emit('chunk', frame)
      case 'manifest':
        return this.emit('manifest', frame)
      case 'extension':
        // No other protocol runs over links yet: say so rather than ignore it silently.
        return this.fail(new SwarmError('UNKNOWN_TYPE', `no protocol ${frame.protocol} on this link`))
      default:
        return assertNever(frame)
    }
  }

  #onHello(message: Extract<ControlMessage, { type: 'hello' }>): void {
    if (message.version !== WIRE_PROTOCOL_VERSION) {
      this.fail(
        new SwarmError('BAD_MESSAGE', `wire protocol ${message.version} is not ${WIRE_PROTOCOL_VERSION}`),
      )
      return
    }
    this.clock.clearTimeout(this.#helloTimer)
    this.#maxFrameBytes = Math.min(this.#maxFrameBytes, message.maxFrameBytes)
    this.#resolveReady()
  }
}
