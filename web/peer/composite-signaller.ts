/**
 * The Signaller the links use (issue 13): the tracker while it is online; else an entry point that
 * reaches the peer (a CLI's `--listen` socket, a sibling tab); else the ring, hop by hop. A peer whose
 * signals came in some way lately is answered the same way, so a negotiation started through the ring
 * finishes through it even when this side's tracker came back meanwhile. Offers and answers are signed
 * end to end whichever way they go (signal-auth.ts).
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { Clock } from './clock.js'
import type { EntryPoint } from './entry-point.js'
import type { Signaller, SignalMeta } from './peer-link.js'

/** A peer's signals are answered the way they came for this long (a negotiation takes under 15 s). */
const SAME_WAY_MS = 30_000
/** Peers remembered at most before old entries are swept (a tab links to at most 32 at once). */
const MAX_REMEMBERED = 1_024

type SignalListener = (from: string, data: Record<string, unknown>, meta?: SignalMeta) => void
type UndeliverableListener = (to: string, code: ErrorCode) => void

export interface CompositeSignallerOptions {
  tracker: Signaller
  trackerOnline(): boolean
  ring: Signaller
  clock: Clock
}

export class CompositeSignaller implements Signaller {
  readonly #options: CompositeSignallerOptions
  readonly #signalListeners = new Set<SignalListener>()
  readonly #undeliverableListeners = new Set<UndeliverableListener>()
  readonly #entries = new Map<EntryPoint, () => void>()
  /** Per peer, the signaller its last signal came through, and when. */
  readonly #cameBy = new Map<string, { via: Signaller; atMs: number }>()
  readonly #unsubscribe: (() => void)[] = []

  constructor(options: CompositeSignallerOptions) {
    this.#options = options
    // One subscription per signaller: an engine without a ring passes the tracker as both, and a signal
    // heard twice would be refused the second time as a replay (SIGNAL_REPLAYED).
    for (const via of new Set([options.tracker, options.ring])) this.#unsubscribe.push(this.#listen(via))
  }

  /** Which way a signal to `to` goes now (for tests and the peers view). */
  route(to: string): 'tracker' | 'entry' | 'ring' {
    const via = this.#pick(to)
    if (via === this.#options.tracker) return 'tracker'
    return via === this.#options.ring ? 'ring' : 'entry'
  }

  send(to: string, data: Record<string, unknown>): void {
    this.#pick(to).send(to, data)
  }

  onSignal(listener: SignalListener): () => void {
    this.#signalListeners.add(listener)
    return () => this.#signalListeners.delete(listener)
  }

  onUndeliverable(listener: UndeliverableListener): () => void {
    this.#undeliverableListeners.add(listener)
    return () => this.#undeliverableListeners.delete(listener)
  }

  addEntryPoint(entry: EntryPoint): void {
    if (!this.#entries.has(entry)) this.#entries.set(entry, this.#listen(entry.signaller))
  }

  removeEntryPoint(entry: EntryPoint): void {
    this.#entries.get(entry)?.()
    this.#entries.delete(entry)
  }

  destroy(): void {
    for (const off of [...this.#unsubscribe, ...this.#entries.values()]) off()
    this.#unsubscribe.length = 0
    this.#entries.clear()
    this.#signalListeners.clear()
    this.#undeliverableListeners.clear()
  }

  #pick(to: string): Signaller {
    const { tracker, trackerOnline, ring, clock } = this.#options
    const came = this.#cameBy.get(to)
    if (came && clock.now() - came.atMs < SAME_WAY_MS) {
      const stillThere =
        came.via === tracker ? trackerOnline() : came.via === ring || this.#hasEntry(came.via)
      if (stillThere) return came.via
    }
    if (trackerOnline()) return tracker
    for (const entry of this.#entries.keys()) if (entry.peers().includes(to)) return entry.signaller
    return ring
  }

  #hasEntry(via: Signaller): boolean {
    for (const entry of this.#entries.keys()) if (entry.signaller === via) return true
    return false
  }

  #listen(via: Signaller): () => void {
    // `meta` (the tracker's origin tag) passes through: the link manager budgets abuse per origin.
    const offSignal = via.onSignal((from, data, meta) => {
      const now = this.#options.clock.now()
      if (this.#cameBy.size >= MAX_REMEMBERED) {
        for (const [peerId, came] of this.#cameBy)
          if (now - came.atMs >= SAME_WAY_MS) this.#cameBy.delete(peerId)
      }
      this.#cameBy.set(from, { via, atMs: now })
      for (const listener of this.#signalListeners) listener(from, data, meta)
    })
    const offUndeliverable = via.onUndeliverable?.((to, code) => {
      for (const listener of this.#undeliverableListeners) listener(to, code)
    })
    return () => {
      offSignal()
      offUndeliverable?.()
    }
  }
}
