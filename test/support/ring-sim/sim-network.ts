/**
 * The simulator's network: in-memory links between simulated peers, with what WebRTC data channels cost
 * in browsers (DHT.md §2) — a one-way latency per link (lognormal around 25 ms), ordered delivery, a
 * little loss, a connection that takes about a second to open and fails one time in ten, the tab's cap of
 * 32 links, the frame router's per-peer budget, and a crashed peer that goes silent (its links are
 * reported closed only when ICE consent expires, 30 s later). Each peer gets a RingTransport of its own.
 *
 * It counts what the acceptance list asks about: bytes each peer sends and receives, by kind of traffic,
 * and the connections (RTCPeerConnections) each peer creates, failed ones included.
 */
import { SwarmError } from '../../../shared/errors.js'
import { RING_LINK_BUDGET } from '../../../web/peer/ring/ring-options.js'
import type { RingLinkHandler, RingTransport } from '../../../web/peer/ring/ring-transport.js'
import type { Prng } from './prng.js'
import type { SimClock } from './sim-clock.js'

export interface SimNetworkOptions {
  /** Median one-way latency of a link; each link draws its own. Default 25 ms (DHT.md). */
  latencyMs?: number
  /** Sigma of the links' lognormal latency. Default 0.5 (half the links within 18–35 ms). */
  latencySigma?: number
  /** Share of frames lost in transit. Default 0.001 (data channels are reliable; this is a lost link's tail). */
  loss?: number
  /** Median time to open a link. Default 1 s (DHT.md §2: hole punching through signalling). */
  dialMs?: number
  /** Share of dials that fail. Default 0.1. */
  dialFailure?: number
  /** A failing dial is reported after this many times its cost (ICE gives up late). Default 3. */
  dialFailureFactor?: number
  /** Links a peer may hold. Default 32 (the tab's cap, SPEC §5). */
  maxLinks?: number
  /** A crashed peer's links are reported closed after this long. Default 30 s (ICE consent freshness, RFC 7675). */
  deadLinkMs?: number
  /** A link neither side claims closes after this long. Default 60 s, as the swarm's idle sweep (IDLE_SESSION_MS). */
  idleCloseMs?: number
  /** Per-peer frame budget at the receiver (the frame router's). Default RING_LINK_BUDGET. */
  budget?: { framesPerSecond: number; burst: number }
}

/** Kinds of traffic the counters keep apart: the ring's upkeep, lookups and records. */
export type TrafficKind = 'maintenance' | 'records'

export interface PeerCounters {
  bytesSent: number
  bytesReceived: number
  framesSent: number
  sentByKind: Record<TrafficKind, number>
  /** RTCPeerConnections this peer created: each dial it made or answered, failed ones included. */
  connectionsCreated: number
  /** Frames the budget dropped at this peer's end. */
  overBudget: number
}

interface SimLink {
  readonly a: string
  readonly b: string
  readonly latencyMs: number
  /** When the last frame each way is due, so delivery keeps order. */
  lastDue: Map<string, number>
  claims: Set<string>
  open: boolean
  idleTimer: unknown
}

interface Peer {
  readonly peerId: string
  alive: boolean
  handler: RingLinkHandler | null
  readonly links: Map<string, SimLink>
  readonly counters: PeerCounters
  readonly buckets: Map<string, { tokens: number; atMs: number }>
}

/** The ring's frame kind byte, counted with each payload as the router sends it. */
const KIND_BYTE = 1

export class SimNetwork {
  readonly #clock: SimClock
  readonly #random: Prng
  readonly #options: Required<SimNetworkOptions>
  readonly #peers = new Map<string, Peer>()
  /**
   * Sees every frame a live peer puts on an open link (before loss), for diagnosis (diagnose.ts); it must
   * not draw from the simulation's random numbers, so a tapped run is the same run.
   */
  tap: ((from: string, to: string, payload: Uint8Array) => void) | null = null
  /** Close reports on their way, by "peer>remote". */
  readonly #closing = new Map<string, { timer: unknown; report: () => void }>()

