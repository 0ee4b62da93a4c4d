/**
 * The peer links of one tab: exactly one per pair of peers (SPEC §5), set up through a Signaller (the
 * tracker today, an overlay later: SPEC §9), capped, timed out, torn down once.
 *
 * Signals between two link managers are small JSON objects, each carrying the `sid` of the attempt it
 * belongs to (chosen by the offerer), so that signals of an abandoned attempt never reach its successor:
 *   {type: 'offer' | 'answer', sid, sdp}
 *   {type: 'candidate', sid, candidate: {candidate, sdpMLineIndex, sdpMid}}
 *   {type: 'decline', sid, reason: 'busy'}    the answerer will not build a connection (at its cap;
 *                                             reason 'error' when it could not build one)
 *
 * Glare (both peers connect to each other at once): the peer whose id sorts first stays the offerer and
 * ignores the other's offer; the other drops its own attempt and answers. Both end with one link, and a
 * `connect()` on either side resolves with it.
 *
 * The manager watches the candidates in the signals of each attempt (trickled ones, and `a=candidate:`
 * lines of an offer or answer), so that a link that never opens is reported with the reason ICE suggests:
 * NAT_BLOCKED, UDP_BLOCKED or PEER_UNREACHABLE (ice-diagnosis.ts). This works with any link factory.
 */
import { z } from 'zod'
import { assertNever } from '../../shared/assert-never.js'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { type Clock, systemClock } from './clock.js'
import {
  type CandidateType,
  candidateLinesOf,
  candidateTypeOf,
  explainUnreachable,
  hasServerBeyondLan,
  hasTurn,
  isPublicHostCandidate,
} from './ice-diagnosis.js'
import type { PeerLink, Signaller } from './peer-link.js'
import { SimplePeerLink } from './simple-peer-link.js'
import { TypedEventTarget } from './typed-events.js'

/**
 * Peer connections per tab (SPEC §5). Each RTCPeerConnection costs a few MiB and a DTLS/SCTP stack; a
 * download keeps a few sources busy and a seeder a few upload slots, so 32 leaves room for both.
 */
export const MAX_LINKS = 32
/**
 * How long a link may take from its first signal to an open data channel. Loopback opens in ~13 ms and a
 * hole-punched or TURN path in a second or two (SPEC §8); after 15 s the peer is treated as unreachable and
 * the caller moves on to other sources.
 */
export const CONNECT_TIMEOUT_MS = 15_000
/** Longest SDP accepted in a signal: a trickle-ICE SDP is ~1 KiB; the tracker relays at most 64 KiB anyway. */
const MAX_SDP_CHARS = 64 * 1024
/** Longest ICE candidate line accepted: real ones are ~100–200 characters. */
const MAX_CANDIDATE_CHARS = 1024

/** What a link factory is given for each link. */
export interface LinkOptions {
  /** Whether this side makes the offer. */
  initiator: boolean
  remotePeerId: string
  /** From the tracker's welcome (SPEC §6). */
  iceServers: RTCIceServer[]
  /** Sends one signal of this link to the other peer. */
  sendSignal(data: Record<string, unknown>): void
}

/** A PeerLink still being negotiated: it takes the other side's signals and says when it is open. */
export interface NegotiatingLink extends PeerLink {
  /** Feeds one signal from the other peer: `{type: 'offer' | 'answer', sdp}` or `{type: 'candidate', candidate}`. */
  signal(data: Record<string, unknown>): void
  /** Resolves once frames can flow; rejects if the link closes first. */
  readonly opened: Promise<void>
}

export type LinkFactory = (options: LinkOptions) => NegotiatingLink

export type LinkManagerEvents = {
  /** A link opened (either side offered). Attach to its `frame` events here. */
  link: PeerLink
  /** A link that was announced by `link` closed. */
  'link-closed': { peerId: string; error?: Error }
  /** This manager declined another peer's offer (at its cap) without building a connection for it. */
  declined: { peerId: string; reason: string }
}

export interface LinkManagerOptions {
  /** This peer's id, from the tracker's welcome. */
  peerId: string
  signaller: Signaller
  /** From the tracker's welcome; default none (host candidates only). */
  iceServers?: RTCIceServer[]
  /** Default: SimplePeerLink (browsers' own WebRTC). Node passes one with `@roamhq/wrtc`. */
  createLink?: LinkFactory
  /** Default: the system clock. */
  clock?: Clock
  /** Links open or being set up at once; default MAX_LINKS (32). */
  maxLinks?: number
  /** Default CONNECT_TIMEOUT_MS (15 s). */
  connectTimeoutMs?: number
}

