/**
 * A PeerLink over one WebRTC data channel, through simple-peer: the only file that imports simple-peer
 * (SPEC §5). Binary frames only. Data goes through `peer.send()` and our own `bufferedAmount` control on the
 * channel, never through simple-peer's stream `write()`/`'drain'` path, which crawls at 3.6 MB/s in
 * browsers (SPEC §8); received messages are taken straight from the channel, bypassing the stream too.
 */
import SimplePeer from 'simple-peer'
import { SwarmError } from '../../shared/errors.js'
import { MAX_FRAME_BYTES } from '../../shared/wire-protocol.js'
import { type Clock, systemClock } from './clock.js'
import { peerConnectionRefusal } from './peer-connection-limit.js'
import type { ConnectionType, LinkOptions, NegotiatingLink, PeerLinkEvents } from './peer-link.js'
import { TypedEventTarget } from './typed-events.js'

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Queue depth above which `send()` waits: ~1 MiB keeps memory flat and stays far below Chromium's 16 MiB
 * send queue, past which `send()` throws and the channel closes (SPEC §8).
 */
export const HIGH_WATER_BYTES = 1 * MiB
/**
 * A waiting `send()` resumes once the queue has drained to this fraction of the high-water mark: half a
 * MiB is ~20 ms of a loopback channel, so the queue never runs dry while the sender wakes up.
 */
const LOW_WATER_FRACTION = 0.5
/**
 * A waiting `send()` also re-reads `bufferedAmount` this often. Browsers fire `bufferedamountlow` and this
 * is only a safety net; @roamhq/wrtc (the Node peer, SPEC §9) never fires it, so there we poll quickly.
 */
const BUFFER_POLL_MS = 250
const BUFFER_POLL_NO_EVENT_MS = 2

export interface SimplePeerLinkOptions extends LinkOptions {
  /** A WebRTC implementation for environments without one (`@roamhq/wrtc` in Node); browsers need none. */
  wrtc?: SimplePeer.Options['wrtc']
  /** Queue depth above which `send()` waits; default HIGH_WATER_BYTES (1 MiB). */
  highWaterBytes?: number
  /** Default: the system clock. */
  clock?: Clock
}

/** The parts of a simple-peer instance we reach into: its RTCPeerConnection, data channel and message hook. */
interface SimplePeerInternals {
  _pc: RTCPeerConnection | null
  _channel: RTCDataChannel | null
  _onChannelMessage(event: MessageEvent): void
}

type SimplePeerError = Error & { code?: string }

/** One link to one peer over a simple-peer instance (trickle ICE on, one reliable ordered data channel). */
export class SimplePeerLink extends TypedEventTarget<PeerLinkEvents> implements NegotiatingLink {
  readonly remotePeerId: string
  readonly opened: Promise<void>
  readonly #peer: SimplePeer.Instance
  readonly #internals: SimplePeerInternals
  readonly #clock: Clock
  readonly #highWaterBytes: number
  readonly #lowWaterBytes: number
  /**
   * At least what the channel has queued: its last reading plus every byte sent since (the queue only
   * shrinks between sends). `send()` reads `bufferedAmount` only once this passes the high-water mark:
   * @roamhq/wrtc answers each read by a blocking call to WebRTC's own thread, and reading it after every
   * frame took ~10% of a CLI seeder's main thread (bench/cli profile, issue 11).
   */
  #queuedAtMost = 0
  #maxFrameBytes = MAX_FRAME_BYTES
  #channel: RTCDataChannel | null = null
  #destroyed = false
  #open = false
  #resolveOpened!: () => void
  #rejectOpened!: (error: Error) => void
  /** Sends waiting for the queue to drain: woken by `bufferedamountlow`, a poll, or rejected on close. */
  #drainWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>()
  #pollTimer: unknown = null
  #pollMs = BUFFER_POLL_MS
  /**
   * Frames that arrive before `opened` has resolved and a task has passed, held so that nobody misses them:
   * the other side may send as soon as its end opens, before this end's owner (the link manager's `link`
   * listeners) could attach. Null once frames go straight to listeners.
   */
  #early: Uint8Array[] | null = []
  // Read again, not assumed to be the threshold: a send may have come between the drop and this task.
  #onBufferedAmountLow = () => this.#wakeDrainWaiters(this.#channel?.bufferedAmount ?? 0)

