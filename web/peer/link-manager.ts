/**
 * The peer links of one tab: exactly one per pair of peers (SPEC §5), set up through a Signaller (the
 * tracker today, an overlay later: SPEC §9), capped, timed out, torn down once, and built only when worth
 * one of the tab's few RTCPeerConnections.
 *
 * Signals between two link managers are small JSON objects, each carrying the `sid` of the attempt it
 * belongs to (chosen by the dialler), so that signals of an abandoned attempt never reach its successor:
 *   {type: 'knock', sid}                      the dialler asks for a link; it has built nothing yet
 *   {type: 'accept', sid}                     the other side will link: only now does the dialler build
 *                                             its connection and send its offer
 *   {type: 'offer' | 'answer', sid, sdp}
 *   {type: 'candidate', sid, candidate: {candidate, sdpMLineIndex, sdpMid}}
 *   {type: 'decline', sid, reason}            the other side will not link: 'busy' (at its caps, or
 *                                             keeping its connections for its own downloads), 'refused'
 *                                             (it bans this peer), 'error' (it could not build one)
 * A browser refuses to build more than ~500 RTCPeerConnections in a tab's life (SPEC §8), so neither side
 * builds one before the signalling has shown the other is there and willing: the dialler after `accept`,
 * the answerer once the offer of an attempt it accepted has come with an ICE candidate (in the offer or
 * trickled after it: an offer with none can never connect). An offer with no knock before it (clients older
 * than the knock are refused at the tracker's signed hello; another implementation might) passes the same
 * checks first; one that would be declined is declined before anything is built.
 *
 * Glare (both peers dial each other at once): the peer whose id sorts first stays the dialler and ignores
 * the other's knock or offer; the other drops its own attempt and accepts. Both end with one link, and a
 * `connect()` on either side resolves with it.
 *
 * A hostile peer cannot hold the cap with attempts that never open (docs/PROTOCOL.md, "Links"): an attempt
 * takes a slot of the cap only once it has built a connection (attempts that have built nothing wait apart,
 * MAX_WAITING_ATTEMPTS of them); connections built and not open yet may take only a share of the cap
 * (`maxPending`); a new knock or offer from a peer whose
 * attempt is pending keeps that attempt's deadline (it does not re-arm the connect timeout); a peer whose
 * attempt failed to open is declined for a while (30 s, doubling to 10 min); an attempt that has heard
 * nothing from the other side for a while is stale, and gives way to a new one when the pending share is
 * full; connections built for other peers' attempts that never opened are budgeted for the tab, so no
 * number of peer ids can spend its RTCPeerConnections that way; and a dial for a download may close an
 * idle link (the swarm says which) to make room.
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
  candidateAddressOf,
  candidateLinesOf,
  candidateTypeOf,
  explainUnreachable,
  hasServerBeyondLan,
  hasTurn,
  isPublicHostCandidate,
} from './ice-diagnosis.js'
import { peerConnectionRefusal } from './peer-connection-limit.js'
import type { IceServer, LinkFactory, NegotiatingLink, PeerLink, Signaller } from './peer-link.js'
import type { SignalAuth, SignalProof, SignalVerdict } from './signal-auth.js'
import { TypedEventTarget } from './typed-events.js'

/**
 * Peer connections per tab (SPEC §5). Each RTCPeerConnection costs a few MiB and a DTLS/SCTP stack; a
 * download keeps a few sources busy and a seeder a few upload slots, so 32 leaves room for both.
 */
export const MAX_LINKS = 32
/**
 * Connections built and not open yet, out of MAX_LINKS: an honest attempt opens in milliseconds on a LAN
 * and a second or two through NAT (SPEC §8), so a quarter of the cap covers many at once, and attempts that
 * never open cannot hold the rest.
 */
export const MAX_PENDING_LINKS = 8
/**
 * Attempts that have built nothing yet (a knock accepted, an offer waiting for its first candidate). They
 * cost a few hundred bytes and no connection, and do not count against MAX_LINKS: offers that never open
 * (an attack seen: 34 offers without ICE candidates, re-offered every 5 s, held the whole cap) sit here,
 * and the quiet ones give way to new knocks when it is full.
 */
export const MAX_WAITING_ATTEMPTS = 64
/**
 * How long a link may take from its first signal to an open data channel. Loopback opens in ~13 ms and a
 * hole-punched or TURN path in a second or two (SPEC §8); after 15 s the peer is treated as unreachable and
 * the caller moves on to other sources.
 */
export const CONNECT_TIMEOUT_MS = 15_000
/**
 * After another peer's attempt failed to open (timed out, went stale, ICE failed), its next knock is
 * declined for this long, doubling with each further failure up to INCOMING_RETRY_MAX_MS: what kept it from
 * connecting rarely changes within seconds, and a peer that never completes cannot keep a slot by asking
 * again. A link that opens clears it.
 */
export const INCOMING_RETRY_MS = 30_000
export const INCOMING_RETRY_MAX_MS = 600_000
/**
 * RTCPeerConnections built for other peers' attempts that then never opened: at most 16 at once, then one
 * every 30 s. Honest attempts open and cost nothing here; without this bound, hostile peers minting ids
 * could spend the tab's lifetime budget (LINK_BUDGET) in minutes. While it is empty, other peers' knocks
 * are declined `busy`: they ask again later.
 */
export const FAILED_BUILDS_BURST = 16
export const FAILED_BUILD_REFILL_MS = 30_000
/**
 * Links closed for abuse (the swarm reports them: `noteAbusiveLink`): at most 16, then one every 15 s. A
 * flooder that comes back under fresh tracker ids (one address cannot be told from another on loopback, or
 * behind mDNS candidates) costs an RTCPeerConnection each time (~50 for 100,000 junk frames, measured), and
 * setting up and tearing down ~5 links a second kept the seeder's main thread from answering for up to
 * 2.9 s. Past this, other peers' knocks are declined `busy` until it refills: such churn can neither spend
 * the tab's lifetime budget (LINK_BUDGET) nor go on for long; new honest peers wait meanwhile.
 */
