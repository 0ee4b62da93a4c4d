/**
 * The swarm registry: which peers hold which files, and which chunks of them. Plain data and no sockets,
 * so every rule of the catalog is unit-testable. All state is soft: after a restart, peers re-announce.
 */
import { Bitfield } from '../shared/bitfield.js'
import type { ErrorCode } from '../shared/errors.js'
import { MAX_NAMES_PER_FILE } from '../shared/limits.js'
import { chunkCountOf, type Manifest } from '../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry, CollectionInfo, SwarmPeer } from '../shared/tracker-protocol.js'
import { CatalogOrder } from './catalog-order.js'
import { Interner, IntSet } from './int-set.js'
import { NameIndex } from './name-index.js'
import type { CatalogPage, FileRejection, RegistryStats, SwarmReply } from './registry-contract.js'

/**
 * A holder's chunk set as kept: its bitfield's canonical base64 (what `peers` replies carry), or `null`
 * for complete (a seeder), which costs nothing. A string, not a `Bitfield`: a tenth of the bytes at
 * 100,000 partial holdings (~29 MiB of heap as objects), and no encoding per `peers` reply.
 */
type Holding = string | null

/*
 * Memory layout (issue 15): at 10,000 peers × 100 files the registry holds a million holdings. Peer ids are
 * interned to small numbers (#peerNumbers), and files get numbers of their own (FileRecord.slot); a file's
 * seeders and a peer's files are sorted packed arrays of those numbers (int-set.ts), a machine word a
 * holding on each side, and only the partial holders (a leecher's bitfield) sit in a Map. Before, each
 * holding was a `Map<peerId, Holding>` entry on the file and a `Set<digest>` entry on the peer.
 */

