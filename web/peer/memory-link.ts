/**
 * The in-memory twin of a WebRTC peer link, for fast tests of the swarm in Node (STYLE: interfaces with an
 * in-memory twin). A connected pair delivers frames asynchronously and in order, one per task as a data
 * channel does, counts what is queued undelivered as its `bufferedAmount`, and makes `send()` wait while
 * that is above the high-water mark. Faults (dropped frames, latency, a stalled receiver) are switched on
 * per direction.
 *
 * `MemoryLinkNetwork` goes one step further for tests of the link manager and the swarm together: links
 * that find their other end through real offer/answer signals over an in-memory Signaller.
 */
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { MAX_FRAME_BYTES } from '../../shared/wire-protocol.js'
import { type Clock, systemClock } from './clock.js'
import type {
  ConnectionType,
  LinkFactory,
  LinkOptions,
  NegotiatingLink,
  PeerLinkEvents,
  Signaller,
  SignalMeta,
} from './peer-link.js'
import { TypedEventTarget } from './typed-events.js'

/** The same default as a real link: 1 MiB (SPEC §8). */
export const MEMORY_HIGH_WATER_BYTES = 1024 * 1024
/** A waiting `send()` resumes once the queue has drained to this fraction of the high-water mark, as on a real link. */
const LOW_WATER_FRACTION = 0.5
const SDP_PREFIX = 'memory:'

export interface MemoryLinkOptions {
  /** Default MAX_FRAME_BYTES (256 KiB). */
  maxFrameBytes?: number
  /** Undelivered bytes above which `send()` waits; default MEMORY_HIGH_WATER_BYTES (1 MiB). */
  highWaterBytes?: number
  /** What `connectionType()` reports once open; default 'direct'. */
  connectionType?: ConnectionType
  /** What `remoteAddress()` reports once open; default undefined (unknown). */
  remoteAddress?: string
  /** Times delivery delays (`delayMs`); default the system clock. */
  clock?: Clock
}

/** Faults applied to the frames one end sends from now on. */
export interface MemoryLinkFaults {
  /** A frame for which this returns true vanishes in transit (it still leaves the sender's queue). */
  drop?: (frame: Uint8Array) => boolean
  /** Latency added to each frame, in ms of the link's clock; order is kept. */
  delayMs?: number
  /** While true nothing is delivered: the receiver is stalled, and the sender runs into backpressure. */
  paused?: boolean
}

/** Runs `callback` in a later task (not a microtask), as a network event would. */
const nextTask: (callback: () => void) => void =
  typeof setImmediate === 'function'
    ? (callback) => setImmediate(callback)
    : (callback) => setTimeout(callback, 0)

// Module-private access to MemoryLink's internals, for the pair and the network below.
let attachEnds: (a: MemoryLink, b: MemoryLink) => void
let openEnd: (link: MemoryLink) => void
let remoteOf: (link: MemoryLink) => MemoryLink | null

/** One end of an in-memory link. */
export class MemoryLink extends TypedEventTarget<PeerLinkEvents> implements NegotiatingLink {
  static {
    attachEnds = (a, b) => {
      a.#remote = b
      b.#remote = a
    }
    openEnd = (link) => link.#setOpen()
    remoteOf = (link) => link.#remote
  }

  readonly remotePeerId: string
  readonly maxFrameBytes: number
  readonly opened: Promise<void>
  readonly #highWaterBytes: number
  readonly #lowWaterBytes: number
  readonly #connectionType: ConnectionType
  readonly #remoteAddress: string | undefined
  readonly #clock: Clock
  readonly #onSignal: (data: Record<string, unknown>) => void
  #remote: MemoryLink | null = null
  #open = false
  /** Frames are delivered to this end only from a task after it opened, once its owner could listen. */
  #accepting = false
  #destroyed = false
  #faults: MemoryLinkFaults = {}
  /** Frames this end sent that the other end has not received yet. */
  #queue: { frame: Uint8Array; dueAt: number }[] = []
  #queuedBytes = 0
  #deliveryScheduled = false
  #timer: unknown = null
  #drainWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>()
  #resolveOpened!: () => void
  #rejectOpened!: (error: Error) => void

