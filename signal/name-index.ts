/**
 * The catalog's search index: file names by trigram, digests by their first four hex digits. A query
 * looks only at the files listed under the rarest trigram of the query (or the digest bucket), and checks
 * each of those candidates for the whole query, so it costs in proportion to those candidates rather than
 * to the catalog: the linear scan it replaces cost ~10 ms a query at 100,000 files.
 *
 * Matching is a case-insensitive substring of any of a file's names, as users of a search box expect: a
 * query that is part of a word ("olid" in "Holiday") matches. Queries of one or two characters have no
 * trigram and check every name (they match most of a catalog anyway); the caller charges that cost.
 *
 * Plain data (no sockets, no timers), and apart from the registry, which keeps the catalog's order: the
 * registry asks it which files match and counts the records it touched.
 */

/** Digest prefixes shorter than this match too much to be what a user meant. */
export const MIN_DIGEST_PREFIX = 4
export const GRAM = 3
/**
 * Hex digits that pick a digest bucket: 4,096 buckets, about 25 files each at 100,000 files (65,536 buckets
 * of two each cost ~4 MiB more in arrays for little less work).
 */
const BUCKET_HEX = 3
export const HEX_QUERY = /^[0-9a-f]+$/
/** A posting is compacted once this share of it names removed files (amortised: each removal pays O(1)). */
const STALE_SHARE = 0.5

export interface NameMatches<T> {
  /** The items of the files that match, each once, in no particular order. */
  matches: T[]
  /** Index entries and candidate files looked at: the work the query did. */
  touched: number
}

/**
 * What the caller indexes: a file with its digest, on which the index keeps the file's id (so that it
 * needs no map of its own from digest to file: the registry has one). -1 means not indexed.
 */
export interface IndexedFile {
  readonly digest: string
  indexId: number
}

/** Below this many ids a posting is a plain array: a typed array's own overhead is larger than small lists. */
const TYPED_FROM = 32

/**
 * The ids of the files under one trigram. Ids of removed files stay until compaction, and an id is reused
 * by a later file: every candidate is checked against the query anyway, and a reused id that does not
 * hold the trigram is dropped at the next compaction.
 */
class Posting {
  ids: number[] | Uint32Array = []
  length = 0
  stale = 0

  push(id: number): void {
    if (Array.isArray(this.ids)) {
      this.ids.push(id)
      this.length++
      if (this.length >= TYPED_FROM) {
        const typed = new Uint32Array(this.length * 2)
        typed.set(this.ids)
        this.ids = typed
      }
      return
    }
    if (this.length === this.ids.length) {
      // By half again, not double: a posting wastes a fifth of its storage on average, not a third.
      const grown = new Uint32Array(Math.ceil(this.ids.length * 1.5))
      grown.set(this.ids)
      this.ids = grown
    }
    this.ids[this.length++] = id
  }

  /** Keeps the ids `keep` accepts, each once; shrinks the storage to fit. */
  compact(keep: (id: number) => boolean): void {
    const kept: number[] = []
    const once = new Set<number>()
    for (let i = 0; i < this.length; i++) {
      const id = this.ids[i]!
      if (!once.has(id) && keep(id)) {
        once.add(id)
        kept.push(id)
      }
    }
    this.length = kept.length
    this.stale = 0
    this.ids = kept.length < TYPED_FROM ? kept : Uint32Array.from(kept)
  }
}

/**
 * File names by trigram, digests by prefix. Per file, by id, in parallel arrays rather than an object
 * each (100,000 files: a few MiB less): the file, its lowercased names, and the search that last matched it.
 */
export class NameIndex<T extends IndexedFile> {
  readonly #files: (T | undefined)[] = []
  /** Lowercased once: lowercasing every name on every query cost 15 ms at 100,000 files. */
  readonly #names: string[][] = []
  /** The search that last matched each file, so that a file matched twice counts once. */
  readonly #seen: number[] = []
  readonly #freeIds: number[] = []
  readonly #grams = new Map<string, Posting>()
  readonly #buckets = new Map<number, number[]>()
  #size = 0
  #searches = 0

  get size(): number {
    return this.#size
  }