interface FileRecord {
  readonly digest: string
  /** Its number while it has holders: what a peer's file set holds. */
  readonly slot: number
  /** Empty while only unlisted announces name it (a private share, a collection's member): not listed. */
  readonly names: string[]
  mime: string | undefined
  collection: CollectionInfo | undefined
  /** Some holder announced it sealed (a private share). */
  sealed: boolean
  size: number
  chunkSize: number
  chunkCount: number
  /** Numbers of the peers that hold all of it. */
  readonly seeders: IntSet
  /** Peer number → chunk set, for the peers that hold part of it; undefined while there are none. */
  partial: Map<number, string> | undefined
  /** Seeders and partial holders. */
  holderCount: number
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
  /** File number → record (FileRecord.slot), and the numbers free for reuse. */
  readonly #fileSlots: (FileRecord | undefined)[] = []
  readonly #freeSlots: number[] = []
  readonly #peerNumbers = new Interner()
  /** Peer number → the numbers of the files it holds. */
  readonly #peerFiles: (IntSet | undefined)[] = []
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
    const peer = this.#peerNumbers.intern(peerId)
    this.#peerFiles[peer] ??= new IntSet()
  }

  hasPeer(peerId: string): boolean {
    return this.#peerNumbers.numberOf(peerId) !== undefined
  }

  /** Forgets a peer and everything it held. */
  removePeer(peerId: string): void {
    const peer = this.#peerNumbers.numberOf(peerId)
    if (peer === undefined) return
    const held = this.#peerFiles[peer]!
    for (let i = 0; i < held.size; i++) this.#drop(peer, this.#fileSlots[held.at(i)]!)
    this.#peerFiles[peer] = undefined
    this.#peerNumbers.release(peerId)
  }

  /**
   * Records files a peer holds. Valid entries are applied; each invalid one is returned with its reason.
   * Announcing a file again replaces the chunk set held before (a reconnect re-announces everything).
   */
  announce(peerId: string, files: readonly AnnouncedFile[]): FileRejection[] {
    const peer = this.#peerNumbers.numberOf(peerId)
    if (peer === undefined) throw new Error(`announce from unknown peer ${peerId}`)
    const held = this.#peerFiles[peer]!
    const rejections: FileRejection[] = []
    for (const file of files) {
      const rejection = this.#announceOne(peer, held, file)
      if (rejection) rejections.push(rejection)
    }
    return rejections
  }

  #announceOne(peer: number, held: IntSet, file: AnnouncedFile): FileRejection | undefined {
    const reject = (code: ErrorCode, message: string) => ({ digest: file.digest, code, message })
    const chunkCount = chunkCountOf(file.size, file.chunkSize)
    let holding: Holding = null
    if (file.have !== 'all') {
      let bitfield: Bitfield
      try {
        bitfield = Bitfield.fromBase64(chunkCount, file.have)
      } catch (error) {
        return reject(
          'CHUNK_OUT_OF_RANGE',
          `have does not fit ${chunkCount} chunks: ${(error as Error).message}`,
        )
      }
      // Encoded again: a string of its own, not one that could keep the client's whole message alive.
      if (!bitfield.complete) holding = bitfield.toBase64()
    }
    const existing = this.#files.get(file.digest)
    const known = this.#manifests.get(file.digest) ?? existing
    if (known && (known.size !== file.size || known.chunkSize !== file.chunkSize)) {
      return reject(
        'FILE_CONFLICT',
        `the catalog has this digest as ${known.size} bytes in chunks of ${known.chunkSize}`,
      )
    }
    if (!(existing && held.has(existing.slot)) && held.size >= this.filesPerPeer) {
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
    this.#setHolding(record, peer, holding)
    held.add(record.slot)
    return undefined
  }

  /** Marks newly verified chunks. Returns rejections for files not held or indices out of range. */
  reportChunks(
    peerId: string,
    updates: readonly { digest: string; chunks: readonly number[] }[],
  ): FileRejection[] {
    const rejections: FileRejection[] = []
    const peer = this.#peerNumbers.numberOf(peerId)
    for (const { digest, chunks } of updates) {
      const record = this.#files.get(digest)
      if (!record || peer === undefined || !this.#peerFiles[peer]!.has(record.slot)) {
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
      const held = record.partial?.get(peer!)
      if (held === undefined) continue // a seeder already has everything
      const holding = Bitfield.fromBase64(record.chunkCount, held)
      for (const index of chunks) holding.set(index)
      // A chunk more of a part shows on no catalog page (no revision); completing it makes a seeder.
      if (holding.complete) this.#setHolding(record, peer!, null)
      else record.partial!.set(peer!, holding.toBase64())
    }
    return rejections
  }

  /** Stops sharing files. Leaving a file one does not hold is not an error: the outcome is the same. */
  leave(peerId: string, digests: readonly string[]): void {
    const peer = this.#peerNumbers.numberOf(peerId)
    if (peer === undefined) return
    const held = this.#peerFiles[peer]!
    for (const digest of digests) {
      const record = this.#files.get(digest)
      if (record && held.delete(record.slot)) this.#drop(peer, record)
    }
  }

  /** What a peer holds, each file as an announce would give it again (for replaying to Redis). */
  heldFiles(peerId: string): HeldFile[] {
    const peer = this.#peerNumbers.numberOf(peerId)
    if (peer === undefined) return []
    const slots = this.#peerFiles[peer]!
    const held: HeldFile[] = []
    for (let i = 0; i < slots.size; i++) {
      const record = this.#fileSlots[slots.at(i)]!
      held.push(heldFileOf(record, this.#holding(record, peer)!))
    }
    return held
  }

  /** One file a peer holds, as an announce would give it again; undefined when it does not hold it. */
  heldFile(peerId: string, digest: string): HeldFile | undefined {
    const record = this.#files.get(digest)
    const peer = this.#peerNumbers.numberOf(peerId)
    const holding = record && peer !== undefined ? this.#holding(record, peer) : undefined
    return holding === undefined ? undefined : heldFileOf(record!, holding)
  }

  /** The peers this registry knows. */
  peerIds(): IterableIterator<string> {
    return this.#peerNumbers.names()
  }

  holds(peerId: string, digest: string): boolean {
    const record = this.#files.get(digest)
    const peer = this.#peerNumbers.numberOf(peerId)
    return record !== undefined && peer !== undefined && this.#peerFiles[peer]!.has(record.slot)
  }

  filesOf(peerId: string): number {
    const peer = this.#peerNumbers.numberOf(peerId)
    return peer === undefined ? 0 : this.#peerFiles[peer]!.size
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
    const except = this.#peerNumbers.numberOf(exceptPeerId)
    const partial = record.partial ? [...record.partial.keys()] : []
    const seeders = record.seeders.size
    // A random sample of the holders' places (seeders first, then partial holders), one spare in case the
    // asker is among them: drawn without listing every holder, which for a popular file is thousands.
    const places = samplePlaces(record.holderCount, Math.min(limit + 1, record.holderCount))
    const peers: SwarmPeer[] = []
    for (const place of places) {
      if (peers.length === limit) break
      const peer = place < seeders ? record.seeders.at(place) : partial[place - seeders]!
      if (peer === except) continue
      const holding = place < seeders ? undefined : record.partial!.get(peer)
      peers.push({ peerId: this.#peerNumbers.nameOf(peer), have: holding ?? 'all' })
    }
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
    const liars = [...record.seeders.toArray(), ...(record.partial?.keys() ?? [])]
    for (const peer of liars) {
      this.#peerFiles[peer]!.delete(record.slot)
      this.#drop(peer, record)
    }
    return liars.map((peer) => this.#peerNumbers.nameOf(peer))
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
    for (const record of this.#files.values()) holdings += record.holderCount
    return {
      peers: this.#peerNumbers.size,
      files: this.#files.size,
      swarms: this.#leechingFiles,
      holdings,
      cachedManifests: this.#manifests.size,
    }
  }

  #createFile(file: AnnouncedFile, chunkCount: number): FileRecord {
    const record: FileRecord = {
      digest: file.digest,
      slot: this.#freeSlots.pop() ?? this.#fileSlots.length,
      names: [],
      mime: undefined,
      collection: undefined,
      sealed: false,
      size: file.size,
      chunkSize: file.chunkSize,
      chunkCount,
      seeders: new IntSet(),
      partial: undefined,
      holderCount: 0,
      rank: 0,
      indexId: -1,
    }
    this.#files.set(file.digest, record)
    this.#fileSlots[record.slot] = record
    return record
  }

  /** The peer's chunk set of the file: null when it holds all, undefined when it holds none. */
  #holding(record: FileRecord, peer: number): Holding | undefined {
    const partial = record.partial?.get(peer)
    if (partial !== undefined) return partial
    return record.seeders.has(peer) ? null : undefined
  }

  #setHolding(record: FileRecord, peer: number, holding: Holding): void {
    const hadLeechers = leeching(record)
    const before = this.#holding(record, peer)
    if (before === null) record.seeders.delete(peer)
    else if (before !== undefined) record.partial!.delete(peer)
    if (holding === null) record.seeders.add(peer)
    else {
      record.partial ??= new Map()
      record.partial.set(peer, holding)
    }
    if (record.partial?.size === 0) record.partial = undefined
    if (before === undefined) record.holderCount++
    this.#countLeeching(record, hadLeechers)
    if (listed(record)) this.#touch({ reorder: before === undefined })
  }

  /** Takes the peer off the file's holders (the caller takes the file off the peer's set). */
  #drop(peer: number, record: FileRecord): void {
    const hadLeechers = leeching(record)
    if (!record.seeders.delete(peer)) {
      if (!record.partial?.delete(peer)) return
      if (record.partial.size === 0) record.partial = undefined
    }
    record.holderCount--
    if (record.holderCount === 0) {
      this.#files.delete(record.digest)
      this.#fileSlots[record.slot] = undefined
      this.#freeSlots.push(record.slot)
      this.#index.remove(record)
    }
    this.#countLeeching(record, hadLeechers)
    if (listed(record)) this.#touch({ reorder: true })
  }

  #countLeeching(record: FileRecord, hadLeechers: boolean): void {
    const hasLeechers = leeching(record)
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
      const { order, touched } = this.#order.build((record) => record.holderCount > 0)
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
    have: holding ?? 'all',
  }
}

/** Some holder holds only part of it: a download is under way. */
function leeching(record: FileRecord): boolean {
  return record.partial !== undefined
}

/**
 * `count` distinct places in 0..n-1 in random order (Floyd's sampling, then shuffled): O(count), however
 * large n is.
 */
function samplePlaces(n: number, count: number): number[] {
  const chosen = new Set<number>()
  for (let j = n - count; j < n; j++) {
    const place = Math.floor(Math.random() * (j + 1))
    chosen.add(chosen.has(place) ? j : place)
  }
  const places = [...chosen]
  for (let i = places.length - 1; i > 0; i--) {
    const k = Math.floor(Math.random() * (i + 1))
    ;[places[i], places[k]] = [places[k]!, places[i]!]
  }
  return places
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
    seeders: record.seeders.size,
    leechers: record.partial?.size ?? 0,
  }
  if (record.mime !== undefined) entry.mime = record.mime
  if (record.collection !== undefined) entry.collection = { ...record.collection }
  return entry
}
