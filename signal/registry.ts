/**
 * The swarm registry: which peers hold which files, and which chunks of them. Plain data and no sockets,
 * so every rule of the catalog is unit-testable. All state is soft: after a restart, peers re-announce.
 */
import { Bitfield } from '../shared/bitfield.js'
import type { ErrorCode } from '../shared/errors.js'
import { MAX_NAMES_PER_FILE } from '../shared/limits.js'
import { chunkCountOf, type Manifest } from '../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry, CollectionInfo } from '../shared/tracker-protocol.js'
import { CatalogOrder } from './catalog-order.js'
import { NameIndex } from './name-index.js'
import type { CatalogPage, FileRejection, RegistryStats, SwarmReply } from './registry-contract.js'

/** A holder's chunk set: `null` means complete (a seeder), which costs no bitfield. */
type Holding = Bitfield | null

interface FileRecord {
  readonly digest: string
  /** Empty while only unlisted announces name it (a private share, a collection's member): not listed. */
  readonly names: string[]
  mime: string | undefined
  collection: CollectionInfo | undefined
  /** Some holder announced it sealed (a private share). */
  sealed: boolean
  size: number
  chunkSize: number
  chunkCount: number
  readonly holders: Map<string, Holding>
  seeders: number
  rank: number
  /** Its id in the name index (name-index.ts), -1 while not indexed. */
  indexId: number
}

export type { CatalogPage, FileRejection, RegistryStats } from './registry-contract.js'

/** One file a peer holds, as an announce would give it again (redis-registry.ts replays these). */
export interface HeldFile {
  digest: string
  /** Empty for an unlisted file. */
  names: readonly string[]
  mime: string | undefined
  collection: CollectionInfo | undefined
  sealed: boolean
  size: number
  chunkSize: number
  have: 'all' | string
}

/**
 * Memory for cached manifests: a manifest costs about 80 bytes a chunk in memory, so 64 MiB holds some
 * 800,000 chunks' worth, e.g. every file of a 10,000-peer swarm that averages 80 chunks.
 */
export const DEFAULT_MANIFEST_CACHE_BYTES = 64 * 1024 * 1024
const MANIFEST_BYTES_PER_CHUNK = 80
const MANIFEST_OVERHEAD_BYTES = 200

/**
 * Search results kept, per query, until the catalog changes: a query repeated (a page after page, many
 * watchers after one change) costs its page only. Bounded by queries and by records held, so that broad
 * queries cannot pin much memory (262,144 references are 2 MiB).
 */
const MAX_CACHED_QUERIES = 64
const MAX_CACHED_RECORDS = 262_144

export class SwarmRegistry {
  readonly #files = new Map<string, FileRecord>()
  /** peer id → digests it holds. */
  readonly #peers = new Map<string, Set<string>>()
  /**
   * Verified manifests, least recently used first. Kept apart from the catalog so that a manifest
   * outlives the moment its file has no holder (a liar dropped, a seeder reconnecting).
   */
  readonly #manifests = new Map<string, Manifest>()
  #manifestBytes = 0
  #revision = 0
  /**
   * Grows when what a search returns, or its order, may change: files or holders come or go, names are
   * added. Not when only counts on a page change (a leecher completing), which pages read live.
   */
  #searchVersion = 0
  #sorted: FileRecord[] | undefined
  readonly #order = new CatalogOrder<FileRecord>()
  #leechingFiles = 0
  readonly #index = new NameIndex<FileRecord>()
  /** Query → its matches in catalog order, at the search version they were computed; least recently used first. */
  readonly #results = new Map<string, { version: number; records: FileRecord[] }>()
  #cachedRecords = 0
  #touched = 0

  constructor(
    private readonly filesPerPeer: number,
    private readonly manifestCacheBytes: number = DEFAULT_MANIFEST_CACHE_BYTES,
  ) {}

  /** Grows whenever anything a catalog page shows changes. */
  get revision(): number {
    return this.#revision
  }

  /**
   * Records the catalog has looked at since it was made: index entries and candidates checked by searches,
   * records placed when the order is rebuilt, entries put on pages. The work of a `catalog` call is the
   * growth of this across it; the tracker charges it to the asker's budgets.
   */
  get recordsTouched(): number {
    return this.#touched
  }