  constructor(options: SimplePeerLinkOptions) {
    super()
    this.remotePeerId = options.remotePeerId
    this.#clock = options.clock ?? systemClock
    this.#highWaterBytes = options.highWaterBytes ?? HIGH_WATER_BYTES
    this.#lowWaterBytes = Math.floor(this.#highWaterBytes * LOW_WATER_FRACTION)
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    // Whoever awaits `opened` sees the rejection; nobody awaiting it must not be an unhandled rejection.
    this.opened.catch(() => {})

    this.#peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      // The shared IceServer is RTCIceServer's JSON shape (urls, username, credential).
      config: { iceServers: options.iceServers as RTCIceServer[] },
      wrtc: options.wrtc,
    })
    this.#internals = this.#peer as unknown as SimplePeerInternals
    // Take messages from the channel as they come: simple-peer would copy each into a Buffer and queue it
    // in its readable stream, whose scheduling is what makes its stream path slow in browsers.
    this.#internals._onChannelMessage = (event) => this.#onMessage(event)
    this.#peer.on('signal', (data) => {
      if (!this.#destroyed) options.sendSignal(data as unknown as Record<string, unknown>)
    })
    this.#peer.on('connect', () => this.#onConnect())
    this.#peer.on('error', (error: SimplePeerError) => this.destroy(linkError(error)))
    // The channel or connection closed without an error: the other side hung up.
    this.#peer.on('close', () => this.destroy())
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Whether the data channel is open. */
  get open(): boolean {
    return this.#open && !this.#destroyed
  }

  /** Largest frame the channel carries: its maxMessageSize, at most MAX_FRAME_BYTES. */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes
  }

  /** Bytes queued on the channel and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#channel?.bufferedAmount ?? 0
  }

  /** Feeds one signal (offer, answer or candidate) from the other peer. */
  signal(data: Record<string, unknown>): void {
    if (this.#destroyed) return
    try {
      this.#peer.signal(data as unknown as SimplePeer.SignalData)
    } catch (error) {
      this.destroy(linkError(error as SimplePeerError))
    }
  }

  async send(frame: Uint8Array): Promise<void> {
    if (!this.#open) await this.opened
    if (this.#destroyed) throw closedError()
    if (frame.byteLength > this.#maxFrameBytes) {
      // Over maxMessageSize the channel fails (Chromium) or silently closes (@roamhq/wrtc): refuse instead.
      throw new RangeError(`frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.#maxFrameBytes}`)
    }
    const channel = this.#channel!
    if (channel.readyState !== 'open') {
      // The other side closed and the close event is still on its way. Browsers would throw; @roamhq/wrtc
      // (the Node peer) crashes the process on a send to a channel closed under it.
      const closed = closedError()
      this.destroy(closed)
      throw closed
    }
    try {
      channel.send(frame as Uint8Array<ArrayBuffer>)
    } catch (error) {
      const failure = new SwarmError('INTERNAL', `data channel send failed: ${String(error)}`, {
        cause: error,
      })
      this.destroy(failure)
      throw failure
    }
    this.#queuedAtMost += frame.byteLength
    if (this.#queuedAtMost <= this.#highWaterBytes) return
    this.#queuedAtMost = channel.bufferedAmount
    // `bufferedamountlow` fires only when the queue crosses down to the threshold: wait only while above it.
    // A wake-up sets #queuedAtMost to what it saw (at most the threshold).
    while (this.#queuedAtMost > this.#highWaterBytes && !this.#destroyed) {
      await this.#drained()
    }
    if (this.#destroyed) throw closedError()
  }

  async connectionType(): Promise<ConnectionType> {
    const report = await this.#stats()
    return report ? connectionTypeFromStats(report) : 'unknown'
  }

  async remoteAddress(): Promise<string | undefined> {
    const report = await this.#stats()
    return report ? remoteAddressFromStats(report) : undefined
  }

  async #stats(): Promise<RTCStatsReport | undefined> {
    const pc = this.#internals._pc
    if (!this.#open || this.#destroyed || !pc) return undefined
    try {
      return await pc.getStats()
    } catch {
      return undefined
    }
  }

  destroy(error?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#open = false
    if (this.#pollTimer !== null) this.#clock.clearTimeout(this.#pollTimer)
    this.#pollTimer = null
    this.#channel?.removeEventListener('bufferedamountlow', this.#onBufferedAmountLow)
    this.#channel = null
    this.#early = null
    const reason = error ?? closedError()
    for (const waiter of this.#drainWaiters) waiter.reject(reason)
    this.#drainWaiters.clear()
    this.#rejectOpened(reason)
    // simple-peer emits `error` and `close` once more as it tears down; they land on our guard above.
    this.#peer.destroy()
    this.emit('close', error ? { error } : {})
  }

  #onConnect(): void {
    if (this.#destroyed) return
    const channel = this.#internals._channel
    if (!channel) {
      this.destroy(new SwarmError('INTERNAL', 'simple-peer connected without a data channel'))
      return
    }
    this.#channel = channel
    const maxMessageSize = this.#internals._pc?.sctp?.maxMessageSize
    if (typeof maxMessageSize === 'number' && maxMessageSize > 0) {
      this.#maxFrameBytes = Math.min(maxMessageSize, MAX_FRAME_BYTES)
    }
    channel.bufferedAmountLowThreshold = this.#lowWaterBytes
    channel.addEventListener('bufferedamountlow', this.#onBufferedAmountLow)
    // Browsers define the handler attribute on RTCDataChannel.prototype; @roamhq/wrtc has no such event.
    this.#pollMs =
      'onbufferedamountlow' in Object.getPrototypeOf(channel) ? BUFFER_POLL_MS : BUFFER_POLL_NO_EVENT_MS
    this.#open = true
    this.#resolveOpened()
    this.#clock.setTimeout(() => {
      const early = this.#early ?? []
      this.#early = null
      for (const frame of early) {
        if (this.#destroyed) return
        this.emit('frame', frame)
      }
    }, 0)
  }

  #onMessage(event: MessageEvent): void {
    if (this.#destroyed) return
    const data: unknown = event.data
    // simple-peer sets binaryType 'arraybuffer'. Text (or anything else) is not part of the wire protocol.
    let frame: Uint8Array
    if (data instanceof ArrayBuffer) frame = new Uint8Array(data)
    else if (ArrayBuffer.isView(data)) frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    else return
    if (this.#early) this.#early.push(frame)
    else this.emit('frame', frame)
  }

  /** Resolves at the next `bufferedamountlow` or poll that finds the queue drained to the threshold. */
  #drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#drainWaiters.add({ resolve, reject })
      this.#schedulePoll()
    })
  }

  #schedulePoll(): void {
    if (this.#pollTimer !== null || this.#destroyed) return
    this.#pollTimer = this.#clock.setTimeout(() => {
      this.#pollTimer = null
      const channel = this.#channel
      if (!channel || this.#drainWaiters.size === 0) return
      const queued = channel.bufferedAmount // one read a poll: the threshold is ours, not read back
      if (queued <= this.#lowWaterBytes) this.#wakeDrainWaiters(queued)
      else this.#schedulePoll()
    }, this.#pollMs)
  }

  /** Wakes the waiting sends; `queued` is the queue depth just seen. */
  #wakeDrainWaiters(queued: number): void {
    this.#queuedAtMost = queued
    const waiters = [...this.#drainWaiters]
    this.#drainWaiters.clear()
    for (const waiter of waiters) waiter.resolve()
  }
}

/** A factory for LinkManager's `createLink`, with a WebRTC implementation for Node (`@roamhq/wrtc`). */
export function simplePeerLinkFactory(
  extra: Omit<SimplePeerLinkOptions, keyof LinkOptions> = {},
): (options: LinkOptions) => SimplePeerLink {
  return (options) => new SimplePeerLink({ ...options, ...extra })
}

/**
 * The close error for a simple-peer error, keeping simple-peer's code (`ERR_ICE_CONNECTION_FAILURE`, …) in
 * the message and the original as `cause`. Connection losses map to PEER_UNREACHABLE, a bad remote
 * description or candidate to BAD_MESSAGE, the browser's refusal to build another RTCPeerConnection to
 * LINK_BUDGET_SPENT, anything else to INTERNAL.
 */
export function linkError(error: SimplePeerError): SwarmError {
  if (error instanceof SwarmError) return error
  const code = typeof error?.code === 'string' ? error.code : 'ERR_UNKNOWN'
  const message = `${code}: ${error?.message ?? String(error)}`
  switch (code) {
    case 'ERR_CONNECTION_FAILURE':
    case 'ERR_ICE_CONNECTION_FAILURE':
    case 'ERR_ICE_CONNECTION_CLOSED':
    case 'ERR_DATA_CHANNEL':
      return new SwarmError('PEER_UNREACHABLE', message, { cause: error })
    case 'ERR_PC_CONSTRUCTOR':
      // Chromium past ~500 RTCPeerConnections in a tab's life (peer-connection-limit.ts).
      return peerConnectionRefusal(error) ?? new SwarmError('INTERNAL', message, { cause: error })
    case 'ERR_SIGNALING':
    case 'ERR_SET_REMOTE_DESCRIPTION':
    case 'ERR_ADD_ICE_CANDIDATE':
      return new SwarmError('BAD_MESSAGE', message, { cause: error })
    default:
      return new SwarmError('INTERNAL', message, { cause: error })
  }
}

/**
 * How the selected candidate pair reaches the peer: both ends host candidates → direct; either end relayed
 * (TURN) → relayed; server- or peer-reflexive → hole-punched.
 */
export function connectionTypeFromStats(report: RTCStatsReport): ConnectionType {
  const selected = selectedPair(report)
  if (!selected) return 'unknown'
  const local = selected.local?.candidateType
  const remote = selected.remote?.candidateType
  if (typeof local !== 'string' || typeof remote !== 'string') return 'unknown'
  if (local === 'relay' || remote === 'relay') return 'relayed'
  if (local === 'host' && remote === 'host') return 'direct'
  return 'hole-punched'
}

/** The remote address of the selected candidate pair (`address`, or `ip` in older browsers). */
export function remoteAddressFromStats(report: RTCStatsReport): string | undefined {
  const remote = selectedPair(report)?.remote
  const address = remote?.address ?? remote?.ip
  return typeof address === 'string' && address.length > 0 ? address : undefined
}

type Stats = Record<string, unknown>

/** The selected candidate pair and its two candidates' stats. */
function selectedPair(report: RTCStatsReport): { local?: Stats; remote?: Stats } | undefined {
  const stats = new Map<string, Stats>()
  report.forEach((value: Stats, key: string) => {
    stats.set(key, value)
  })
  let pair: Record<string, unknown> | undefined
  for (const entry of stats.values()) {
    if (entry.type === 'transport' && typeof entry.selectedCandidatePairId === 'string') {
      pair = stats.get(entry.selectedCandidatePairId)
      if (pair) break
    }
  }
  if (!pair) {
    // Firefox reports no transport stats: it marks the pair itself.
    for (const entry of stats.values()) {
      if (entry.type === 'candidate-pair' && (entry.selected === true || entry.nominated === true)) {
        if (entry.state === 'succeeded') {
          pair = entry
          break
        }
      }
    }
  }
  if (!pair) return undefined
  const local = stats.get(String(pair.localCandidateId))
  const remote = stats.get(String(pair.remoteCandidateId))
  return { ...(local ? { local } : {}), ...(remote ? { remote } : {}) }
}

function closedError(): SwarmError {
  return new SwarmError('CANCELLED', 'the link is closed')
}
