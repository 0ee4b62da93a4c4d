/**
 * The registry's contract: which peers hold which files, and which chunks of them. Two implementations
 * sit behind it, chosen by the composition root (server.ts): memory-registry.ts (one process, the
 * default) and redis-registry.ts (`REDIS_URL` set: every instance shares one swarm through Redis). One
 * contract suite (test/server/registry.test.ts) runs against both.
 *
 * A call may answer at once or later (`Maybe`): the memory registry answers at once, so one process
 * keeps its synchronous path (no promise per message); Redis answers later. A connection's calls are made
 * one at a time in the order its messages came (connection.ts), so an announce is applied before the
 * chunk report that follows it.
 */
import type { ErrorCode } from '../shared/errors.js'
import type { Manifest } from '../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry, SwarmPeer } from '../shared/tracker-protocol.js'

/** A value now, or a promise of it: what a registry call gives back. */
export type Maybe<T> = T | Promise<T>

/** Runs `then` on `value` at once when it is there, or when its promise settles. */
export function after<T, R>(value: Maybe<T>, then: (settled: T) => Maybe<R>): Maybe<R> {
  return value instanceof Promise ? value.then(then) : then(value)
}

export interface FileRejection {
  digest: string
  code: ErrorCode
  message: string
}

export interface CatalogPage {
  revision: number
  total: number
  offset: number
  files: CatalogEntry[]
}

export interface RegistryStats {
  peers: number
  files: number
  /** Files with at least one leecher: where a download is under way. */
  swarms: number
  holdings: number
  cachedManifests: number
}

/** A file's holders as a `peers` reply gives them. */
export interface SwarmReply {
  chunkCount: number
  peers: SwarmPeer[]
  sealed?: true
}

export interface ChunkUpdate {
  digest: string
  chunks: readonly number[]
}

export interface Registry {
  /**
   * Grows whenever anything a catalog page shows changes. With Redis, the cluster's revision as this
   * instance last heard it (its own changes at once, other instances' within a notice interval).
   */
  readonly revision: number
  /**
   * Catalog records looked at so far (index entries, candidates, records ordered, entries paged): the
   * work of a `catalog` call is what it returns as `touched`; this total is for benchmarks.
   */
  readonly recordsTouched: number
  /**
   * Registers a connected peer. A peer id held already (by a connection on this or another instance) is
   * taken over: what the earlier holder of the id announced is forgotten.
   */
  addPeer(peerId: string): Maybe<void>
  hasPeer(peerId: string): Maybe<boolean>
  /** Forgets a peer and everything it held. */
  removePeer(peerId: string): Maybe<void>
  /**
   * Records files a peer holds. Valid entries are applied; each invalid one is returned with its reason.
   * Announcing a file again replaces the chunk set held before (a reconnect re-announces everything).
   */
  announce(peerId: string, files: readonly AnnouncedFile[]): Maybe<FileRejection[]>
  /** Marks newly verified chunks. Returns rejections for files not held or indices out of range. */
  reportChunks(peerId: string, updates: readonly ChunkUpdate[]): Maybe<FileRejection[]>
  /** Stops sharing files. Leaving a file one does not hold is not an error: the outcome is the same. */
  leave(peerId: string, digests: readonly string[]): Maybe<void>
  holds(peerId: string, digest: string): Maybe<boolean>
  filesOf(peerId: string): Maybe<number>
  /** The catalog entry of a listed file; undefined for an unlisted one (a private share, a collection's member) or one nobody holds. */
  entry(digest: string): Maybe<CatalogEntry | undefined>
  /** Whether anyone holds the file, listed or not: what a manifest may be given for. */
  hasFile(digest: string): Maybe<boolean>
  /**
   * One page of the catalog, most-held first, then by name, then by digest. `query` matches names
   * (case-insensitive substring) or, when it looks like one, a digest prefix. `touched` is the records
   * the call looked at, which the tracker charges to the asker's catalog budget.
   */
  catalog(
    query: string | undefined,
    offset: number,
    limit: number,
  ): Maybe<{ page: CatalogPage; touched: number }>
  /**
   * Up to `limit` holders of a file other than `exceptPeerId`, with their chunk sets. When there are
   * more, a random sample, so that every holder gets asked and load spreads. `sealed` once any holder
   * announced the file sealed (a private share).
   */
  peers(digest: string, exceptPeerId: string, limit: number): Maybe<SwarmReply | undefined>
  /**
   * Caches a manifest already checked against its digest. If the catalog had the file in another shape
   * (a peer lied first), every holder of the false shape is dropped; returns the peers dropped.
   */
  putManifest(digest: string, manifest: Manifest): Maybe<string[]>
  manifest(digest: string): Maybe<Manifest | undefined>
  /** The whole swarm's figures (with Redis, every instance's). */
  stats(): Maybe<RegistryStats>
  /** The figures of what this instance's own peers hold (without Redis, the same as `stats`). */
  localStats(): RegistryStats
}
