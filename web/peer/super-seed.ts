/**
 * Super-seeding, in spirit (BitTorrent's BEP 16): a peer that holds a whole file does not tell the peers
 * fetching it that it has everything, but offers each of them a few chunks at a time, the chunks fewest of
 * them hold or are being sent, so that the crowd holds different chunks early and trades them among
 * itself, and the seeder sends each chunk about once before it sends any twice (issue 16: an origin under a
 * flash crowd uploaded 1.6–2.1 × the file before this).
 *
 * Offers are ordinary `have` and `have-chunk` messages: a peer that knows nothing of this simply asks for
 * what it is offered. No request is ever refused for being outside the offers. To know what each peer
 * holds, the seeder says it is `interested` in the file: the peer answers with its `have` and reports each
 * chunk it stores, as it does to any interested peer.
 *
 * A peer always has at least REFILL_BELOW chunks offered that it lacks and has not asked us for (or all it
 * lacks, when fewer): offers are topped up to OPEN_OFFERS as it asks, and as it reports chunks (from anyone),
 * so it never waits on us for something to ask. With a single downloader this is neutral: it is offered more than it
 * keeps in flight (IN_FLIGHT_PER_SOURCE).
 *
 * Plain state, no I/O: the swarm sends what this returns.
 */
import { Bitfield } from '../../shared/bitfield.js'
import { IN_FLIGHT_PER_SOURCE } from './download.js'

/** Chunks each peer has on offer and may ask for: twice what it keeps in flight from one source. */
export const OPEN_OFFERS = 2 * IN_FLIGHT_PER_SOURCE
/**
 * A peer's offers are topped up (to OPEN_OFFERS) only once fewer than this are open, several at once in one
 * message, not one `have-chunk` for each chunk it asks for: that was one control message in every chunk's
 * eight on a link with one downloader (bench/cli frame counts, issue 11). It still has this many to ask for
 * while the next offers travel, at least what it keeps in flight.
 */
export const REFILL_BELOW = IN_FLIGHT_PER_SOURCE
/**
 * A chunk already offered to, sent to or held by a peer of the crowd is offered to another only this long
 * after: by then a peer linked to its holder would have fetched it from there (a chunk takes 50–100 ms on
 * loopback), so the peer still lacking it evidently cannot. Until then the seeder offers only chunks nobody
 * has or was offered, each once; a peer fetching alone never waits on this (nobody else claims a chunk).
 */
export const SPREAD_WAIT_MS = 1_000
/**
 * A chunk someone else in the crowd has or is getting is offered to a peer only while that peer is starved:
 * it has reported no chunk at all (from us or anyone) for STARVED_MS, or for ISOLATED_MS no chunk but
 * second copies from us (it is evidently not linked to the others, or they have nothing for it). A peer that trades
 * with the crowd reports a chunk every few hundred ms even on a loaded machine, so it is never offered a
 * second copy while it has peers to take it from. Before this rule the seeder re-offered every copied chunk
 * SPREAD_WAIT_MS after its first claim, and each of four downloaders took about half its chunks from it
 * (bench/flash, N = 4: origin upload 1.66 × the file).
 */
export const STARVED_MS = 1_000
export const ISOLATED_MS = 4_000
/**
 * Second copies a starved (not isolated) peer may have on offer at once: a trickle, since a peer of the
 * crowd that paused for a second (five browsers on two busy cores) usually trades again soon, and each
 * copy it takes from us is one the origin uploads twice. An isolated peer gets OPEN_OFFERS.
 */
export const STARVED_OFFERS = 2

interface PeerState {
  /** What the peer holds, as it said; empty until its `have` arrives. */
  readonly held: Bitfield
  readonly offered: Bitfield
  /** Offers it has not used yet: neither asked us for, nor got elsewhere. */
  readonly open: Set<number>
  /** Chunks we sent (or are sending) it that it has not reported holding yet. */
  readonly sent: Set<number>
  /** When it last reported a chunk it stored, from anyone (its join time until then). */
  lastChunkMs: number
  /** Chunks we are sending it that nobody else held or was being sent: the seeder's proper work. */
  readonly firstCopies: Set<number>
  /**
   * When it last reported a chunk it got from another peer, or a first copy from us (its join time until
   * then): a peer that only ever gets second copies from us is not trading with the crowd.
   */
  lastFreshMs: number
}

