/**
 * The tab's upload slots (SPEC §5), shared fairly across the peers that ask for chunks. A request waits in
 * its peer's queue for a slot instead of being refused while others upload, so an honest downloader is not
 * sent away (and made to back off) because another peer is busy. When a slot frees, it goes to the waiting
 * peer that holds fewest slots, in turn among equals (round robin): a peer never holds more than its share
 * while others wait.
 *
 * A cancel frees the slot at once. A read already under way still counts against its own peer's allowance
 * until it ends, so cancelling cannot multiply one peer's reads; but the slot goes to the next peer now.
 * A peer whose pattern is abusive (most of its requests cancelled, or asking beyond its allowance again and
 * again) loses its slots first: it holds at most one, and only when no one else waits.
 */
import type { Clock } from './clock.js'

/** Chunk uploads running at once over all links: more only splits the uplink. */
export const UPLOAD_SLOTS = 8
/** Uploads one peer may have running at once (what one download asks of one source: IN_FLIGHT_PER_SOURCE). */
export const SLOTS_PER_PEER = 4
/** Requests one peer may have waiting or running; beyond, a request is refused `busy`. */
export const REQUESTS_PER_PEER = 2 * SLOTS_PER_PEER
/**
 * Abuse is judged over a window with this half-life: counts halve every 10 s. An honest downloader cancels
 * only the duplicates of the endgame and what is in flight when it pauses: a few requests in many.
 */
export const ABUSE_HALF_LIFE_MS = 10_000
/** A peer is abusive when, over the window, at least this many requests… */
const ABUSE_MIN_REQUESTS = 16
/** …were mostly cancelled: more than this share of them. */
const ABUSIVE_CANCEL_RATIO = 0.5
/** Or when it was refused `busy` this many times over the window (it does not back off). */
const ABUSIVE_BUSY_REFUSALS = 16
/** Peers whose record is kept before those with a clean one and nothing outstanding are swept out. */
const MAX_REMEMBERED_PEERS = 1024

/** One request's place in the slots. */
export interface UploadTicket {
  readonly peerId: string
  readonly id: number
  /** Resolves once a slot is granted; rejects (SESSION_CLOSED or CANCELLED, from the caller) when dropped. */
  readonly granted: Promise<void>
  /** Cancelled by the peer (or its session closed): stop, send nothing more. */
  readonly cancelled: boolean
  /** Done with the slot (read and sent, or failed): call once in every case after `granted` resolved. */
  release(): void
}

interface Ticket extends UploadTicket {
  cancelled: boolean
  state: 'waiting' | 'running' | 'done'
  /** Holds one of the tab's slots: false once cancelled, even while its read finishes. */
  holdsSlot: boolean
  grant(): void
  drop(error: Error): void
}

interface PeerState {
  readonly queue: Ticket[]
  readonly tickets: Map<number, Ticket>
  /** Tickets running, cancelled ones whose read has not ended included. */
  running: number
  /** When this peer was last granted a slot: the round robin's order among equals. */
  lastGrantMs: number
  /** Decaying counts over the abuse window. */
  requests: number
  cancels: number
  busy: number
  countsAtMs: number
}

export class UploadSlots {
  readonly #slots: number
  readonly #perPeer: number
  readonly #peers = new Map<string, PeerState>()
  /** Slots held by running, uncancelled tickets. */
  #inUse = 0
  #grants = 0

  constructor(
    private readonly clock: Clock,
    slots = UPLOAD_SLOTS,
    perPeer = SLOTS_PER_PEER,
  ) {
    this.#slots = slots
    this.#perPeer = Math.min(perPeer, slots)
  }

  /** Slots in use now (cancelled reads still finishing are not counted). */
  get inUse(): number {
    return this.#inUse
  }

  /**
   * Queues request `id` of `peerId`; undefined when the peer already has REQUESTS_PER_PEER waiting or
   * running (refuse it `busy`). The ticket's `granted` resolves when it may read and send.
   */
  enqueue(peerId: string, id: number): UploadTicket | undefined {
    const peer = this.#peer(peerId)
    this.#decay(peer)
    peer.requests++
    if (peer.tickets.size >= REQUESTS_PER_PEER || peer.tickets.has(id)) {
      peer.busy++
      return undefined
    }
    let grant!: () => void
    let drop!: (error: Error) => void
    const granted = new Promise<void>((resolve, reject) => {
      grant = resolve
      drop = reject
    })
    granted.catch(() => {})
    const ticket: Ticket = {
      peerId,
      id,
      granted,
      cancelled: false,
      state: 'waiting',
      holdsSlot: false,
      grant,
      drop,
      release: () => this.#release(ticket),
    }
    peer.tickets.set(id, ticket)
    peer.queue.push(ticket)
    this.#dispatch()
    return ticket
  }