export const ABUSIVE_LINKS_BURST = 16
export const ABUSIVE_LINK_REFILL_MS = 15_000
/**
 * Links closed for abuse per network origin (the tracker's tag of the address a knock came from:
 * signal/origin-tag.ts): at most 4, then one a minute. Peer ids cost nothing to mint since they are keys
 * (SPEC §9), addresses do: a flooder that comes back under fresh ids from one address is declined `busy`
 * before anything is built once its address has used its share, while newcomers from other addresses are
 * taken as before (measured: docs/BENCHMARKS.md, "Hostile peers"). Four leaves room for a few broken
 * clients behind one NAT; one a minute is what one such client needs to come back after its ban.
 */
export const ORIGIN_ABUSIVE_LINKS_BURST = 4
export const ORIGIN_ABUSIVE_LINK_REFILL_MS = 60_000
/** Origins (and peers' origins) remembered at most, oldest forgotten first: a few dozen bytes each. */
const MAX_REMEMBERED_ORIGINS = 1024
/**
 * An attempt that has heard nothing from the other side for this long may be given up when the pending
 * share is full and another attempt needs its slot. An honest peer sends its host candidates within
 * milliseconds of its offer or answer; hostile offers carry none.
 */
export const STALE_PENDING_MS = 2_000
/**
 * RTCPeerConnections this tab may build in its life. Chromium refuses to construct more than ~500 in a
 * tab's lifetime, closed ones included (Chromium issue 41378764; js-libp2p #2591; SPEC §8), and does not
 * give them back. Firefox has no such limit, but one tab rarely needs more.
 */
export const LINK_BUDGET = 500
/**
 * The last RTCPeerConnections of the budget are kept for the downloads the user asks for: past
 * `LINK_BUDGET - LINK_BUDGET_RESERVE`, other peers' knocks are declined and optional dials refused.
 */
export const LINK_BUDGET_RESERVE = 50
/** Ends of another peer's attempt that are not its failure to connect: they start no retry wait. */
const NOT_THEIR_FAILURE: ReadonlySet<ErrorCode> = new Set([
  'PEER_NOT_FOUND',
  'CANCELLED',
  'PEER_BUSY',
  'PEER_BANNED',
  'LINK_BUDGET_LOW',
  'LINK_BUDGET_SPENT',
  'SIGNAL_FORGED', // the relay's doing, not the peer's
])
/**
 * Signals of one peer held while its offer or answer before them is checked (signal-auth.ts), so that they
 * are handled in the order sent: its trickled candidates, a dozen or so. Beyond, they are dropped.
 */
const MAX_HELD_SIGNALS = 64
/** Peers whose retry wait is remembered before the expired ones are swept out: a few KiB. */
const MAX_REMEMBERED_PEERS = 256
/** Longest SDP accepted in a signal: a trickle-ICE SDP is ~1 KiB; the tracker relays at most 64 KiB anyway. */
const MAX_SDP_CHARS = 64 * 1024
/** Longest ICE candidate line accepted: real ones are ~100–200 characters. */
const MAX_CANDIDATE_CHARS = 1024

/** How much of the tab's RTCPeerConnection budget is used. */
export interface LinkBudget {
  built: number
  budget: number
  /** ok; low: within the reserve, links only for downloads; spent: no more links. */
  state: 'ok' | 'low' | 'spent'
}

export type LinkManagerEvents = {
  /** A link opened (either side dialled). Attach to its `frame` events here. */
  link: PeerLink
  /** A link that was announced by `link` closed. */
  'link-closed': { peerId: string; error?: Error }
  /** This manager declined another peer's knock or offer without building a connection for it. */
  declined: { peerId: string; reason: DeclineReason }
  /** The RTCPeerConnection budget changed state (ok → low → spent). */
  budget: LinkBudget
  /**
   * An offer or answer came that its `from` did not sign for this peer (SIGNAL_FORGED: the relay forged or
   * altered it), or a true one taken before or signed too long ago (SIGNAL_REPLAYED: the relay replayed it).
   * Nothing was built for it; an attempt waiting for it failed.
   */
  forged: { peerId: string; error: SwarmError }
}

export type DeclineReason = 'busy' | 'refused' | 'error'

export interface ConnectOptions {
  /**
   * The link is for a download the user asked for (or its manifest): it may use the last of the link
   * budget, and when the tab is at its cap it may close an idle link or a stale attempt to make room.
   * Default false: an optional link (serving others, a protocol on the router).
   */
  forDownload?: boolean
}