export class SuperSeed {
  readonly #peers = new Map<string, PeerState>()
  /** Per chunk: peers that hold it, plus copies we are sending that have not been reported yet. */
  readonly #copies: Uint32Array
  /** Per chunk: peers it is offered to that have not asked for it or got it yet (ties between equal copies). */
  readonly #openOffers: Uint32Array
  /** Per chunk: when it was first offered, sent or held (NaN while it has no copy and no open offer). */
  readonly #claimedSinceMs: Float64Array

  constructor(
    readonly chunkCount: number,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {
    this.#copies = new Uint32Array(chunkCount)
    this.#openOffers = new Uint32Array(chunkCount)
    this.#claimedSinceMs = new Float64Array(chunkCount).fill(Number.NaN)
  }

  get peerCount(): number {
    return this.#peers.size
  }

  has(peerId: string): boolean {
    return this.#peers.has(peerId)
  }

  /** Every chunk offered to the peer so far (a `have` says them all in one message). */
  offeredTo(peerId: string): Bitfield | undefined {
    return this.#peers.get(peerId)?.offered
  }

  /** A peer became interested: the `have` to answer with (its first offers). */
  join(peerId: string): Bitfield {
    let peer = this.#peers.get(peerId)
    if (!peer) {
      peer = {
        held: new Bitfield(this.chunkCount),
        offered: new Bitfield(this.chunkCount),
        open: new Set(),
        sent: new Set(),
        firstCopies: new Set(),
        lastChunkMs: this.now(),
        lastFreshMs: this.now(),
      }
      this.#peers.set(peerId, peer)
    }
    this.#topUp(peer)
    return peer.offered
  }

  /** The peer said what it holds (its `have`); returns chunks newly offered to it. */
  held(peerId: string, have: Bitfield): number[] {
    const peer = this.#peers.get(peerId)
    if (!peer || have.length !== this.chunkCount) return []
    for (let index = 0; index < this.chunkCount; index++) if (have.has(index)) this.#hold(peer, index)
    return this.#topUp(peer)
  }

  /** The peer stored a chunk (its `have-chunk`); returns chunks newly offered to it. */
  heldChunk(peerId: string, index: number): number[] {
    const peer = this.#peers.get(peerId)
    if (!peer || index >= this.chunkCount) return []
    const now = this.now()
    peer.lastChunkMs = now
    if (!peer.held.has(index) && (!peer.sent.has(index) || peer.firstCopies.has(index)))
      peer.lastFreshMs = now
    this.#hold(peer, index)
    return this.#topUp(peer)
  }

  /** The peer asked us for a chunk: it counts as a copy from now on. Returns chunks newly offered to it. */
  requested(peerId: string, index: number): number[] {
    const peer = this.#peers.get(peerId)
    if (!peer || index >= this.chunkCount) return []
    if (!peer.held.has(index) && !peer.sent.has(index)) {
      this.#closeOffer(peer, index)
      peer.sent.add(index)
      if (this.#copies[index] === 0) peer.firstCopies.add(index)
      this.#copies[index]!++
      this.#claim(index)
    }
    return this.#topUp(peer)
  }

  /**
   * The peer withdrew a request (or we failed to send it): that copy will not exist. Without this, a peer
   * that asks for every chunk and cancels would make every chunk look copied, and hold the others' offers
   * back.
   */
  withdrawn(peerId: string, index: number): void {
    const peer = this.#peers.get(peerId)
    if (!peer?.sent.delete(index)) return
    peer.firstCopies.delete(index)
    this.#copies[index]!--
    this.#unclaimIfFree(index)
  }

  /**
   * Tops up every peer's offers: chunks held long enough (SPREAD_WAIT_MS) become offerable as time passes,
   * with no message to say so. Returns the new offers by peer.
   */
  refresh(): Map<string, number[]> {
    const added = new Map<string, number[]>()
    for (const [peerId, peer] of this.#peers) {
      const offers = this.#topUp(peer)
      if (offers.length > 0) added.set(peerId, offers)
    }
    return added
  }

  /** The peer is no longer interested, or its session closed: its copies stop counting. */
  leave(peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (!peer) return
    this.#peers.delete(peerId)
    for (let index = 0; index < this.chunkCount; index++) {
      if (peer.held.has(index)) this.#copies[index]!--
    }
    for (const index of peer.open) this.#openOffers[index]!--
    for (const index of peer.sent) this.#copies[index]!--
    for (let index = 0; index < this.chunkCount; index++) this.#unclaimIfFree(index)
  }

  #hold(peer: PeerState, index: number): void {
    if (peer.held.has(index)) return
    this.#closeOffer(peer, index)
    peer.held.set(index)
    peer.firstCopies.delete(index)
    this.#claim(index)
    // A copy we sent is now a copy it holds: counted once.
    if (!peer.sent.delete(index)) this.#copies[index]!++
  }

  /** A chunk nobody holds, is being sent or is offered counts as never claimed again. */
  #unclaimIfFree(index: number): void {
    if (this.#copies[index] === 0 && this.#openOffers[index] === 0) this.#claimedSinceMs[index] = Number.NaN
  }

  #claim(index: number): void {
    if (Number.isNaN(this.#claimedSinceMs[index]!)) this.#claimedSinceMs[index] = this.now()
  }

  /** An offer the peer has not used yet is used now (asked for, or got elsewhere). */
  #closeOffer(peer: PeerState, index: number): void {
    if (peer.open.delete(index)) this.#openOffers[index]!--
  }

  /** Once it has fewer than REFILL_BELOW open, offers the peer the least-copied chunks it lacks up to OPEN_OFFERS. */
  #topUp(peer: PeerState): number[] {
    let open = peer.open.size
    const added: number[] = []
    if (open >= REFILL_BELOW) return added
    const now = this.now()
    while (open < OPEN_OFFERS) {
      const index = this.#leastCopied(peer, this.#mayCopy(peer, now, open), now)
      if (index === undefined) break
      peer.offered.set(index)
      peer.open.add(index)
      this.#openOffers[index]!++
      this.#claim(index)
      added.push(index)
      open++
    }
    return added
  }