const SidSchema = z.string().min(1).max(64)
const SdpSchema = z.string().min(1).max(MAX_SDP_CHARS)
/** Signals come from other peers through the tracker: untrusted. Unknown fields are dropped. */
const LinkSignalSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('offer'), sid: SidSchema, sdp: SdpSchema }),
  z.object({ type: z.literal('answer'), sid: SidSchema, sdp: SdpSchema }),
  z.object({
    type: z.literal('candidate'),
    sid: SidSchema,
    candidate: z.object({
      candidate: z.string().max(MAX_CANDIDATE_CHARS),
      sdpMLineIndex: z.number().int().min(0).max(0xffff).nullable().optional(),
      sdpMid: z.string().max(64).nullable().optional(),
    }),
  }),
  z.object({ type: z.literal('decline'), sid: SidSchema, reason: z.string().max(64) }),
])
type LinkSignal = z.infer<typeof LinkSignalSchema>
type LinkSignalOf<K extends LinkSignal['type']> = Extract<LinkSignal, { type: K }>

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: Error): void
}

/** One attempt at (and then the life of) the link with one peer. */
interface Entry {
  readonly peerId: string
  readonly sid: string
  readonly initiator: boolean
  readonly waiter: Deferred<PeerLink>
  link: NegotiatingLink | null
  open: boolean
  /** The initiator took its answer; a second one would make the RTCPeerConnection fail. */
  answered: boolean
  timer: unknown
  offClose: () => void
  /** Whether the ICE servers this attempt was built with include TURN, and any server at all. */
  readonly turnConfigured: boolean
  readonly serversConfigured: boolean
  /** Types of the candidates this side sent, and of those the other side sent: evidence if it fails. */
  readonly localTypes: Set<CandidateType>
  readonly remoteTypes: Set<CandidateType>
  /** This side sent a host candidate with a public address (it needs no server-reflexive one). */
  localPublicHost: boolean
}

export class LinkManager extends TypedEventTarget<LinkManagerEvents> {
  readonly #signaller: Signaller
  readonly #createLink: LinkFactory
  readonly #clock: Clock
  readonly #maxLinks: number
  readonly #connectTimeoutMs: number
  readonly #entries = new Map<string, Entry>()
  readonly #offSignal: () => void
  readonly #offUndeliverable: () => void
  #peerId: string
  #iceServers: RTCIceServer[]
  #destroyed = false

  constructor(options: LinkManagerOptions) {
    super()
    this.#peerId = options.peerId
    this.#signaller = options.signaller
    this.#iceServers = options.iceServers ?? []
    this.#createLink = options.createLink ?? ((linkOptions) => new SimplePeerLink(linkOptions))
    this.#clock = options.clock ?? systemClock
    this.#maxLinks = options.maxLinks ?? MAX_LINKS
    this.#connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
    this.#offSignal = this.#signaller.onSignal((from, data) => this.#onSignal(from, data))
    this.#offUndeliverable =
      this.#signaller.onUndeliverable?.((to, code) => this.#onUndeliverable(to, code)) ?? (() => {})
  }