  /** The peer withdrew request `id`: dropped if waiting, its slot freed at once if running. */
  cancel(peerId: string, id: number, error: Error): void {
    const peer = this.#peers.get(peerId)
    const ticket = peer?.tickets.get(id)
    if (!peer || !ticket || ticket.cancelled) return
    this.#decay(peer)
    peer.cancels++
    this.#withdraw(peer, ticket, error)
    this.#dispatch()
  }

  /** The peer's session closed: everything it asked for is dropped. */
  dropPeer(peerId: string, error: Error): void {
    const peer = this.#peers.get(peerId)
    if (!peer) return
    for (const ticket of [...peer.tickets.values()]) this.#withdraw(peer, ticket, error)
    this.#forgetIfIdle(peerId, peer)
    this.#dispatch()
  }

  /** Whether a peer's pattern is abusive now (for tests and the peers view). */
  isAbusive(peerId: string): boolean {
    const peer = this.#peers.get(peerId)
    if (!peer) return false
    this.#decay(peer)
    return abusive(peer)
  }

  /** Requests of a peer waiting or running. */
  outstanding(peerId: string): number {
    return this.#peers.get(peerId)?.tickets.size ?? 0
  }

  #withdraw(peer: PeerState, ticket: Ticket, error: Error): void {
    if (ticket.cancelled) return
    ticket.cancelled = true
    if (ticket.state === 'waiting') {
      peer.queue.splice(peer.queue.indexOf(ticket), 1)
      peer.tickets.delete(ticket.id)
      ticket.state = 'done'
      ticket.drop(error)
    } else if (ticket.holdsSlot) {
      // The read or send under way stops at its next step; the slot is someone else's from now.
      ticket.holdsSlot = false
      this.#inUse--
    }
  }

  #release(ticket: Ticket): void {
    if (ticket.state !== 'running') return
    ticket.state = 'done'
    if (ticket.holdsSlot) {
      ticket.holdsSlot = false
      this.#inUse--
    }
    const peer = this.#peers.get(ticket.peerId)
    if (peer) {
      peer.running--
      peer.tickets.delete(ticket.id)
      this.#forgetIfIdle(ticket.peerId, peer)
    }
    this.#dispatch()
  }

  /** Grants free slots, one at a time, to the waiting peer with the best claim. */
  #dispatch(): void {
    while (this.#inUse < this.#slots) {
      const peer = this.#next()
      if (!peer) return
      const ticket = peer.queue.shift()!
      ticket.state = 'running'
      ticket.holdsSlot = true
      peer.running++
      peer.lastGrantMs = ++this.#grants
      this.#inUse++
      ticket.grant()
    }
  }

  /**
   * The waiting peer to serve next: under its allowance (one slot for an abusive peer), honest peers before
   * abusive ones, then fewest slots held, then the one served longest ago.
   */
  #next(): PeerState | undefined {
    let best: PeerState | undefined
    let bestAbusive = true
    for (const peer of this.#peers.values()) {
      if (peer.queue.length === 0) continue
      this.#decay(peer)
      const isAbusive = abusive(peer)
      if (peer.running >= (isAbusive ? 1 : this.#perPeer)) continue
      const better =
        !best ||
        (bestAbusive && !isAbusive) ||
        (bestAbusive === isAbusive &&
          (peer.running < best.running ||
            (peer.running === best.running && peer.lastGrantMs < best.lastGrantMs)))
      if (better) {
        best = peer
        bestAbusive = isAbusive
      }
    }
    return best
  }

  #peer(peerId: string): PeerState {
    let peer = this.#peers.get(peerId)
    if (!peer) {
      if (this.#peers.size >= MAX_REMEMBERED_PEERS) this.#sweep()
      peer = {
        queue: [],
        tickets: new Map(),
        running: 0,
        lastGrantMs: 0,
        requests: 0,
        cancels: 0,
        busy: 0,
        countsAtMs: this.clock.now(),
      }
      this.#peers.set(peerId, peer)
    }
    return peer
  }

  /** Forgets the peers with nothing outstanding whose record has decayed clean. */
  #sweep(): void {
    for (const [peerId, peer] of this.#peers) this.#forgetIfIdle(peerId, peer)
  }

  /** A peer with nothing outstanding whose record has decayed to nothing is forgotten. */
  #forgetIfIdle(peerId: string, peer: PeerState): void {
    this.#decay(peer)
    if (peer.tickets.size === 0 && peer.requests < 1 && peer.busy < 1) this.#peers.delete(peerId)
  }

  #decay(peer: PeerState): void {
    const now = this.clock.now()
    const factor = 0.5 ** ((now - peer.countsAtMs) / ABUSE_HALF_LIFE_MS)
    peer.requests *= factor
    peer.cancels *= factor
    peer.busy *= factor
    peer.countsAtMs = now
  }
}

function abusive(peer: PeerState): boolean {
  return (
    (peer.requests >= ABUSE_MIN_REQUESTS && peer.cancels > peer.requests * ABUSIVE_CANCEL_RATIO) ||
    peer.busy >= ABUSIVE_BUSY_REFUSALS
  )
}