  /**
   * Whether the peer may be offered one more chunk someone else in the crowd has or is getting: when it is
   * isolated (ISOLATED_MS), or starved (STARVED_MS) and has fewer than STARVED_OFFERS offers open.
   */
  #mayCopy(peer: PeerState, now: number, open: number): boolean {
    if (now - peer.lastFreshMs >= ISOLATED_MS) return true
    return now - peer.lastChunkMs >= STARVED_MS && open < STARVED_OFFERS
  }

  /**
   * Among chunks the peer lacks and was not offered, one of the fewest copies (and among those, offered to
   * the fewest others), at random among equals. A chunk already offered to, sent to or held by another
   * peer is a candidate only SPREAD_WAIT_MS after that first happened, and only when `mayCopy`.
   */
  #leastCopied(peer: PeerState, mayCopy: boolean, now: number): number | undefined {
    let best: number | undefined
    let fewest = Number.POSITIVE_INFINITY
    let ties = 0
    const claimedBefore = now - SPREAD_WAIT_MS
    for (let index = 0; index < this.chunkCount; index++) {
      if (peer.offered.has(index) || peer.held.has(index)) continue
      const claimed = this.#copies[index]! > 0 || this.#openOffers[index]! > 0
      if (claimed && !(mayCopy && this.#claimedSinceMs[index]! <= claimedBefore)) continue
      // Copies weigh first: an offer may never be taken up, a copy is on its way.
      const copies = this.#copies[index]! * (this.#peers.size + 1) + this.#openOffers[index]!
      if (copies < fewest) {
        best = index
        fewest = copies
        ties = 1
      } else if (copies === fewest && this.random() * ++ties < 1) {
        best = index
      }
    }
    return best
  }
}