  constructor(clock: SimClock, random: Prng, options: SimNetworkOptions = {}) {
    this.#clock = clock
    this.#random = random
    this.#options = {
      latencyMs: 25,
      latencySigma: 0.5,
      loss: 0.001,
      dialMs: 1000,
      dialFailure: 0.1,
      dialFailureFactor: 3,
      maxLinks: 32,
      deadLinkMs: 30_000,
      idleCloseMs: 60_000,
      budget: RING_LINK_BUDGET,
      ...options,
    }
  }

  /** A new peer's transport. */
  transport(peerId: string): RingTransport {
    const peer: Peer = {
      peerId,
      alive: true,
      handler: null,
      links: new Map(),
      counters: {
        bytesSent: 0,
        bytesReceived: 0,
        framesSent: 0,
        sentByKind: { maintenance: 0, records: 0 },
        connectionsCreated: 0,
        overBudget: 0,
      },
      buckets: new Map(),
    }
    this.#peers.set(peerId, peer)
    return {
      attach: (handler) => {
        peer.handler = handler
        for (const remote of peer.links.keys()) handler.onLinkOpen(remote)
        return () => {
          if (peer.handler === handler) peer.handler = null
        }
      },
      send: (to, payload) => this.#send(peer, to, payload),
      dial: (to) => this.#dial(peer, to),
      claim: (to) => this.#claim(peer, to, true),
      release: (to) => this.#claim(peer, to, false),
      close: (to) => {
        const link = peer.links.get(to)
        if (link) this.#closeLink(link)
      },
    }
  }

  counters(peerId: string): PeerCounters | undefined {
    return this.#peers.get(peerId)?.counters
  }

  /** Open links of a peer. */
  linkCount(peerId: string): number {
    return this.#peers.get(peerId)?.links.size ?? 0
  }

  isAlive(peerId: string): boolean {
    return this.#peers.get(peerId)?.alive ?? false
  }

  /**
   * The peer crashes (a tab killed, a laptop lid closed): it sends and hears nothing from now on, and its
   * peers learn it only by their own timeouts, or when ICE consent expires.
   */
  crash(peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (!peer?.alive) return
    peer.alive = false
    peer.handler = null
    for (const link of [...peer.links.values()]) {
      this.#clock.setTimeout(
        () => this.#closeLink(link),
        this.#options.deadLinkMs * (0.5 + this.#random.next()),
      )
    }
  }

  /** The peer closes its tab: its links close at once at its end and a moment later at the other. */
  depart(peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (!peer?.alive) return
    for (const link of [...peer.links.values()]) this.#closeLink(link)
    peer.alive = false
    peer.handler = null
  }

  #send(peer: Peer, to: string, payload: Uint8Array): void {
    if (!peer.alive) return
    const link = peer.links.get(to)
    if (!link?.open) return
    this.tap?.(peer.peerId, to, payload)
    const bytes = payload.length + KIND_BYTE
    peer.counters.bytesSent += bytes
    peer.counters.framesSent++
    peer.counters.sentByKind[trafficKind(payload)] += bytes
    if (this.#random.next() < this.#options.loss) return
    const now = this.#clock.now()
    const due = Math.max(now + link.latencyMs * (0.9 + 0.2 * this.#random.next()), link.lastDue.get(to) ?? 0)
    link.lastDue.set(to, due)
    this.#clock.setTimeout(() => {
      const receiver = this.#peers.get(to)
      if (!link.open || !receiver?.alive || receiver.links.get(peer.peerId) !== link) return
      receiver.counters.bytesReceived += bytes
      if (!this.#withinBudget(receiver, peer.peerId)) {
        receiver.counters.overBudget++
        return
      }
      receiver.handler?.onFrame(peer.peerId, payload)
    }, due - now)
  }

  #withinBudget(receiver: Peer, from: string): boolean {
    const { framesPerSecond, burst } = this.#options.budget
    const now = this.#clock.now()
    const bucket = receiver.buckets.get(from) ?? { tokens: burst, atMs: now }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.atMs) / 1000) * framesPerSecond)
    bucket.atMs = now
    receiver.buckets.set(from, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  #dial(peer: Peer, to: string): Promise<void> {
    const existing = peer.links.get(to)
    if (existing?.open) {
      this.#claim(peer, to, true)
      return Promise.resolve()
    }
    const target = this.#peers.get(to)
    peer.counters.connectionsCreated++
    if (target?.alive) target.counters.connectionsCreated++
    const cost = this.#random.lognormal(this.#options.dialMs, 0.3)
    const fails = this.#random.next() < this.#options.dialFailure
    return new Promise((resolve, reject) => {
      const failAfter = (delay: number) =>
        this.#clock.setTimeout(() => reject(new SwarmError('PEER_UNREACHABLE', `no link to ${to}`)), delay)
      if (!target || to === peer.peerId || fails)
        return void failAfter(cost * this.#options.dialFailureFactor)
      this.#clock.setTimeout(() => {
        if (!peer.alive) return reject(new SwarmError('CANCELLED', 'the peer is gone'))
        const open = peer.links.get(to)
        if (open?.open) {
          this.#claim(peer, to, true)
          return resolve()
        }
        if (
          !target.alive ||
          peer.links.size >= this.#options.maxLinks ||
          target.links.size >= this.#options.maxLinks
        ) {
          return void failAfter(cost * (this.#options.dialFailureFactor - 1))
        }
        const link: SimLink = {
          a: peer.peerId,
          b: to,
          latencyMs: this.#random.lognormal(this.#options.latencyMs, this.#options.latencySigma),
          lastDue: new Map(),
          claims: new Set([peer.peerId]),
          open: true,
          idleTimer: null,
        }
        for (const key of [`${peer.peerId}>${to}`, `${to}>${peer.peerId}`]) {
          const closing = this.#closing.get(key)
          if (!closing) continue
          this.#clock.clearTimeout(closing.timer)
          closing.report()
        }
        peer.links.set(to, link)
        target.links.set(peer.peerId, link)
        peer.handler?.onLinkOpen(to)
        target.handler?.onLinkOpen(peer.peerId)
        resolve()
      }, cost)
    })
  }

  #claim(peer: Peer, to: string, claimed: boolean): void {
    const link = peer.links.get(to)
    if (!link?.open) return
    if (claimed) link.claims.add(peer.peerId)
    else link.claims.delete(peer.peerId)
    if (link.claims.size > 0) {
      if (link.idleTimer !== null) this.#clock.clearTimeout(link.idleTimer)
      link.idleTimer = null
    } else if (link.idleTimer === null) {
      link.idleTimer = this.#clock.setTimeout(() => {
        link.idleTimer = null
        if (link.claims.size === 0) this.#closeLink(link)
      }, this.#options.idleCloseMs)
    }
  }

  #closeLink(link: SimLink): void {
    if (!link.open) return
    link.open = false
    if (link.idleTimer !== null) this.#clock.clearTimeout(link.idleTimer)
    for (const [end, other] of [
      [link.a, link.b],
      [link.b, link.a],
    ] as const) {
      const peer = this.#peers.get(end)
      if (!peer || peer.links.get(other) !== link) continue
      peer.links.delete(other)
      // The far end hears of the close after the link's latency, as a data channel's close travels; a new
      // link between the two is reported only after that (the link layer keeps one link per pair).
      if (!peer.alive) continue
      const key = `${end}>${other}`
      const report = () => {
        this.#closing.delete(key)
        peer.handler?.onLinkClose(other)
      }
      this.#closing.set(key, { timer: this.#clock.setTimeout(report, link.latencyMs), report })
    }
  }
}

/**
 * Upkeep (hello, ping, stabilise, notify, leave, and routed `find`s for joins and fingers) or records
 * (routed get and put, their answers, replica pushes). Reads the type byte and, for routed messages, the
 * operation's byte at its fixed offset (shared/ring-protocol.ts).
 */
export function trafficKind(payload: Uint8Array): TrafficKind {
  const type = payload[0]
  if (type === 9) return payload[1 + 4 + 32 + 32 + 4] === 1 ? 'maintenance' : 'records'
  if (type === 10) return payload[1 + 4 + 1 + 32] === 1 ? 'maintenance' : 'records'
  if (type === 11) return 'records'
  return 'maintenance'
}