export interface LinkManagerOptions {
  /** This peer's id, from the tracker's welcome. */
  peerId: string
  signaller: Signaller
  /**
   * Signs this peer's offers and answers and checks other peers' (signal-auth.ts `signedSignals(identity)`):
   * an offer or answer its `from` did not sign is refused before anything is built or fed with it.
   */
  signalAuth: SignalAuth
  /** Builds each link: SimplePeerLink in browsers (web/main.ts), @roamhq/wrtc in Node, memory in tests. */
  createLink: LinkFactory
  /** From the tracker's welcome; default none (host candidates only). */
  iceServers?: IceServer[]
  /** Default: the system clock. */
  clock?: Clock
  /** Links open or being set up at once; default MAX_LINKS (32). */
  maxLinks?: number
  /** Links being set up at once; default MAX_PENDING_LINKS (8). */
  maxPending?: number
  /** Default CONNECT_TIMEOUT_MS (15 s). */
  connectTimeoutMs?: number
  /** RTCPeerConnections this tab may build; default LINK_BUDGET (500). The Node peer passes Infinity. */
  linkBudget?: number
  /** Kept for downloads; default LINK_BUDGET_RESERVE (50), at most half the budget. */
  linkBudgetReserve?: number
  /** Links closed for abuse before other peers' knocks are declined; default ABUSIVE_LINKS_BURST (16). */
  abusiveLinksBurst?: number
  /**
   * Links closed for abuse per origin (the relay's tag of a peer's address) before knocks from that origin
   * are declined; default ORIGIN_ABUSIVE_LINKS_BURST (4).
   */
  abusiveLinksPerOrigin?: number
  /** Whether a peer is refused (banned, ban-list.ts): its knocks and offers are declined, dials to it fail. */
  refuses?(peerId: string): boolean
  /**
   * Whether an address is refused (banned by address): another peer's offer whose candidates show one is
   * declined before anything is built for it.
   */
  refusesAddress?(address: string): boolean
  /**
   * Peers whose open links may be closed to make room for a download's link, best candidates first (idle
   * ones nobody uses or claims: the swarm knows). Default none.
   */
  idleLinks?(): readonly string[]
}

const SidSchema = z.string().min(1).max(64)
const SdpSchema = z.string().min(1).max(MAX_SDP_CHARS)
/** Signals come from other peers through the tracker: untrusted. Unknown fields are dropped. */
const LinkSignalSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('knock'), sid: SidSchema }),
  z.object({ type: z.literal('accept'), sid: SidSchema }),
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
  readonly forDownload: boolean
  /** Built once the other side accepted (dialler) or its offer came with a candidate (answerer). */
  link: NegotiatingLink | null
  /** Answerer: the offer's SDP, held until a candidate shows the offerer gathered something. */
  offerSdp: string | null
  /** When the attempt fails if it has not opened. */
  readonly deadlineMs: number
  open: boolean
  ended: boolean
  /** The initiator took its answer; a second one would make the RTCPeerConnection fail. */
  answered: boolean
  timer: unknown
  offClose: () => void
  readonly startedAtMs: number
  /** When the other side last sent a signal of this attempt: an attempt quiet for long is stale. */
  heardAtMs: number
  /** Whether the ICE servers this attempt was built with include TURN, and any server at all. */
  readonly turnConfigured: boolean
  readonly serversConfigured: boolean
  /** Types of the candidates this side sent, and of those the other side sent: evidence if it fails. */
  readonly localTypes: Set<CandidateType>
  readonly remoteTypes: Set<CandidateType>
  /** This side sent a host candidate with a public address (it needs no server-reflexive one). */
  localPublicHost: boolean
  /**
   * Signals of this attempt on their way out, in order: an offer or answer waits for its signature, and what
   * this side sends after it waits behind it.
   */
  outbox: Promise<void>
  sending: number
}

/** Per remote peer whose attempt failed to open: how often in a row, and when it may try again. */
interface RetryWait {
  failures: number
  untilMs: number
}

export class LinkManager extends TypedEventTarget<LinkManagerEvents> {
  readonly #signaller: Signaller
  readonly #signalAuth: SignalAuth
  /** Peers whose offer or answer is being checked, with their signals that came after it. */
  readonly #held = new Map<string, Record<string, unknown>[]>()
  readonly #createLink: LinkFactory
  readonly #clock: Clock
  readonly #maxLinks: number
  readonly #maxPending: number
  readonly #connectTimeoutMs: number
  readonly #linkBudget: number
  readonly #reserve: number
  readonly #refuses: (peerId: string) => boolean
  readonly #refusesAddress: (address: string) => boolean
  readonly #idleLinks: () => readonly string[]
  readonly #entries = new Map<string, Entry>()
  readonly #retryWaits = new Map<string, RetryWait>()
  /** Per peer, the sid of its last attempt this side declined (its offer may follow its knock). */
  readonly #lastDeclined = new Map<string, string>()
  /** Connections built for other peers' attempts that never opened (FAILED_BUILDS_BURST). */
  readonly #failedBuilds: RefillingCount
  /** Links closed for abuse (ABUSIVE_LINKS_BURST). */
  readonly #abusiveLinks: RefillingCount
  /** The same per origin (ORIGIN_ABUSIVE_LINKS_BURST), oldest first; and each peer's origin, as last seen. */
  readonly #abusiveByOrigin = new Map<string, RefillingCount>()
  readonly #originOf = new Map<string, string>()
  readonly #abusiveLinksPerOrigin: number
  readonly #offSignal: () => void
  readonly #offUndeliverable: () => void
  #peerId: string
  #iceServers: IceServer[]
  #built = 0
  #budgetState: LinkBudget['state'] = 'ok'
  #destroyed = false