  addPeer(peerId: string): void {
    if (!this.#peers.has(peerId)) this.#peers.set(peerId, new Set())
  }

  hasPeer(peerId: string): boolean {
    return this.#peers.has(peerId)
  }

  /** Forgets a peer and everything it held. */
  removePeer(peerId: string): void {
    const digests = this.#peers.get(peerId)
    if (!digests) return
    for (const digest of digests) this.#drop(peerId, digest)
    this.#peers.delete(peerId)
  }

  /**
   * Records files a peer holds. Valid entries are applied; each invalid one is returned with its reason.
   * Announcing a file again replaces the chunk set held before (a reconnect re-announces everything).
   */
  announce(peerId: string, files: readonly AnnouncedFile[]): FileRejection[] {
    const held = this.#peers.get(peerId)
    if (!held) throw new Error(`announce from unknown peer ${peerId}`)
    const rejections: FileRejection[] = []
    for (const file of files) {
      const rejection = this.#announceOne(peerId, held, file)
      if (rejection) rejections.push(rejection)
    }
    return rejections
  }

  #announceOne(peerId: string, held: Set<string>, file: AnnouncedFile): FileRejection | undefined {
    const reject = (code: ErrorCode, message: string) => ({ digest: file.digest, code, message })
    const chunkCount = chunkCountOf(file.size, file.chunkSize)
    let holding: Holding = null
    if (file.have !== 'all') {
      try {
        holding = Bitfield.fromBase64(chunkCount, file.have)
      } catch (error) {
        return reject(
          'CHUNK_OUT_OF_RANGE',
          `have does not fit ${chunkCount} chunks: ${(error as Error).message}`,
        )
      }
      if (holding.complete) holding = null
    }
    const existing = this.#files.get(file.digest)
    const known = this.#manifests.get(file.digest) ?? existing
    if (known && (known.size !== file.size || known.chunkSize !== file.chunkSize)) {
      return reject(
        'FILE_CONFLICT',
        `the catalog has this digest as ${known.size} bytes in chunks of ${known.chunkSize}`,
      )
    }
    if (!held.has(file.digest) && held.size >= this.filesPerPeer) {
      return reject('TOO_MANY_FILES', `a peer holds at most ${this.filesPerPeer} files`)
    }
    const record = existing ?? this.#createFile(file, chunkCount)
    // An unlisted announce names nothing: the file stays out of the catalog unless someone lists it.
    if (
      file.name !== undefined &&
      !record.names.includes(file.name) &&
      record.names.length < MAX_NAMES_PER_FILE
    ) {
      const listing = record.names.length === 0
      if (listing) {
        // The first listed announce sets what the catalog shows beside the name.
        record.mime = file.mime
        record.collection = file.collection
      }
      record.names.push(file.name)
      this.#index.add(record, file.name)
      // The order reads names[0], which is set now and never changes: the record enters it only here.
      if (listing) this.#order.add(record)
      this.#searchVersion++
      this.#touch({ reorder: listing })
    }
    if (file.sealed) record.sealed = true
    this.#setHolding(record, peerId, holding)
    held.add(file.digest)
    return undefined
  }

  /** Marks newly verified chunks. Returns rejections for files not held or indices out of range. */
  reportChunks(
    peerId: string,
    updates: readonly { digest: string; chunks: readonly number[] }[],
  ): FileRejection[] {
    const rejections: FileRejection[] = []
    for (const { digest, chunks } of updates) {
      const record = this.#files.get(digest)
      if (!record?.holders.has(peerId)) {
        rejections.push({
          digest,
          code: 'NOT_ANNOUNCED',
          message: 'announce a file before reporting its chunks',
        })
        continue
      }
      const outOfRange = chunks.find((index) => index >= record.chunkCount)
      if (outOfRange !== undefined) {
        rejections.push({
          digest,
          code: 'CHUNK_OUT_OF_RANGE',
          message: `chunk ${outOfRange} is outside 0..${record.chunkCount - 1}`,
        })
        continue
      }
      const holding = record.holders.get(peerId)
      if (holding === null || holding === undefined) continue // a seeder already has everything
      for (const index of chunks) holding.set(index)
      if (holding.complete) this.#setHolding(record, peerId, null)
    }
    return rejections
  }

  /** Stops sharing files. Leaving a file one does not hold is not an error: the outcome is the same. */
  leave(peerId: string, digests: readonly string[]): void {
    const held = this.#peers.get(peerId)
    if (!held) return
    for (const digest of digests) {
      if (held.delete(digest)) this.#drop(peerId, digest)
    }
  }

  /** What a peer holds, each file as an announce would give it again (for replaying to Redis). */
  heldFiles(peerId: string): HeldFile[] {
    const held: HeldFile[] = []
    for (const digest of this.#peers.get(peerId) ?? []) {
      const record = this.#files.get(digest)
      if (record) held.push(heldFileOf(record, record.holders.get(peerId) ?? null))
    }
    return held
  }

  /** One file a peer holds, as an announce would give it again; undefined when it does not hold it. */
  heldFile(peerId: string, digest: string): HeldFile | undefined {
    const record = this.#files.get(digest)
    const holding = record?.holders.get(peerId)
    return record && holding !== undefined ? heldFileOf(record, holding) : undefined
  }