  get peerId(): string {
    return this.#peerId
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Open links. */
  get links(): PeerLink[] {
    return [...this.#entries.values()].filter((e) => e.open && e.link).map((e) => e.link!)
  }

  /** Links open or being set up: what counts against the cap. */
  get linkCount(): number {
    return this.#entries.size
  }

  /** The open link with a peer, if any. */
  get(peerId: string): PeerLink | undefined {
    const entry = this.#entries.get(peerId)
    return entry?.open ? (entry.link ?? undefined) : undefined
  }

  /** After a reconnect to the tracker: the new welcome's peer id. Links already open stay. */
  setPeerId(peerId: string): void {
    this.#peerId = peerId
  }

  /**
   * After a reconnect to the tracker, or the tracker's `ice-servers` refresh: the new ICE servers (fresh TURN
   * credentials), for new links. Links already open keep theirs.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers
  }

  /**
   * The link with `peerId`: the open one, the one being set up, or a new one with this side offering.
   * Rejects with PEER_BUSY when this side or the other is at its cap, PEER_NOT_FOUND when the other could
   * not build a link or the signaller reports it gone (it left the tracker: at once, not after the connect
   * timeout), SELF_SIGNAL for our own id, CANCELLED after `destroy()`. A link that does not open
   * within the connect timeout, or fails to connect, rejects with NAT_BLOCKED, UDP_BLOCKED or
   * PEER_UNREACHABLE according to the candidates seen (ice-diagnosis.ts).
   */
  connect(peerId: string): Promise<PeerLink> {
    if (this.#destroyed) return Promise.reject(new SwarmError('CANCELLED', 'the link manager is destroyed'))
    if (peerId === this.#peerId)
      return Promise.reject(new SwarmError('SELF_SIGNAL', 'cannot link to oneself'))
    const existing = this.#entries.get(peerId)
    if (existing) return existing.waiter.promise
    if (this.#entries.size >= this.#maxLinks) {
      return Promise.reject(new SwarmError('PEER_BUSY', `already ${this.#entries.size} links, the cap`))
    }
    return this.#start(peerId, newSid(), true, deferred()).waiter.promise
  }

  /** Closes every link and stops listening for signals, once. Nothing is emitted afterwards. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#offSignal()
    this.#offUndeliverable()
    const entries = [...this.#entries.values()]
    this.#entries.clear()
    for (const entry of entries) {
      this.#detach(entry)
      entry.waiter.reject(new SwarmError('CANCELLED', 'the link manager is destroyed'))
      entry.link?.destroy()
    }
  }

  #start(peerId: string, sid: string, initiator: boolean, waiter: Deferred<PeerLink>): Entry {
    const entry: Entry = {
      peerId,
      sid,
      initiator,
      waiter,
      link: null,
      open: false,
      answered: false,
      timer: null,
      offClose: () => {},
      turnConfigured: hasTurn(this.#iceServers),
      serversConfigured: hasServerBeyondLan(this.#iceServers),
      localTypes: new Set(),
      remoteTypes: new Set(),
      localPublicHost: false,
    }
    this.#entries.set(peerId, entry)
    let link: NegotiatingLink
    try {
      link = this.#createLink({
        initiator,
        remotePeerId: peerId,
        iceServers: this.#iceServers,
        sendSignal: (data) => this.#sendSignal(entry, data),
      })
    } catch (error) {
      // No WebRTC in this environment, or a bad ICE server configuration.
      this.#entries.delete(peerId)
      waiter.reject(
        new SwarmError('INTERNAL', `cannot create a peer link: ${String(error)}`, { cause: error }),
      )
      return entry
    }
    entry.link = link
    entry.offClose = link.on('close', ({ error }) => this.#onLinkClose(entry, error))
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = null
      if (!entry.open) {
        link.destroy(new SwarmError('PEER_UNREACHABLE', `not open after ${this.#connectTimeoutMs} ms`))
      }
    }, this.#connectTimeoutMs)
    link.opened.then(
      () => this.#onOpen(entry),
      () => {}, // the close handler reports it
    )
    return entry
  }

  #onOpen(entry: Entry): void {
    const link = entry.link
    if (this.#destroyed || this.#entries.get(entry.peerId) !== entry || !link || link.destroyed) return
    this.#clock.clearTimeout(entry.timer)
    entry.timer = null
    entry.open = true
    // Announce first, so the swarm attaches to frames before a `connect()` caller's continuation runs.
    this.emit('link', link)
    entry.waiter.resolve(link)
  }

  #onLinkClose(entry: Entry, error: Error | undefined): void {
    this.#detach(entry)
    if (this.#entries.get(entry.peerId) === entry) this.#entries.delete(entry.peerId)
    if (this.#destroyed) return
    if (entry.open) {
      this.emit('link-closed', error ? { peerId: entry.peerId, error } : { peerId: entry.peerId })
    } else if (error instanceof SwarmError && error.code !== 'PEER_UNREACHABLE') {
      entry.waiter.reject(error) // declined, cancelled, a bad signal: not a question of reachability
    } else {
      // The connect timeout, ICE failing, or the link closing unasked before it opened.
      entry.waiter.reject(
        explainUnreachable({
          localTypes: entry.localTypes,
          remoteTypes: entry.remoteTypes,
          turnConfigured: entry.turnConfigured,
          serversConfigured: entry.serversConfigured,
          localPublicHost: entry.localPublicHost,
          peerId: entry.peerId,
          reason: error?.message ?? 'the link closed before it opened',
          ...(error ? { cause: error } : {}),
        }),
      )
    }
  }

  /** Stops listening to an entry's link and clears its timer. */
  #detach(entry: Entry): void {
    entry.offClose()
    entry.offClose = () => {}
    if (entry.timer !== null) this.#clock.clearTimeout(entry.timer)
    entry.timer = null
  }

  #sendSignal(entry: Entry, data: Record<string, unknown>): void {
    if (this.#destroyed || this.#entries.get(entry.peerId) !== entry) return
    for (const line of candidateLinesIn(data)) {
      const type = candidateTypeOf(line)
      if (type) entry.localTypes.add(type)
      if (isPublicHostCandidate(line)) entry.localPublicHost = true
    }
    this.#signaller.send(entry.peerId, { ...data, sid: entry.sid })
  }

  /** Records the types of the candidates a signal from the other side carries, for the diagnosis. */
  #noteRemote(entry: Entry, data: Record<string, unknown>): void {
    for (const line of candidateLinesIn(data)) {
      const type = candidateTypeOf(line)
      if (type) entry.remoteTypes.add(type)
    }
  }

  #onSignal(from: string, data: Record<string, unknown>): void {
    if (this.#destroyed || typeof from !== 'string' || from === this.#peerId) return
    const parsed = LinkSignalSchema.safeParse(data)
    if (!parsed.success) return // not ours, or malformed: another peer's problem, never ours
    const signal = parsed.data
    const entry = this.#entries.get(from)
    switch (signal.type) {
      case 'offer':
        return this.#onOffer(from, signal, entry)
      case 'answer':
        if (entry?.link && entry.sid === signal.sid && entry.initiator && !entry.answered) {
          entry.answered = true
          this.#noteRemote(entry, signal)
          entry.link.signal({ type: 'answer', sdp: signal.sdp })
        }
        return
      case 'candidate':
        if (entry?.link && entry.sid === signal.sid) {
          const { candidate, sdpMLineIndex, sdpMid } = signal.candidate
          // RTCIceCandidate throws without either, which would fail the whole link: drop just the candidate.
          if (sdpMLineIndex == null && sdpMid == null) return
          this.#noteRemote(entry, signal)
          entry.link.signal({
            type: 'candidate',
            candidate: { candidate, sdpMLineIndex: sdpMLineIndex ?? null, sdpMid: sdpMid ?? null },
          })
        }
        return
      case 'decline':
        if (entry?.link && entry.sid === signal.sid && entry.initiator && !entry.open) {
          const code = signal.reason === 'busy' ? 'PEER_BUSY' : 'PEER_NOT_FOUND'
          entry.link.destroy(new SwarmError(code, `${from} declined the link: ${signal.reason}`))
        }
        return
      default:
        return assertNever(signal)
    }
  }

  /**
   * A signal to `to` did not reach it. When `to` has left the tracker, an attempt not open yet can never
   * open: it fails now rather than hold a link slot until the connect timeout. An open link is left alone
   * (its own close handling applies), and so are other codes, which lose one signal, not the peer.
   */
  #onUndeliverable(to: string, code: ErrorCode): void {
    if (this.#destroyed || code !== 'PEER_NOT_FOUND') return
    const entry = this.#entries.get(to)
    if (!entry?.link || entry.open) return
    entry.link.destroy(new SwarmError('PEER_NOT_FOUND', `${to} is not connected to the tracker (it left)`))
  }

  #onOffer(from: string, offer: LinkSignalOf<'offer'>, entry: Entry | undefined): void {
    let waiter = deferred<PeerLink>()
    if (entry) {
      if (entry.sid === offer.sid) return // a repeat of the offer being answered
      if (entry.initiator && !entry.open) {
        // Glare: the peer whose id sorts first keeps offering; the other side will answer it.
        if (this.#peerId < from) return
        waiter = entry.waiter
      } else if (!entry.open) {
        // The other side gave up on the attempt we were answering and started again.
        waiter = entry.waiter
      }
      // Otherwise the link is open here but the other side offers again: it has lost its end (closed, or
      // timed out before our side opened). Replace ours; `link-closed` then `link` tell the swarm.
      this.#entries.delete(from)
      this.#detach(entry)
      entry.link?.destroy()
      if (entry.open && !this.#destroyed) this.emit('link-closed', { peerId: from })
    } else if (this.#entries.size >= this.#maxLinks) {
      // Declined before any RTCPeerConnection is built (SPEC §5): the offerer stops waiting at once.
      this.#signaller.send(from, { type: 'decline', sid: offer.sid, reason: 'busy' })
      this.emit('declined', { peerId: from, reason: 'busy' })
      return
    }
    const answering = this.#start(from, offer.sid, false, waiter)
    this.#noteRemote(answering, offer)
    if (answering.link) answering.link.signal({ type: 'offer', sdp: offer.sdp })
    else this.#signaller.send(from, { type: 'decline', sid: offer.sid, reason: 'error' })
  }
}

/** The candidate lines a signal carries: a trickled candidate's, or the `a=candidate:` lines of an SDP. */
function candidateLinesIn(data: Record<string, unknown>): string[] {
  if (data.type === 'candidate') {
    const candidate = data.candidate
    if (typeof candidate === 'string') return [candidate]
    if (typeof candidate === 'object' && candidate !== null) {
      const line = (candidate as { candidate?: unknown }).candidate
      return typeof line === 'string' ? [line] : []
    }
    return []
  }
  if ((data.type === 'offer' || data.type === 'answer') && typeof data.sdp === 'string') {
    return candidateLinesOf(data.sdp)
  }
  return []
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // An incoming link nobody called connect() for must not become an unhandled rejection.
  promise.catch(() => {})
  return { promise, resolve, reject }
}

/** An attempt id: 64 random bits in hex. */
function newSid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