  constructor(options: LinkManagerOptions) {
    super()
    this.#peerId = options.peerId
    this.#signaller = options.signaller
    this.#signalAuth = options.signalAuth
    this.#iceServers = options.iceServers ?? []
    this.#createLink = options.createLink
    this.#clock = options.clock ?? systemClock
    this.#maxLinks = options.maxLinks ?? MAX_LINKS
    this.#maxPending = options.maxPending ?? MAX_PENDING_LINKS
    this.#connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
    this.#linkBudget = options.linkBudget ?? LINK_BUDGET
    this.#reserve = Math.min(
      options.linkBudgetReserve ?? LINK_BUDGET_RESERVE,
      Math.floor(this.#linkBudget / 2),
    )
    this.#refuses = options.refuses ?? (() => false)
    this.#refusesAddress = options.refusesAddress ?? (() => false)
    this.#idleLinks = options.idleLinks ?? (() => [])
    this.#failedBuilds = new RefillingCount(this.#clock, FAILED_BUILDS_BURST, FAILED_BUILD_REFILL_MS)
    this.#abusiveLinks = new RefillingCount(
      this.#clock,
      options.abusiveLinksBurst ?? ABUSIVE_LINKS_BURST,
      ABUSIVE_LINK_REFILL_MS,
    )
    this.#abusiveLinksPerOrigin = options.abusiveLinksPerOrigin ?? ORIGIN_ABUSIVE_LINKS_BURST
    this.#offSignal = this.#signaller.onSignal((from, data, meta) => {
      if (meta?.origin !== undefined) this.#noteOrigin(from, meta.origin)
      this.#onSignal(from, data)
    })
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

  /** Links open or being set up with a connection built: what counts against the cap. */
  get linkCount(): number {
    let count = 0
    for (const entry of this.#entries.values()) if (entry.link) count++
    return count
  }

  /** Connections built and not open yet: what counts against the pending share. */
  get pendingCount(): number {
    let count = 0
    for (const entry of this.#entries.values()) if (entry.link && !entry.open) count++
    return count
  }

  /** Attempts that have built nothing yet (knocks, offers waiting for a candidate). */
  get waitingCount(): number {
    let count = 0
    for (const entry of this.#entries.values()) if (!entry.link) count++
    return count
  }

  /** RTCPeerConnections built so far, out of the budget. */
  get budget(): LinkBudget {
    return { built: this.#built, budget: this.#linkBudget, state: this.#budgetState }
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
  setIceServers(iceServers: IceServer[]): void {
    this.#iceServers = iceServers
  }

  /**
   * The link with `peerId`: the open one, the one being set up, or a new one with this side dialling.
   * Rejects with PEER_BUSY when this side or the other is at its cap, PEER_BANNED when a ban stands between
   * the two, PEER_NOT_FOUND when the signaller reports the other gone (it left the tracker: at once, not
   * after the connect timeout), LINK_BUDGET_LOW or LINK_BUDGET_SPENT when this tab may build no more
   * RTCPeerConnections for it, SELF_SIGNAL for our own id, CANCELLED after `destroy()`. A link that does
   * not open within the connect timeout (less what the peer's earlier attempts used), or fails to connect,
   * rejects with NAT_BLOCKED, UDP_BLOCKED or PEER_UNREACHABLE according to the candidates seen
   * (ice-diagnosis.ts).
   */
  connect(peerId: string, options: ConnectOptions = {}): Promise<PeerLink> {
    if (this.#destroyed) return Promise.reject(new SwarmError('CANCELLED', 'the link manager is destroyed'))
    if (peerId === this.#peerId)
      return Promise.reject(new SwarmError('SELF_SIGNAL', 'cannot link to oneself'))
    const existing = this.#entries.get(peerId)
    if (existing) return existing.waiter.promise
    const forDownload = options.forDownload ?? false
    const refusal = this.#refusal(peerId, forDownload)
    if (refusal) return Promise.reject(refusal)
    const entry = this.#newEntry(peerId, newSid(), true, deferred(), forDownload)
    this.#signaller.send(peerId, { type: 'knock', sid: entry.sid })
    return entry.waiter.promise
  }

  /**
   * A link was closed for the other peer's abuse (the swarm's bans): one token of ABUSIVE_LINKS_BURST, and
   * one of its origin's ORIGIN_ABUSIVE_LINKS_BURST when its signals said where it came from. While none is
   * left, other peers' knocks are declined: every peer's, or those from that origin.
   */
  noteAbusiveLink(peerId?: string): void {
    this.#abusiveLinks.take()
    const origin = peerId === undefined ? undefined : this.#originOf.get(peerId)
    if (origin === undefined) return
    let count = this.#abusiveByOrigin.get(origin)
    if (count) this.#abusiveByOrigin.delete(origin) // re-inserted last: the order is the age of the abuse
    count ??= new RefillingCount(this.#clock, this.#abusiveLinksPerOrigin, ORIGIN_ABUSIVE_LINK_REFILL_MS)
    count.take()
    this.#abusiveByOrigin.set(origin, count)
    if (this.#abusiveByOrigin.size > MAX_REMEMBERED_ORIGINS) {
      // Origins whose count has refilled are no different from new ones; past that, the oldest abuse goes.
      for (const [key, left] of this.#abusiveByOrigin) {
        if (left.left() >= this.#abusiveLinksPerOrigin) this.#abusiveByOrigin.delete(key)
      }
      for (const key of this.#abusiveByOrigin.keys()) {
        if (this.#abusiveByOrigin.size <= MAX_REMEMBERED_ORIGINS) break
        this.#abusiveByOrigin.delete(key)
      }
    }
  }

  /** Remembers the origin a peer's signals come from (the relay's tag), for its abuse to count there. */
  #noteOrigin(peerId: string, origin: string): void {
    if (this.#originOf.get(peerId) === origin) return
    this.#originOf.delete(peerId)
    this.#originOf.set(peerId, origin)
    if (this.#originOf.size > MAX_REMEMBERED_ORIGINS)
      this.#originOf.delete(this.#originOf.keys().next().value!)
  }

  /** Closes every link and stops listening for signals, once. Nothing is emitted afterwards. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#offSignal()
    this.#offUndeliverable()
    this.#held.clear()
    const entries = [...this.#entries.values()]
    this.#entries.clear()
    for (const entry of entries) {
      entry.ended = true
      this.#detach(entry)
      entry.waiter.reject(new SwarmError('CANCELLED', 'the link manager is destroyed'))
      entry.link?.destroy()
    }
  }

  // ---------------------------------------------------------------- admission

  /**
   * Why a new attempt with `peerId` may not start now (undefined: it may), after making room for it where
   * it may: stale attempts give way when the pending share or the cap is full; a download's dial may also
   * close an idle link.
   */
  #refusal(peerId: string, forDownload: boolean, incoming = false): SwarmError | undefined {
    if (this.#refuses(peerId)) return new SwarmError('PEER_BANNED', `${peerId} is banned here`)
    const budget = this.#budgetRefusal(forDownload)
    if (budget) return budget
    if (incoming) {
      const wait = this.#retryWaitMs(peerId)
      if (wait > 0)
        return new SwarmError('PEER_BUSY', `${peerId} failed to connect; it may try in ${wait} ms`)
      if (this.#failedBuilds.left() < 1) {
        return new SwarmError('PEER_BUSY', 'too many attempts by other peers failed to open lately')
      }
      if (this.#abusiveLinks.left() < 1) {
        return new SwarmError('PEER_BUSY', 'too many links were closed for abuse lately')
      }
      const origin = this.#originOf.get(peerId)
      const fromOrigin = origin === undefined ? undefined : this.#abusiveByOrigin.get(origin)
      if (fromOrigin && fromOrigin.left() < 1) {
        return new SwarmError('PEER_BUSY', 'too many links from its address were closed for abuse lately')
      }
    }
    if (this.waitingCount >= MAX_WAITING_ATTEMPTS && !this.#evictStale(false)) {
      return new SwarmError('PEER_BUSY', `already ${this.waitingCount} attempts waiting, the most at once`)
    }
    return this.#roomRefusal(forDownload)
  }

  /**
   * Why a connection may not be built now (the pending share or the cap is full), after making room where
   * it may; undefined when it may.
   */
  #roomRefusal(forDownload: boolean): SwarmError | undefined {
    if (this.pendingCount >= this.#maxPending && !this.#evictStale(true)) {
      return new SwarmError('PEER_BUSY', `already ${this.pendingCount} links being set up, the most at once`)
    }
    if (this.linkCount >= this.#maxLinks && !this.#evictStale(true) && !(forDownload && this.#evictIdle())) {
      return new SwarmError('PEER_BUSY', `already ${this.linkCount} links, the cap`)
    }
    return undefined
  }

  #budgetRefusal(forDownload: boolean): SwarmError | undefined {
    if (this.#built >= this.#linkBudget) {
      return new SwarmError('LINK_BUDGET_SPENT', `this tab has built ${this.#built} RTCPeerConnections`)
    }
    if (!forDownload && this.#built >= this.#linkBudget - this.#reserve) {
      return new SwarmError(
        'LINK_BUDGET_LOW',
        `this tab has built ${this.#built} of ${this.#linkBudget} RTCPeerConnections: the rest are for downloads`,
      )
    }
    return undefined
  }

  /**
   * Gives up the stalest attempt (with a connection built, or without) that has heard nothing for
   * STALE_PENDING_MS; true when one was.
   */
  #evictStale(built: boolean): boolean {
    const now = this.#clock.now()
    let stalest: Entry | undefined
    for (const entry of this.#entries.values()) {
      if (entry.open || (entry.link !== null) !== built || now - entry.heardAtMs < STALE_PENDING_MS) continue
      if (!stalest || entry.heardAtMs < stalest.heardAtMs) stalest = entry
    }
    if (!stalest) return false
    this.#fail(stalest, new SwarmError('PEER_UNREACHABLE', `${stalest.peerId} went quiet while connecting`))
    return true
  }

  /** Closes the first open link the swarm says is idle; true when one was. */
  #evictIdle(): boolean {
    for (const peerId of this.#idleLinks()) {
      const entry = this.#entries.get(peerId)
      if (!entry?.open || !entry.link) continue
      // The close handler removes the entry and emits link-closed, at once.
      entry.link.destroy(new SwarmError('PEER_BUSY', 'closed to make room for a download'))
      if (!this.#entries.has(peerId)) return true
    }
    return false
  }

  /** How long a peer whose attempt failed must still wait before its knock is taken; 0 when it need not. */
  #retryWaitMs(peerId: string): number {
    const wait = this.#retryWaits.get(peerId)
    return wait ? Math.max(0, wait.untilMs - this.#clock.now()) : 0
  }

  /**
   * Another peer's attempt ended without opening: that peer waits before its next knock is taken, and a
   * connection built for it costs a failed-build token.
   */
  #noteFailedAttempt(entry: Entry): void {
    const now = this.#clock.now()
    const failures = (this.#retryWaits.get(entry.peerId)?.failures ?? 0) + 1
    const waitMs = Math.min(INCOMING_RETRY_MAX_MS, INCOMING_RETRY_MS * 2 ** Math.min(failures - 1, 16))
    this.#retryWaits.delete(entry.peerId) // re-inserted last: the map's order is the age of the last failure
    this.#retryWaits.set(entry.peerId, { failures, untilMs: now + waitMs })
    if (this.#retryWaits.size > MAX_REMEMBERED_PEERS) {
      for (const [peerId, wait] of this.#retryWaits) {
        if (wait.untilMs + INCOMING_RETRY_MAX_MS < now) this.#retryWaits.delete(peerId)
      }
      // Still too many: the oldest failures are forgotten first.
      for (const peerId of this.#retryWaits.keys()) {
        if (this.#retryWaits.size <= MAX_REMEMBERED_PEERS) break
        this.#retryWaits.delete(peerId)
      }
    }
    if (entry.link) this.#failedBuilds.take()
  }

  // ---------------------------------------------------------------- attempts

  /**
   * A new attempt. `deadlineMs`: when it fails unopened; default the connect timeout from now. A new
   * attempt of a peer whose attempt was pending keeps that one's deadline.
   */
  #newEntry(
    peerId: string,
    sid: string,
    initiator: boolean,
    waiter: Deferred<PeerLink>,
    forDownload: boolean,
    deadlineMs?: number,
    heardAtMs?: number,
  ): Entry {
    const now = this.#clock.now()
    const entry: Entry = {
      peerId,
      sid,
      initiator,
      waiter,
      forDownload,
      link: null,
      offerSdp: null,
      deadlineMs: deadlineMs ?? now + this.#connectTimeoutMs,
      open: false,
      ended: false,
      answered: false,
      timer: null,
      offClose: () => {},
      startedAtMs: now,
      heardAtMs: heardAtMs ?? now,
      turnConfigured: hasTurn(this.#iceServers),
      serversConfigured: hasServerBeyondLan(this.#iceServers),
      localTypes: new Set(),
      remoteTypes: new Set(),
      localPublicHost: false,
      outbox: Promise.resolve(),
      sending: 0,
    }
    this.#entries.set(peerId, entry)
    entry.timer = this.#clock.setTimeout(
      () => {
        entry.timer = null
        if (!entry.open) {
          const ms = this.#clock.now() - entry.startedAtMs
          this.#fail(entry, new SwarmError('PEER_UNREACHABLE', `not open ${ms} ms into the attempt`))
        }
      },
      Math.max(0, entry.deadlineMs - now),
    )
    return entry
  }

  /**
   * Builds the entry's link (one RTCPeerConnection). Returns it, or what to decline with when it could not
   * be built, the entry having ended.
   */
  #build(entry: Entry): NegotiatingLink | DeclineReason {
    const refusal =
      this.#budgetRefusal(entry.forDownload) ?? (entry.initiator ? undefined : this.#roomRefusal(false))
    if (refusal) {
      this.#fail(entry, refusal)
      return 'busy'
    }
    this.#built++
    this.#noteBudget()
    let link: NegotiatingLink
    try {
      link = this.#createLink({
        initiator: entry.initiator,
        localPeerId: this.#peerId,
        remotePeerId: entry.peerId,
        iceServers: this.#iceServers,
        sendSignal: (data) => this.#sendSignal(entry, data),
      })
    } catch (error) {
      // The browser's refusal to build another connection; no WebRTC here; a bad ICE server configuration.
      const failure =
        peerConnectionRefusal(error) ??
        (error instanceof SwarmError
          ? error
          : new SwarmError('INTERNAL', `cannot create a peer link: ${String(error)}`, { cause: error }))
      this.#noteRefusedByBrowser(failure)
      this.#fail(entry, failure)
      return 'error'
    }
    entry.link = link
    entry.offClose = link.on('close', ({ error }) => this.#onLinkClose(entry, error))
    link.opened.then(
      () => this.#onOpen(entry),
      () => {}, // the close handler reports it
    )
    return link
  }

  /** Counts an RTCPeerConnection the browser refused to build: the budget is spent whatever we counted. */
  #noteRefusedByBrowser(error: Error | undefined): void {
    if (error instanceof SwarmError && error.code === 'LINK_BUDGET_SPENT' && this.#built < this.#linkBudget) {
      this.#built = this.#linkBudget
      this.#noteBudget()
    }
  }

  #noteBudget(): void {
    const state: LinkBudget['state'] =
      this.#built >= this.#linkBudget
        ? 'spent'
        : this.#built >= this.#linkBudget - this.#reserve
          ? 'low'
          : 'ok'
    if (state === this.#budgetState) return
    this.#budgetState = state
    if (!this.#destroyed) this.emit('budget', this.budget)
  }

  #onOpen(entry: Entry): void {
    const link = entry.link
    if (this.#destroyed || this.#entries.get(entry.peerId) !== entry || !link || link.destroyed) return
    this.#clock.clearTimeout(entry.timer)
    entry.timer = null
    entry.open = true
    this.#retryWaits.delete(entry.peerId)
    // Announce first, so the swarm attaches to frames before a `connect()` caller's continuation runs.
    this.emit('link', link)
    entry.waiter.resolve(link)
  }

  /** Ends an attempt with `error`: through its link's close when it has one, at once otherwise. */
  #fail(entry: Entry, error: SwarmError): void {
    if (entry.link) entry.link.destroy(error)
    else this.#end(entry, error)
  }

  #onLinkClose(entry: Entry, error: Error | undefined): void {
    this.#noteRefusedByBrowser(error)
    this.#end(entry, error)
  }

  #end(entry: Entry, error: Error | undefined): void {
    if (entry.ended) return
    entry.ended = true
    this.#detach(entry)
    if (this.#entries.get(entry.peerId) === entry) this.#entries.delete(entry.peerId)
    if (this.#destroyed) return
    // Another peer's attempt that failed to open by its doing: not one whose peer left the tracker, nor
    // one this side refused (its caps, its budget) or cancelled.
    const notTheirs = error instanceof SwarmError && NOT_THEIR_FAILURE.has(error.code)
    if (!entry.open && !entry.initiator && !notTheirs) this.#noteFailedAttempt(entry)
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
    const type = data.type
    const signed = (type === 'offer' || type === 'answer') && typeof data.sdp === 'string'
    if (!signed && entry.sending === 0) return this.#relay(entry, data)
    // An offer or answer goes out signed; whatever this side sends after it goes out after it.
    entry.sending++
    const fields = signed
      ? {
          from: this.#peerId,
          to: entry.peerId,
          sid: entry.sid,
          type: type as 'offer' | 'answer',
          sdp: data.sdp as string,
        }
      : undefined
    entry.outbox = entry.outbox
      .then(async () =>
        this.#relay(entry, fields ? { ...data, ...(await this.#signalAuth.sign(fields)) } : data),
      )
      .catch((error: unknown) => {
        this.#fail(entry, new SwarmError('INTERNAL', `signing the ${String(type)} failed`, { cause: error }))
      })
      .finally(() => {
        entry.sending--
      })
  }

  #relay(entry: Entry, data: Record<string, unknown>): void {
    if (this.#destroyed || this.#entries.get(entry.peerId) !== entry) return
    this.#signaller.send(entry.peerId, { ...data, sid: entry.sid })
  }

  /**
   * Records the types of the candidates a signal from the other side carries, for the diagnosis; a
   * candidate, an answer or an accept is progress (a knock or an offer is not: they cost nothing to repeat).
   */
  #noteRemote(entry: Entry, data: Record<string, unknown>): void {
    if (data.type !== 'offer') entry.heardAtMs = this.#clock.now()
    for (const line of candidateLinesIn(data)) {
      const type = candidateTypeOf(line)
      if (type) entry.remoteTypes.add(type)
    }
  }

  // ---------------------------------------------------------------- signals

  /**
   * A signal from another peer. An offer or answer is handled only once its signature checks out (and the
   * peer's signals after it wait for that); one that does not is refused as SIGNAL_FORGED.
   */
  #onSignal(from: string, data: Record<string, unknown>): void {
    if (this.#destroyed || typeof from !== 'string' || from === this.#peerId) return
    const held = this.#held.get(from)
    if (held) {
      if (held.length < MAX_HELD_SIGNALS) held.push(data)
      return
    }
    const parsed = LinkSignalSchema.safeParse(data)
    if (!parsed.success) return // not ours, or malformed: another peer's problem, never ours
    const signal = parsed.data
    if (signal.type !== 'offer' && signal.type !== 'answer') return this.#handle(from, signal)
    const after: Record<string, unknown>[] = []
    this.#held.set(from, after)
    const fields = { from, to: this.#peerId, sid: signal.sid, type: signal.type, sdp: signal.sdp }
    const proof = {
      publicKey: data.publicKey,
      signature: data.signature,
      at: data.at,
    } as Partial<SignalProof>
    this.#signalAuth
      .check(fields, proof)
      .catch((): SignalVerdict => 'forged')
      .then((verdict) => {
        if (this.#held.get(from) !== after) return // destroyed meanwhile
        this.#held.delete(from)
        if (verdict === 'valid') this.#handle(from, signal)
        else this.#forged(from, signal, verdict)
        for (const next of after) this.#onSignal(from, next)
      })
  }

  /**
   * An offer or answer its `from` did not sign (or signed, but it was taken already or is too old: a
   * replay): nothing is built for it, and an attempt waiting for it fails.
   */
  #forged(
    from: string,
    signal: LinkSignalOf<'offer'> | LinkSignalOf<'answer'>,
    verdict: Exclude<SignalVerdict, 'valid'>,
  ): void {
    const error =
      verdict === 'replayed'
        ? new SwarmError(
            'SIGNAL_REPLAYED',
            `an ${signal.type} from ${from} was taken before, or signed too long ago: a replay`,
          )
        : new SwarmError(
            'SIGNAL_FORGED',
            `an ${signal.type} from ${from} is not signed by ${from}'s key for this peer and attempt`,
          )
    const entry = this.#entries.get(from)
    if (entry?.sid === signal.sid && !entry.open) {
      const waiting = signal.type === 'answer' ? entry.initiator : !entry.initiator && !entry.link
      if (waiting) this.#fail(entry, error)
    }
    this.emit('forged', { peerId: from, error })
  }

  #handle(from: string, signal: LinkSignal): void {
    const entry = this.#entries.get(from)
    const current = entry?.sid === signal.sid ? entry : undefined
    switch (signal.type) {
      case 'knock':
        return this.#onKnock(from, signal.sid, entry)
      case 'offer':
        return this.#onOffer(from, signal, entry)
      case 'accept':
        if (current?.initiator && !current.link) {
          this.#noteRemote(current, signal)
          // A dialling link makes its offer by itself, through `sendSignal`.
          this.#build(current)
        }
        return
      case 'answer':
        if (current?.link && current.initiator && !current.answered) {
          current.answered = true
          this.#noteRemote(current, signal)
          current.link.signal({ type: 'answer', sdp: signal.sdp })
        }
        return
      case 'candidate':
        if (current && !current.initiator && !current.link && current.offerSdp !== null) {
          // The first sign that the offerer gathered something: now the answer is worth a connection.
          const built = this.#answer(from, current, [signal.candidate.candidate])
          if (!built) return
        }
        if (current?.link) {
          const { candidate, sdpMLineIndex, sdpMid } = signal.candidate
          // RTCIceCandidate throws without either, which would fail the whole link: drop just the candidate.
          if (sdpMLineIndex == null && sdpMid == null) return
          this.#noteRemote(current, signal)
          current.link.signal({
            type: 'candidate',
            candidate: { candidate, sdpMLineIndex: sdpMLineIndex ?? null, sdpMid: sdpMid ?? null },
          })
        }
        return
      case 'decline':
        if (current?.initiator && !current.open) {
          const reason = signal.reason
          const code: ErrorCode =
            reason === 'busy' ? 'PEER_BUSY' : reason === 'refused' ? 'PEER_BANNED' : 'PEER_UNREACHABLE'
          this.#fail(current, new SwarmError(code, `${from} declined the link: ${reason.slice(0, 64)}`))
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
    if (!entry || entry.open) return
    this.#fail(entry, new SwarmError('PEER_NOT_FOUND', `${to} is not connected to the tracker (it left)`))
  }

  /**
   * Makes room for another peer's attempt, or says why not. An attempt with that peer already here is
   * handled by the caller (glare, a retry); this is about a new one.
   */
  #declineReason(from: string): DeclineReason | undefined {
    const refusal = this.#refusal(from, false, true)
    if (!refusal) return undefined
    return refusal.code === 'PEER_BANNED' ? 'refused' : 'busy'
  }

  #decline(from: string, sid: string, reason: DeclineReason): void {
    this.#signaller.send(from, { type: 'decline', sid, reason })
    this.emit('declined', { peerId: from, reason })
  }

  /**
   * What to do with another peer's new attempt when one with it exists here: undefined to ignore the new
   * one; otherwise the old one is dropped, and what the new one inherits from it: the waiter of a `connect()`
   * (none when a link was open: a new one is announced) and, for an attempt not open, its deadline.
   */
  #supersede(
    from: string,
    entry: Entry,
  ): { waiter?: Deferred<PeerLink>; deadlineMs?: number; heardAtMs?: number } | undefined {
    if (entry.initiator && !entry.open) {
      // Glare: the peer whose id sorts first keeps dialling; the other side will accept.
      if (this.#peerId < from) return undefined
    }
    this.#drop(entry)
    // It gave up on its attempt and started again (or we yield to its dial): the old deadline stands, and
    // asking again is no sign of life.
    if (!entry.open) return { waiter: entry.waiter, deadlineMs: entry.deadlineMs, heardAtMs: entry.heardAtMs }
    // The link is open here but the other side dials again: it has lost its end (closed, or timed out
    // before our side opened). Ours is replaced; `link-closed` then `link` tell the swarm.
    return {}
  }

  /** Drops an attempt or link for its successor, with no rejection to the waiter being handed on. */
  #drop(entry: Entry): void {
    entry.ended = true
    this.#entries.delete(entry.peerId)
    this.#detach(entry)
    entry.link?.destroy()
    if (entry.open && !this.#destroyed) this.emit('link-closed', { peerId: entry.peerId })
  }

  /**
   * Starts answering another peer's attempt (a knock, or an offer without one), or declines it. Returns the
   * new entry, or undefined when the attempt was ignored (glare) or declined.
   */
  #admitAttempt(from: string, sid: string, entry: Entry | undefined): Entry | undefined {
    let inherited: { waiter?: Deferred<PeerLink>; deadlineMs?: number; heardAtMs?: number } = {}
    if (entry) {
      const superseded = this.#supersede(from, entry)
      if (!superseded) return undefined
      inherited = superseded
    }
    const waiter = inherited.waiter ?? deferred<PeerLink>()
    const reason = this.#declineReason(from)
    if (reason) {
      waiter.reject(new SwarmError(reason === 'refused' ? 'PEER_BANNED' : 'PEER_BUSY', `declined ${from}`))
      this.#decline(from, sid, reason)
      return undefined
    }
    return this.#newEntry(
      from,
      sid,
      false,
      waiter,
      entry?.forDownload ?? false,
      inherited.deadlineMs,
      inherited.heardAtMs,
    )
  }

  #onKnock(from: string, sid: string, entry: Entry | undefined): void {
    if (entry?.sid === sid || this.#lastDeclined.get(from) === sid) return // a repeat
    if (this.#admitAttempt(from, sid, entry)) this.#signaller.send(from, { type: 'accept', sid })
    else this.#noteDeclined(from, sid)
  }

  #onOffer(from: string, offer: LinkSignalOf<'offer'>, entry: Entry | undefined): void {
    if (this.#lastDeclined.get(from) === offer.sid) return // the offer of a knock just declined
    let answering = entry?.sid === offer.sid ? entry : undefined
    if (answering) {
      // The offer of an attempt this side accepted.
      if (answering.initiator || answering.link || answering.offerSdp !== null) return
    } else {
      // An offer with no knock before it (not ours: see the top): the same checks, before anything is built.
      answering = this.#admitAttempt(from, offer.sid, entry)
      if (!answering) return this.#noteDeclined(from, offer.sid)
    }
    this.#noteRemote(answering, offer)
    answering.offerSdp = offer.sdp
    // An offer that carries its candidates (no trickle) is answered at once; otherwise the first trickled
    // candidate shows the offerer is gathering, and only then is a connection built for it.
    if (candidateLinesOf(offer.sdp).length > 0) this.#answer(from, answering)
  }

  /** Remembers the last attempt declined per peer, so that its following offer is not declined twice. */
  #noteDeclined(from: string, sid: string): void {
    this.#lastDeclined.delete(from)
    this.#lastDeclined.set(from, sid)
    if (this.#lastDeclined.size > MAX_REMEMBERED_PEERS) {
      this.#lastDeclined.delete(this.#lastDeclined.keys().next().value!)
    }
  }

  /**
   * Builds the answering side's link and hands it the held offer; declines when it cannot be built. True
   * when built.
   */
  #answer(from: string, entry: Entry, candidateLines: readonly string[] = []): boolean {
    const offer = entry.offerSdp
    if (offer === null) return false
    // Its candidates show where it is: an address banned here is refused before anything is built.
    for (const line of [...candidateLinesOf(offer), ...candidateLines]) {
      const address = candidateAddressOf(line)
      if (address && this.#refusesAddress(address)) {
        this.#decline(from, entry.sid, 'refused')
        this.#fail(entry, new SwarmError('PEER_BANNED', `${from} offers from a banned address`))
        return false
      }
    }
    const built = this.#build(entry)
    if (typeof built === 'string') {
      this.#signaller.send(from, { type: 'decline', sid: entry.sid, reason: built })
      return false
    }
    built.signal({ type: 'offer', sdp: offer })
    return true
  }
}

/** A count that refills one unit per `refillMs` up to `burst`: a token bucket without a peer. */
class RefillingCount {
  #tokens: number
  #atMs: number

  constructor(
    private readonly clock: Clock,
    private readonly burst: number,
    private readonly refillMs: number,
  ) {
    this.#tokens = burst
    this.#atMs = clock.now()
  }

  left(): number {
    const now = this.clock.now()
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#atMs) / this.refillMs)
    this.#atMs = now
    return this.#tokens
  }

  take(): void {
    this.#tokens = Math.max(0, this.left() - 1)
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