  /** The peers this registry knows. */
  peerIds(): IterableIterator<string> {
    return this.#peers.keys()
  }

  holds(peerId: string, digest: string): boolean {
    return this.#files.get(digest)?.holders.has(peerId) ?? false
  }

  filesOf(peerId: string): number {
    return this.#peers.get(peerId)?.size ?? 0
  }

  /** The catalog entry of a listed file; undefined for an unlisted one (or one nobody holds). */
  entry(digest: string): CatalogEntry | undefined {
    const record = this.#files.get(digest)
    return record && listed(record) ? toEntry(record) : undefined
  }

  /** Whether anyone holds the file, listed or not. */
  hasFile(digest: string): boolean {
    return this.#files.has(digest)
  }

  /**
   * One page of the catalog, most-held first, then by name. `query` matches names (case-insensitive
   * substring) or, when it looks like one, a digest prefix (name-index.ts).
   */
  catalog(query: string | undefined, offset: number, limit: number): CatalogPage {
    const needle = query?.trim().toLowerCase()
    const records = needle ? this.#matching(needle) : this.#sortedFiles()
    const files = records.slice(offset, offset + limit).map(toEntry)
    this.#touched += files.length
    return { revision: this.#revision, total: records.length, offset, files }
  }

  /** The files matching a query in catalog order, from the cache while the catalog is unchanged. */
  #matching(needle: string): FileRecord[] {
    const cached = this.#results.get(needle)
    if (cached) {
      this.#results.delete(needle)
      this.#cachedRecords -= cached.records.length
      if (cached.version === this.#searchVersion) {
        this.#remember(needle, cached.records)
        return cached.records
      }
    }
    const sorted = this.#sortedFiles() // ranks are current
    const { matches, touched } = this.#index.search(needle)
    this.#touched += touched + matches.length
    const records = inCatalogOrder(matches, sorted)
    this.#remember(needle, records)
    return records
  }

  #remember(needle: string, records: FileRecord[]): void {
    if (records.length > MAX_CACHED_RECORDS) return
    this.#results.set(needle, { version: this.#searchVersion, records })
    this.#cachedRecords += records.length
    for (const [oldest, entry] of this.#results) {
      if (this.#results.size <= MAX_CACHED_QUERIES && this.#cachedRecords <= MAX_CACHED_RECORDS) break
      this.#results.delete(oldest)
      this.#cachedRecords -= entry.records.length
    }
  }

  /**
   * Up to `limit` holders of a file other than `exceptPeerId`, with their chunk sets. When there are
   * more, a random sample, so that every holder gets asked and load spreads.
   */
  peers(digest: string, exceptPeerId: string, limit: number): SwarmReply | undefined {
    const record = this.#files.get(digest)
    if (!record) return undefined
    const ids = [...record.holders.keys()].filter((id) => id !== exceptPeerId)
    for (let i = 0; i < Math.min(limit, ids.length); i++) {
      const j = i + Math.floor(Math.random() * (ids.length - i))
      ;[ids[i], ids[j]] = [ids[j]!, ids[i]!]
    }
    const peers = ids.slice(0, limit).map((peerId) => {
      const holding = record.holders.get(peerId)
      return { peerId, have: holding ? holding.toBase64() : 'all' }
    })
    return record.sealed
      ? { chunkCount: record.chunkCount, peers, sealed: true }
      : { chunkCount: record.chunkCount, peers }
  }

  /**
   * Caches a manifest already checked against its digest. A verified manifest is the truth about the
   * file's shape: if the catalog had it otherwise (a peer lied first), every holder of the false shape is
   * dropped (the entry goes with them) and announces of the true shape are accepted from then on.
   * Returns the peers dropped.
   */
  putManifest(digest: string, manifest: Manifest): string[] {
    this.#cacheManifest(digest, manifest)
    const record = this.#files.get(digest)
    if (!record || (record.size === manifest.size && record.chunkSize === manifest.chunkSize)) return []
    const liars = [...record.holders.keys()]
    for (const peerId of liars) {
      this.#peers.get(peerId)?.delete(digest)
      this.#drop(peerId, digest)
    }
    return liars
  }

  manifest(digest: string): Manifest | undefined {
    const manifest = this.#manifests.get(digest)
    if (manifest) {
      // refresh its place in the LRU order
      this.#manifests.delete(digest)
      this.#manifests.set(digest, manifest)
    }
    return manifest
  }

