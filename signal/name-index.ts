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
const INITIAL_POSTING = 4

export interface NameMatches {
  /** The digests that match, each once, in no particular order. */
  digests: string[]
  /** Index entries and candidate files looked at: the work the query did. */
  touched: number
}

interface Entry {
  readonly digest: string
  /** Lowercased once: lowercasing every name on every query cost 15 ms at 100,000 files. */
  readonly names: string[]
}

/** File ids under one trigram. Ids of removed files stay until compaction; they are never reused. */
class Posting {
  ids = new Uint32Array(INITIAL_POSTING)
  length = 0
  stale = 0

  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Uint32Array(this.ids.length * 2)
      grown.set(this.ids)
      this.ids = grown
    }
    this.ids[this.length++] = id
  }

  /** Keeps the ids `live` accepts; shrinks the array when it is mostly empty. */
  compact(live: (id: number) => boolean): void {
    let kept = 0
    for (let i = 0; i < this.length; i++) {
      const id = this.ids[i]!
      if (live(id)) this.ids[kept++] = id
    }
    this.length = kept
    this.stale = 0
    if (this.ids.length > INITIAL_POSTING && kept < this.ids.length / 4) {
      this.ids = this.ids.slice(0, Math.max(INITIAL_POSTING, kept * 2))
    }
  }
}

export class NameIndex {
  readonly #ids = new Map<string, number>()
  readonly #entries = new Map<number, Entry>()
  readonly #grams = new Map<string, Posting>()
  readonly #buckets = new Map<number, number[]>()
  #nextId = 0

  get size(): number {
    return this.#entries.size
  }

  /** Indexes `name` for the file `digest` (registering the file if new). Adding a name twice is a no-op. */
  add(digest: string, name: string): void {
    let id = this.#ids.get(digest)
    let entry = id === undefined ? undefined : this.#entries.get(id)
    if (id === undefined || entry === undefined) {
      id = this.#nextId++
      entry = { digest, names: [] }
      this.#ids.set(digest, id)
      this.#entries.set(id, entry)
      const key = bucketOf(digest)
      if (key !== undefined) {
        const bucket = this.#buckets.get(key)
        if (bucket) bucket.push(id)
        else this.#buckets.set(key, [id])
      }
    }
    const lower = name.toLowerCase()
    if (entry.names.includes(lower)) return
    const known = gramsOf(entry.names)
    entry.names.push(lower)
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
  remove(digest: string): void {
    const id = this.#ids.get(digest)
    if (id === undefined) return
    const entry = this.#entries.get(id)!
    this.#ids.delete(digest)
    this.#entries.delete(id)
    const key = bucketOf(digest)
    const bucket = key === undefined ? undefined : this.#buckets.get(key)
    if (bucket && key !== undefined) {
      const at = bucket.indexOf(id)
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
      if (posting.stale <= posting.length * STALE_SHARE) continue
      posting.compact((other) => this.#entries.has(other))
      if (posting.length === 0) this.#grams.delete(gram)
    }
  }

  /**
   * The files whose name contains `query` (case-insensitive), and, when `query` looks like one, whose
   * digest starts with it. `query` is taken as given: trim it first.
   */
  search(query: string): NameMatches {
    const needle = query.toLowerCase()
    const found = new Set<number>()
    let touched = 0
    if (needle.length >= MIN_DIGEST_PREFIX && HEX_QUERY.test(needle)) {
      for (const id of this.#buckets.get(bucketOf(needle)!) ?? []) {
        touched++
        if (this.#entries.get(id)?.digest.startsWith(needle)) found.add(id)
      }
    }
    touched += this.#searchNames(needle, found)
    const digests: string[] = []
    for (const id of found) digests.push(this.#entries.get(id)!.digest)
    return { digests, touched }
  }

  /** Adds the ids of files with a name containing `needle` to `found`; returns the work done. */
  #searchNames(needle: string, found: Set<number>): number {
    if (needle.length === 0) return 0
    const matches = (entry: Entry) => entry.names.some((name) => name.includes(needle))
    if (needle.length < GRAM) {
      for (const [id, entry] of this.#entries) if (matches(entry)) found.add(id)
      return this.#entries.size
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
      const entry = this.#entries.get(id)
      if (entry && matches(entry)) found.add(id)
    }
    return looked + rarest.length
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
