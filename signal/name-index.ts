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
const GRAM = 3
/** Hex digits that pick a digest bucket: 65,536 buckets, about two files each at 100,000 files. */
const BUCKET_HEX = 4
const HEX_QUERY = /^[0-9a-f]+$/
/** A posting is compacted once this share of it names removed files (amortised: each removal pays O(1)). */
const STALE_SHARE = 0.5

export interface NameMatches<T> {
  /** The items of the files that match, each once, in no particular order. */
  matches: T[]
  /** Index entries and candidate files looked at: the work the query did. */
  touched: number
}

interface Entry<T> {
  readonly digest: string
  /** Lowercased once: lowercasing every name on every query cost 15 ms at 100,000 files. */
  readonly names: string[]
  readonly item: T
  /** Set when the file is removed; postings drop such entries when they are compacted. */
  removed: boolean
  /** The search that last matched it, so that a file matched twice (by digest and by name) counts once. */
  seen: number
}

/** The files under one trigram. Removed files stay until compaction; a file added again is a new entry. */
interface Posting<T> {
  entries: Entry<T>[]
  stale: number
}

/** File names by trigram, digests by prefix; `T` is what the caller keeps per file (the registry's record). */
export class NameIndex<T> {
  readonly #entries = new Map<string, Entry<T>>()
  readonly #grams = new Map<string, Posting<T>>()
  readonly #buckets = new Map<number, Entry<T>[]>()
  #searches = 0

  get size(): number {
    return this.#entries.size
  }

  /**
   * Indexes `name` for the file `digest`; the first add of a file registers it with `item`. Adding a name
   * the file has already is a no-op.
   */
  add(digest: string, name: string, item: T): void {
    let entry = this.#entries.get(digest)
    if (!entry) {
      entry = { digest, names: [], item, removed: false, seen: 0 }
      this.#entries.set(digest, entry)
      const key = bucketOf(digest)
      if (key !== undefined) {
        const bucket = this.#buckets.get(key)
        if (bucket) bucket.push(entry)
        else this.#buckets.set(key, [entry])
      }
    }
    const lower = name.toLowerCase()
    if (entry.names.includes(lower)) return
    const known = gramsOf(entry.names)
    entry.names.push(lower)
    for (const gram of gramsOf([lower])) {
      if (known.has(gram)) continue
      const posting = this.#grams.get(gram)
      if (posting) posting.entries.push(entry)
      else this.#grams.set(gram, { entries: [entry], stale: 0 })
    }
  }

  /** Forgets a file and its names. */
  remove(digest: string): void {
    const entry = this.#entries.get(digest)
    if (!entry) return
    entry.removed = true
    this.#entries.delete(digest)
    const key = bucketOf(digest)
    const bucket = key === undefined ? undefined : this.#buckets.get(key)
    if (bucket && key !== undefined) {
      const at = bucket.indexOf(entry)
      if (at >= 0) {
        bucket[at] = bucket[bucket.length - 1]!
        bucket.pop()
      }
      if (bucket.length === 0) this.#buckets.delete(key)
    }
    for (const gram of gramsOf(entry.names)) {
      const posting = this.#grams.get(gram)
      if (!posting) continue
      posting.stale++
      if (posting.stale <= posting.entries.length * STALE_SHARE) continue
      posting.entries = posting.entries.filter((other) => !other.removed)
      posting.stale = 0
      if (posting.entries.length === 0) this.#grams.delete(gram)
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
    const found = (entry: Entry<T>) => {
      if (entry.seen === search) return
      entry.seen = search
      matches.push(entry.item)
    }
    let touched = 0
    if (needle.length >= MIN_DIGEST_PREFIX && HEX_QUERY.test(needle)) {
      for (const entry of this.#buckets.get(bucketOf(needle)!) ?? []) {
        touched++
        if (entry.digest.startsWith(needle)) found(entry)
      }
    }
    touched += this.#searchNames(needle, found)
    return { matches, touched }
  }

  /** Passes each file with a name containing `needle` to `found`; returns the work done. */
  #searchNames(needle: string, found: (entry: Entry<T>) => void): number {
    if (needle.length === 0) return 0
    const matches = (entry: Entry<T>) => entry.names.some((name) => name.includes(needle))
    if (needle.length < GRAM) {
      for (const entry of this.#entries.values()) if (matches(entry)) found(entry)
      return this.#entries.size
    }
    let rarest: Posting<T> | undefined
    let looked = 0
    for (const gram of gramsOf([needle])) {
      looked++
      const posting = this.#grams.get(gram)
      if (!posting) return looked // a trigram no name has: nothing can match
      if (!rarest || posting.entries.length < rarest.entries.length) rarest = posting
    }
    if (!rarest) return looked
    for (const entry of rarest.entries) if (!entry.removed && matches(entry)) found(entry)
    return looked + rarest.entries.length
  }
}

/** The distinct trigrams of some names. */
function gramsOf(names: readonly string[]): Set<string> {
  const grams = new Set<string>()
  for (const name of names) for (let i = 0; i + GRAM <= name.length; i++) grams.add(name.slice(i, i + GRAM))
  return grams
}

/** The digest bucket of a hex string of at least four digits. */
function bucketOf(hex: string): number | undefined {
  if (hex.length < BUCKET_HEX) return undefined
  const key = Number.parseInt(hex.slice(0, BUCKET_HEX), 16)
  return Number.isNaN(key) ? undefined : key
}
