/**
 * Content routing through both (issue 13): the tracker when it is online, the ring always; answers
 * merged and deduplicated, each hit keeping every source that named it (the tracker's first). When the
 * tracker is offline (or failed), the ring's answer is the answer. When it answered:
 * - a search gives the ring RING_GRACE_MS more and merges what it found by then (a lookup for a word
 *   nobody published waits for several empty replicas, ring-node.ts; the catalog should not);
 * - a providers lookup (the source finder asks one every few seconds while a download is short) does not
 *   wait at all when the tracker named holders: it merges the ring's answer to the previous lookup of
 *   that digest (kept RING_MEMORY_MS), and the ring's answer to this one serves the next.
 */
import { SwarmError } from '../../shared/errors.js'
import type { Clock } from './clock.js'
import type {
  ContentRouting,
  NameHit,
  ProvideOptions,
  ProviderHit,
  RoutingSource,
} from './content-routing.js'

/** How long the ring's answer is waited for once the tracker's came (a loopback ring lookup: ~10 ms). */
export const RING_GRACE_MS = 500
/** How long a ring answer about a digest's holders is merged into later lookups. */
export const RING_MEMORY_MS = 60_000
/** Digests whose ring answer is remembered at most. */
const RING_MEMORY_ENTRIES = 256

export interface CombinedRoutingOptions {
  tracker: ContentRouting
  trackerOnline(): boolean
  ring: ContentRouting
  clock: Clock
}

export class CombinedRouting implements ContentRouting {
  readonly #options: CombinedRoutingOptions
  /** The ring's last answer about each digest's holders, and when it came. */
  readonly #ringProviders = new Map<string, { hits: ProviderHit[]; atMs: number }>()

  constructor(options: CombinedRoutingOptions) {
    this.#options = options
  }

  findProviders(digest: string): Promise<ProviderHit[]> {
    return this.#both(
      (routing) => {
        if (routing === this.#options.tracker) return routing.findProviders(digest)
        return routing.findProviders(digest).then((hits) => this.#remember(digest, hits))
      },
      (hit) => hit.peerId,
      (a, b) => (a.chunks === undefined && b.chunks !== undefined ? { ...a, chunks: b.chunks } : a),
      (trackerHits) => (trackerHits.length > 0 ? 0 : RING_GRACE_MS),
      () => this.#remembered(digest),
    )
  }

  #remember(digest: string, hits: ProviderHit[]): ProviderHit[] {
    const now = this.#options.clock.now()
    this.#ringProviders.delete(digest)
    this.#ringProviders.set(digest, { hits, atMs: now })
    for (const [key, kept] of this.#ringProviders) {
      if (this.#ringProviders.size <= RING_MEMORY_ENTRIES && now - kept.atMs < RING_MEMORY_MS) break
      this.#ringProviders.delete(key)
    }
    return hits
  }

  #remembered(digest: string): ProviderHit[] {
    const kept = this.#ringProviders.get(digest)
    return kept && this.#options.clock.now() - kept.atMs < RING_MEMORY_MS ? kept.hits : []
  }

  search(query: string): Promise<NameHit[]> {
    return this.#both(
      (routing) => routing.search(query),
      (hit) => hit.digest,
      (a, b) => ({
        ...a,
        names: [...new Set([...a.names, ...b.names])],
        ...(a.mime === undefined && b.mime !== undefined ? { mime: b.mime } : {}),
        ...(a.holders === undefined && b.holders !== undefined ? { holders: b.holders } : {}),
      }),
    )
  }

  provide(digest: string, options: ProvideOptions): void {
    this.#options.tracker.provide(digest, options)
    this.#options.ring.provide(digest, options)
  }

  withdraw(digest: string): void {
    this.#options.tracker.withdraw(digest)
    this.#options.ring.withdraw(digest)
  }

  async #both<H extends { source: RoutingSource; sources: readonly RoutingSource[] }>(
    ask: (routing: ContentRouting) => Promise<H[]>,
    keyOf: (hit: H) => string,
    combine: (first: H, second: H) => H = (first) => first,
    graceMs: (trackerHits: H[]) => number = () => RING_GRACE_MS,
    earlier: () => H[] = () => [],
  ): Promise<H[]> {
    const { tracker, trackerOnline, ring, clock } = this.#options
    const fromRing = ask(ring).then(
      (hits) => ({ ok: true as const, hits }),
      (error: unknown) => ({ ok: false as const, error }),
    )
    if (!trackerOnline()) {
      const answer = await fromRing
      if (!answer.ok) throw answer.error
      return answer.hits
    }
    const fromTracker = await ask(tracker).then(
      (hits) => ({ ok: true as const, hits }),
      (error: unknown) => ({ ok: false as const, error }),
    )
    let timer: unknown
    const grace = fromTracker.ok ? graceMs(fromTracker.hits) : 0
    const late = new Promise<null>((resolve) => {
      if (grace === 0) resolve(null)
      else timer = clock.setTimeout(() => resolve(null), grace)
    })
    // The tracker failed (gone mid-request): the ring's answer is awaited in full.
    const ringAnswer = fromTracker.ok ? await Promise.race([fromRing, late]) : await fromRing
    clock.clearTimeout(timer)
    const lists: H[][] = []
    if (fromTracker.ok) lists.push(fromTracker.hits)
    if (ringAnswer?.ok) lists.push(ringAnswer.hits)
    else if (fromTracker.ok) lists.push(earlier())
    if (lists.length === 0) {
      const error = fromTracker.ok ? undefined : fromTracker.error
      throw error instanceof SwarmError
        ? error
        : new SwarmError('NO_ROUTE', 'neither the tracker nor the ring answered')
    }
    return mergeHits(lists, keyOf, combine)
  }
}

/** Hits of several sources, one per key, the first source's fields first, every source listed. */
export function mergeHits<H extends { source: RoutingSource; sources: readonly RoutingSource[] }>(
  lists: H[][],
  keyOf: (hit: H) => string,
  combine: (first: H, second: H) => H,
): H[] {
  const merged = new Map<string, H>()
  for (const hits of lists) {
    for (const hit of hits) {
      const key = keyOf(hit)
      const known = merged.get(key)
      if (!known) {
        merged.set(key, hit)
        continue
      }
      const sources = [...new Set([...known.sources, ...hit.sources])]
      merged.set(key, { ...combine(known, hit), source: known.source, sources })
    }
  }
  return [...merged.values()]
}