  /** Use `createMemoryLinkPair` or `MemoryLinkNetwork`; a lone end never opens. */
  constructor(
    remotePeerId: string,
    options: MemoryLinkOptions = {},
    onSignal: (data: Record<string, unknown>) => void = () => {},
  ) {
    super()
    this.remotePeerId = remotePeerId
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES
    this.#highWaterBytes = options.highWaterBytes ?? MEMORY_HIGH_WATER_BYTES
    this.#lowWaterBytes = Math.floor(this.#highWaterBytes * LOW_WATER_FRACTION)
    this.#connectionType = options.connectionType ?? 'direct'
    this.#remoteAddress = options.remoteAddress
    this.#clock = options.clock ?? systemClock
    this.#onSignal = onSignal
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    this.opened.catch(() => {})
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  get open(): boolean {
    return this.#open && !this.#destroyed
  }

  /** Bytes sent by this end and not yet delivered (or dropped) at the other. */
  get bufferedAmount(): number {
    return this.#queuedBytes
  }

  /** Faults for the frames this end sends from now on; `{}` clears them. */
  setFaults(faults: MemoryLinkFaults): void {
    this.#faults = { ...faults }
    this.#scheduleDelivery()
  }

  signal(data: Record<string, unknown>): void {
    if (!this.#destroyed) this.#onSignal(data)
  }

  async send(frame: Uint8Array): Promise<void> {
    if (!this.#open && !this.#destroyed) await this.opened
    if (this.#destroyed) throw closedError()
    if (frame.byteLength > this.maxFrameBytes) {
      throw new RangeError(`frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`)
    }
    const last = this.#queue.at(-1)?.dueAt ?? Number.NEGATIVE_INFINITY
    // A copy, as a channel takes one: the sender may reuse its buffer at once.
    this.#queue.push({
      frame: frame.slice(),
      dueAt: Math.max(this.#clock.now() + (this.#faults.delayMs ?? 0), last),
    })
    this.#queuedBytes += frame.byteLength
    this.#scheduleDelivery()
    while (this.#queuedBytes > this.#highWaterBytes && !this.#destroyed) {
      await new Promise<void>((resolve, reject) => this.#drainWaiters.add({ resolve, reject }))
    }
    if (this.#destroyed) throw closedError()
  }

  async connectionType(): Promise<ConnectionType> {
    return this.open ? this.#connectionType : 'unknown'
  }

  async remoteAddress(): Promise<string | undefined> {
    return this.open ? this.#remoteAddress : undefined
  }

  /** Closes this end at once and the other end in a later task (as a data channel's close reaches it). */
  destroy(error?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#open = false
    this.#accepting = false
    this.#queue = []
    this.#queuedBytes = 0
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
    const reason = error ?? closedError()
    for (const waiter of this.#drainWaiters) waiter.reject(reason)
    this.#drainWaiters.clear()
    this.#rejectOpened(reason)
    this.emit('close', error ? { error } : {})
    const remote = this.#remote
    if (remote && !remote.#destroyed) nextTask(() => remote.destroy())
  }

  #setOpen(): void {
    if (this.#destroyed || this.#open) return
    this.#open = true
    this.#resolveOpened()
    nextTask(() => {
      if (this.#destroyed) return
      this.#accepting = true
      const remote = this.#remote
      if (remote) remote.#scheduleDelivery()
    })
  }

  #scheduleDelivery(): void {
    if (this.#deliveryScheduled || this.#destroyed || this.#faults.paused) return
    const head = this.#queue[0]
    const remote = this.#remote
    if (!head || remote === null || !remote.#accepting) return
    this.#deliveryScheduled = true
    const waitMs = head.dueAt - this.#clock.now()
    if (waitMs > 0) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = null
        this.#deliverOne()
      }, waitMs)
    } else {
      nextTask(() => this.#deliverOne())
    }
  }

  #deliverOne(): void {
    this.#deliveryScheduled = false
    const remote = this.#remote
    if (this.#destroyed || this.#faults.paused || !remote || remote.#destroyed) return
    const head = this.#queue[0]
    if (!head) return
    if (head.dueAt > this.#clock.now()) {
      this.#scheduleDelivery()
      return
    }
    this.#queue.shift()
    this.#queuedBytes -= head.frame.byteLength
    if (this.#queuedBytes <= this.#lowWaterBytes) {
      const waiters = [...this.#drainWaiters]
      this.#drainWaiters.clear()
      for (const waiter of waiters) waiter.resolve()
    }
    if (!this.#faults.drop?.(head.frame)) remote.emit('frame', head.frame)
    this.#scheduleDelivery()
  }
}

/**
 * Two connected, open ends: the first is held by `peerA` (its `remotePeerId` is `peerB`), the second by
 * `peerB`. Frames start flowing a task after creation, so listeners attached at once miss nothing.
 */
export function createMemoryLinkPair(
  peerA: string,
  peerB: string,
  options: MemoryLinkOptions = {},
): [MemoryLink, MemoryLink] {
  const atA = new MemoryLink(peerB, options)
  const atB = new MemoryLink(peerA, options)
  attachEnds(atA, atB)
  openEnd(atA)
  openEnd(atB)
  return [atA, atB]
}

/**
 * Several peers in memory: a Signaller and a link factory for each, so that LinkManagers (and the swarm on
 * top of them) run their real offer/answer/decline exchange without a tracker or WebRTC. Signals are
 * delivered in order, each in a later task, as JSON copies.
 */
export class MemoryLinkNetwork {
  readonly #options: MemoryLinkOptions
  /** Per peer, options for the links whose other end it holds (e.g. the address it is seen at). */
  readonly #seenAs = new Map<string, MemoryLinkOptions>()
  readonly #listeners = new Map<
    string,
    Set<(from: string, data: Record<string, unknown>, meta?: SignalMeta) => void>
  >()
  /** Per peer, the origin its signals carry (as the tracker stamps them: SignalMeta), if any. */
  readonly #origins = new Map<string, string>()
  readonly #undeliverableListeners = new Map<string, Set<(to: string, code: ErrorCode) => void>>()
  /** Peers with a signaller that have not left: the peers "connected to the tracker". */
  readonly #present = new Set<string>()
  /** Initiator ends waiting for their answer, by the token their offer carries. */
  readonly #offers = new Map<string, MemoryLink>()
  readonly #created = new Map<string, number>()
  #nextToken = 0

  constructor(options: MemoryLinkOptions = {}) {
    this.#options = options
  }

  /**
   * The Signaller of `peerId`, which is present on the network from now until `leave(peerId)`. A signal to a
   * peer that is present but not listening is dropped, as the tracker relays it to a page that ignores it; one
   * to a peer never present, or gone, is reported undeliverable (`PEER_NOT_FOUND`), as the tracker does.
   * `origin`: the origin tag its signals carry, as the tracker stamps the address it connects from.
   */
  signaller(peerId: string, options: { origin?: string } = {}): Signaller {
    this.#present.add(peerId)
    if (options.origin !== undefined) this.#origins.set(peerId, options.origin)
    return {
      send: (to, data) => {
        const copy = JSON.parse(JSON.stringify(data)) as Record<string, unknown>
        nextTask(() => {
          if (!this.#present.has(to)) {
            const listeners = [...(this.#undeliverableListeners.get(peerId) ?? [])]
            for (const listener of listeners) listener(to, 'PEER_NOT_FOUND')
            return
          }
          const origin = this.#origins.get(peerId)
          const meta = origin === undefined ? {} : { origin }
          for (const listener of [...(this.#listeners.get(to) ?? [])]) listener(peerId, copy, meta)
        })
      },
      onSignal: (listener) => subscribe(this.#listeners, peerId, listener),
      onUndeliverable: (listener) => subscribe(this.#undeliverableListeners, peerId, listener),
    }
  }

  /** `peerId` leaves (its tracker connection closes): signals to it are undeliverable, it hears no more. */
  leave(peerId: string): void {
    this.#present.delete(peerId)
    this.#listeners.delete(peerId)
    this.#undeliverableListeners.delete(peerId)
  }

  /** The link factory of every peer on this network, for LinkManager's `createLink`. */
  readonly createLink: LinkFactory = (options) => {
    const peerId = options.localPeerId
    this.#created.set(peerId, this.createdBy(peerId) + 1)
    return options.initiator ? this.#offerer(peerId, options) : this.#answerer(options)
  }

  /**
   * How `peerId` is seen by the peers it links to from now on: e.g. `{remoteAddress: '198.51.100.7'}` makes
   * their ends of its links report that address, as the ICE-selected pair would.
   */
  seeAs(peerId: string, options: MemoryLinkOptions): void {
    this.#seenAs.set(peerId, options)
  }

  /** Links `peerId`'s factory has built: what would have been RTCPeerConnections. */
  createdBy(peerId: string): number {
    return this.#created.get(peerId) ?? 0
  }

  #offerer(peerId: string, options: LinkOptions): MemoryLink {
    const token = `${peerId}>${options.remotePeerId}#${++this.#nextToken}`
    const link = new MemoryLink(options.remotePeerId, this.#optionsFor(options.remotePeerId), (data) => {
      if (data.type === 'answer' && data.sdp === SDP_PREFIX + token && remoteOf(link)) openEnd(link)
    })
    this.#offers.set(token, link)
    link.on('close', () => this.#offers.delete(token))
    nextTask(() => {
      if (link.destroyed) return
      options.sendSignal({ type: 'offer', sdp: SDP_PREFIX + token })
      // One candidate, so that the candidate path is exercised too; the answerer ignores it.
      options.sendSignal({
        type: 'candidate',
        candidate: { candidate: 'candidate:memory', sdpMLineIndex: 0 },
      })
    })
    return link
  }

  /** Whether `token` is one this network's offerers made (open, answered or closed since). */
  #issued(token: string): boolean {
    const serial = Number(/#(\d+)$/.exec(token)?.[1] ?? 0)
    return serial > 0 && serial <= this.#nextToken
  }

  /** Options of a link whose other end `remotePeerId` holds. */
  #optionsFor(remotePeerId: string): MemoryLinkOptions {
    return { ...this.#options, ...this.#seenAs.get(remotePeerId) }
  }

  #answerer(options: LinkOptions): MemoryLink {
    const link: MemoryLink = new MemoryLink(
      options.remotePeerId,
      this.#optionsFor(options.remotePeerId),
      (data) => {
        if (data.type !== 'offer' || remoteOf(link)) return
        const token =
          typeof data.sdp === 'string' && data.sdp.startsWith(SDP_PREFIX)
            ? data.sdp.slice(SDP_PREFIX.length)
            : ''
        const offerer = this.#offers.get(token)
        if (!offerer || offerer.destroyed) {
          // An offer this network never made is garbage SDP: a real connection refuses it at once. One whose
          // offerer closed since (its peer shut down or restarted mid-attempt) is answered as a real one is,
          // and never opens: the answerer cannot tell, so its link manager's deadline, an undeliverable
          // answer or the peer's next knock ends the attempt, as with WebRTC.
          if (this.#issued(token)) options.sendSignal({ type: 'answer', sdp: SDP_PREFIX + token })
          else link.destroy(new SwarmError('BAD_MESSAGE', 'no such memory offer'))
          return
        }
        this.#offers.delete(token)
        attachEnds(offerer, link)
        openEnd(link)
        options.sendSignal({ type: 'answer', sdp: SDP_PREFIX + token })
      },
    )
    return link
  }
}

/** Adds a listener to the set kept for `key`; returns its removal. */
function subscribe<L>(sets: Map<string, Set<L>>, key: string, listener: L): () => void {
  let listeners = sets.get(key)
  if (!listeners) {
    listeners = new Set()
    sets.set(key, listeners)
  }
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function closedError(): SwarmError {
  return new SwarmError('CANCELLED', 'the link is closed')
}