  #cacheManifest(digest: string, manifest: Manifest): void {
    if (this.#manifests.has(digest)) return
    this.#manifests.set(digest, manifest)
    this.#manifestBytes += manifestCost(manifest)
    for (const [oldest, evicted] of this.#manifests) {
      if (this.#manifestBytes <= this.manifestCacheBytes) break
      this.#manifests.delete(oldest)
      this.#manifestBytes -= manifestCost(evicted)
    }
  }

  stats(): RegistryStats {
    let holdings = 0
    for (const record of this.#files.values()) holdings += record.holders.size
    return {
      peers: this.#peers.size,
      files: this.#files.size,
      swarms: this.#leechingFiles,
      holdings,
      cachedManifests: this.#manifests.size,
    }
  }

  #createFile(file: AnnouncedFile, chunkCount: number): FileRecord {
    const record: FileRecord = {
      digest: file.digest,
      names: [],
      mime: undefined,
      collection: undefined,
      sealed: false,
      size: file.size,
      chunkSize: file.chunkSize,
      chunkCount,
      holders: new Map(),
      seeders: 0,
      rank: 0,
      indexId: -1,
    }
    this.#files.set(file.digest, record)
    return record
  }

  #setHolding(record: FileRecord, peerId: string, holding: Holding): void {
    const hadLeechers = record.holders.size > record.seeders
    const before = record.holders.get(peerId)
    if (before === null) record.seeders--
    record.holders.set(peerId, holding)
    if (holding === null) record.seeders++
    this.#countLeeching(record, hadLeechers)
    if (listed(record)) this.#touch({ reorder: before === undefined })
  }

  #drop(peerId: string, digest: string): void {
    const record = this.#files.get(digest)
    if (!record) return
    const hadLeechers = record.holders.size > record.seeders
    const holding = record.holders.get(peerId)
    if (holding === undefined) return
    if (holding === null) record.seeders--
    record.holders.delete(peerId)
    if (record.holders.size === 0) {
      this.#files.delete(digest)
      this.#index.remove(record)
    }
    this.#countLeeching(record, hadLeechers)
    if (listed(record)) this.#touch({ reorder: true })
  }

  #countLeeching(record: FileRecord, hadLeechers: boolean): void {
    const hasLeechers = record.holders.size > record.seeders
    if (hasLeechers !== hadLeechers) this.#leechingFiles += hasLeechers ? 1 : -1
  }

  /**
   * Something a page shows changed; with `reorder`, the catalog order (holder counts, files) did too.
   * Unlisted records never call this: their comings and goings show on no page, and watchers of the
   * catalog are not woken by them.
   */
  #touch({ reorder = false } = {}): void {
    this.#revision++
    if (!reorder) return
    this.#sorted = undefined
    this.#searchVersion++
  }

  #sortedFiles(): FileRecord[] {
    if (!this.#sorted) {
      // A record leaves #files exactly when its last holder goes, and is never reused after. Only listed
      // records were ever added to the order (#announceOne), so an unlisted one is never ranked.
      const { order, touched } = this.#order.build((record) => record.holders.size > 0)
      this.#sorted = order
      this.#touched += touched
    }
    return this.#sorted
  }
}

/**
 * `matches` in catalog order: sorted by rank when they are few, picked out of the whole order when they
 * are many (a pass over n files beats sorting k of them once k log k passes n).
 */
function inCatalogOrder(matches: FileRecord[], sorted: FileRecord[]): FileRecord[] {
  if (matches.length * Math.log2(matches.length + 1) < sorted.length)
    return matches.sort((a, b) => a.rank - b.rank)
  const picked = new Uint8Array(sorted.length)
  for (const record of matches) picked[record.rank] = 1
  return sorted.filter((record) => picked[record.rank] === 1)
}

function heldFileOf(record: FileRecord, holding: Holding): HeldFile {
  return {
    digest: record.digest,
    names: record.names,
    mime: record.mime,
    collection: record.collection,
    sealed: record.sealed,
    size: record.size,
    chunkSize: record.chunkSize,
    have: holding ? holding.toBase64() : 'all',
  }
}

/** Named by some listed announce. An unlisted record changes nothing a catalog page or search shows. */
function listed(record: FileRecord): boolean {
  return record.names.length > 0
}

function manifestCost(manifest: Manifest): number {
  return MANIFEST_OVERHEAD_BYTES + manifest.hashes.length * MANIFEST_BYTES_PER_CHUNK
}

function toEntry(record: FileRecord): CatalogEntry {
  const entry: CatalogEntry = {
    digest: record.digest,
    names: [...record.names],
    size: record.size,
    chunkSize: record.chunkSize,
    chunkCount: record.chunkCount,
    seeders: record.seeders,
    leechers: record.holders.size - record.seeders,
  }
  if (record.mime !== undefined) entry.mime = record.mime
  if (record.collection !== undefined) entry.collection = { ...record.collection }
  return entry
}