  /** Indexes `name` for `file` (registering the file if new). Adding a name the file has already is a no-op. */
  add(file: T, name: string): void {
    let id = file.indexId
    if (id < 0 || this.#files[id] !== file) {
      id = this.#freeIds.pop() ?? this.#files.length
      file.indexId = id
      this.#files[id] = file
      this.#names[id] = []
      this.#seen[id] = 0
      this.#size++
      const key = bucketOf(file.digest)
      if (key !== undefined) {
        const bucket = this.#buckets.get(key)
        if (bucket) bucket.push(id)
        else this.#buckets.set(key, [id])
      }
    }
    const names = this.#names[id]!
    const lower = name.toLowerCase()
    if (names.includes(lower)) return
    const known = gramsOf(names)
    names.push(lower)
    for (const gram of gramsOf([lower])) {
      if (known.has(gram)) continue
      let posting = this.#grams.get(gram)
      if (!posting) {
        posting = new Posting()
        this.#grams.set(gram, posting)
      }
      posting.push(id)
    }
  }

  /** Forgets a file and its names. */
  remove(file: T): void {
    const id = file.indexId
    if (id < 0 || this.#files[id] !== file) return
    const names = this.#names[id]!
    file.indexId = -1
    this.#files[id] = undefined
    this.#names[id] = []
    this.#freeIds.push(id)
    this.#size--
    const key = bucketOf(file.digest)
    const bucket = key === undefined ? undefined : this.#buckets.get(key)
    if (bucket && key !== undefined) {
      const at = bucket.indexOf(id)
      if (at >= 0) {
        bucket[at] = bucket[bucket.length - 1]!
        bucket.pop()
      }
      if (bucket.length === 0) this.#buckets.delete(key)
    }
    for (const gram of gramsOf(names)) {
      const posting = this.#grams.get(gram)
      if (!posting) continue
      posting.stale++
      if (posting.stale <= posting.length * STALE_SHARE) continue
      posting.compact((other) => this.#names[other]?.some((name) => name.includes(gram)) ?? false)
      if (posting.length === 0) this.#grams.delete(gram)
    }
  }

  /**
   * The files whose name contains `query` (case-insensitive), and, when `query` looks like one, whose
   * digest starts with it. `query` is taken as given: trim it first.
   */
  search(query: string): NameMatches<T> {
    const needle = query.toLowerCase()
    const search = ++this.#searches
    const matches: T[] = []
    const found = (id: number) => {
      if (this.#seen[id] === search) return
      this.#seen[id] = search
      matches.push(this.#files[id]!)
    }
    let touched = 0
    if (needle.length >= MIN_DIGEST_PREFIX && HEX_QUERY.test(needle)) {
      for (const id of this.#buckets.get(bucketOf(needle)!) ?? []) {
        touched++
        if (this.#files[id]?.digest.startsWith(needle)) found(id)
      }
    }
    touched += this.#searchNames(needle, found)
    return { matches, touched }
  }

  /** Passes the id of each file with a name containing `needle` to `found`; returns the work done. */
  #searchNames(needle: string, found: (id: number) => void): number {
    if (needle.length === 0) return 0
    const matches = (id: number) =>
      this.#files[id] !== undefined && this.#names[id]!.some((name) => name.includes(needle))
    if (needle.length < GRAM) {
      for (let id = 0; id < this.#files.length; id++) if (matches(id)) found(id)
      return this.#size
    }
    let rarest: Posting | undefined
    let looked = 0
    for (const gram of gramsOf([needle])) {
      looked++
      const posting = this.#grams.get(gram)
      if (!posting) return looked // a trigram no name has: nothing can match
      if (!rarest || posting.length < rarest.length) rarest = posting
    }
    if (!rarest) return looked
    for (let i = 0; i < rarest.length; i++) {
      const id = rarest.ids[i]!
      if (matches(id)) found(id)
    }
    return looked + rarest.length
  }
}

/** The distinct trigrams of some names. */
export function gramsOf(names: readonly string[]): Set<string> {
  const grams = new Set<string>()
  for (const name of names) for (let i = 0; i + GRAM <= name.length; i++) grams.add(name.slice(i, i + GRAM))
  return grams
}

/** The digest bucket of a hex string of at least BUCKET_HEX digits. */
function bucketOf(hex: string): number | undefined {
  if (hex.length < BUCKET_HEX) return undefined
  const key = Number.parseInt(hex.slice(0, BUCKET_HEX), 16)
  return Number.isNaN(key) ? undefined : key
}
