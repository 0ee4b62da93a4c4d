/**
 * The content-routing contract (SPEC §9), in the manner of libp2p's `ContentRouting`: who holds a digest,
 * which shared files a name matches, and telling the network what this peer holds. Two implementations,
 * the tracker's (tracker-routing.ts) and the ring's (ring-routing.ts), and one that asks both and merges
 * their answers (combined-routing.ts): the tracker when it is online, the ring always. The engine's source
 * finding and the page's search see only this interface; every hit says where it came from, so the peers
 * view and the catalog can show it.
 */

/** Where a hit was learned: the tracker, or the ring (the DHT). */
export type RoutingSource = 'tracker' | 'ring'

/** A peer that holds (some of) a file. */
export interface ProviderHit {
  peerId: string
  /** Chunks it has verified and stored; undefined when the source does not say. */
  chunks?: number
  /** The first source that named this peer (the tracker's when both did). */
  source: RoutingSource
  /** Every source that named it, in the order above. */
  sources: readonly RoutingSource[]
}

/** A shared file whose name matches a search. */
export interface NameHit {
  digest: string
  /** Names it is shared under, first the most common (one from the ring: its publisher's). */
  names: readonly string[]
  size: number
  chunkCount: number
  mime?: string
  /** Peers known to hold it; undefined when the source does not count them (the ring's name index). */
  holders?: number
  source: RoutingSource
  sources: readonly RoutingSource[]
}

/** What a published file is, for the name index (only files this peer shares in the catalog). */
export interface ProvideOptions {
  /** Chunks held (verified). */
  chunks: number
  /** Set when the file is shared publicly: it then also goes into the name index under this name. */
  name?: { name: string; size: number; chunkCount: number }
}

export interface ContentRouting {
  /** Peers that hold `digest`, never this one; [] when none is known. Rejects only when no source could be asked. */
  findProviders(digest: string): Promise<ProviderHit[]>
  /** Files whose names hold every word of `query`; [] when none. Rejects only when no source could be asked. */
  search(query: string): Promise<NameHit[]>
  /** Tells the network this peer holds `digest` (and, with `name`, lists it); republished until withdrawn. */
  provide(digest: string, options: ProvideOptions): void
  /** Stops publishing `digest` (stop sharing, remove, quit). Idempotent. */
  withdraw(digest: string): void
}
