/**
 * The digests of complete files, keyed by name, size and mtime (`DIR/.swarmdrop/hash-cache.json`): a file
 * whose size and mtime are unchanged since it was hashed is not read again on the next start. The cache
 * is parsed like any input; one that does not parse is started afresh (everything is hashed again, and
 * nothing is lost but time).
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { DigestSchema } from '../../shared/manifest.js'
import { errnoOf, type FolderIo, nodeIo, writeAtomically } from './io.js'
import type { FolderLayout } from './layout.js'

const CACHE_VERSION = 1

const CacheEntrySchema = z.strictObject({
  size: z.number().int().min(0),
  mtimeMs: z.number().min(0),
  digest: DigestSchema,
})
export type CacheEntry = z.infer<typeof CacheEntrySchema>

const CacheFileSchema = z.strictObject({
  version: z.literal(CACHE_VERSION),
  files: z.record(z.string(), CacheEntrySchema),
})

export class HashCache {
  readonly #entries: Map<string, CacheEntry>
  #dirty = false

  private constructor(
    private readonly layout: FolderLayout,
    private readonly io: FolderIo,
    entries: Map<string, CacheEntry>,
    /** Whether the file on disk was there but did not parse. */
    readonly damaged: boolean,
  ) {
    this.#entries = entries
  }

  static async load(layout: FolderLayout, io: FolderIo = nodeIo): Promise<HashCache> {
    let text: string
    try {
      text = await readFile(layout.hashCacheFile, 'utf8')
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return new HashCache(layout, io, new Map(), false)
      throw error
    }
    let parsed: z.infer<typeof CacheFileSchema> | undefined
    try {
      parsed = CacheFileSchema.safeParse(JSON.parse(text)).data
    } catch {
      parsed = undefined
    }
    if (!parsed) return new HashCache(layout, io, new Map(), true)
    return new HashCache(layout, io, new Map(Object.entries(parsed.files)), false)
  }

  get size(): number {
    return this.#entries.size
  }

  /** The digest of `name` if it was hashed at exactly this size and mtime. */
  lookup(name: string, size: number, mtimeMs: number): string | undefined {
    const entry = this.#entries.get(name)
    return entry && entry.size === size && entry.mtimeMs === mtimeMs ? entry.digest : undefined
  }

  /** The names last hashed to `digest`, with their size and mtime then. */
  namesOf(digest: string): { name: string; size: number; mtimeMs: number }[] {
    return [...this.#entries]
      .filter(([, entry]) => entry.digest === digest)
      .map(([name, { size, mtimeMs }]) => ({ name, size, mtimeMs }))
  }

  set(name: string, entry: CacheEntry): void {
    const old = this.#entries.get(name)
    if (old && old.size === entry.size && old.mtimeMs === entry.mtimeMs && old.digest === entry.digest) return
    this.#entries.set(name, entry)
    this.#dirty = true
  }

  delete(name: string): void {
    if (this.#entries.delete(name)) this.#dirty = true
  }

  /** Forgets every name not in `names` (files that are gone). */
  retainOnly(names: ReadonlySet<string>): void {
    for (const name of [...this.#entries.keys()]) if (!names.has(name)) this.delete(name)
  }

  /** Writes the cache if it changed (to a temp file, then renamed). */
  async save(): Promise<void> {
    if (!this.#dirty) return
    this.#dirty = false
    const files = Object.fromEntries(this.#entries)
    const bytes = new TextEncoder().encode(JSON.stringify({ version: CACHE_VERSION, files }))
    try {
      await writeAtomically(
        this.io,
        this.layout.tempPath('hash-cache'),
        this.layout.hashCacheFile,
        bytes,
        'the hash cache',
      )
    } catch (error) {
      this.#dirty = true // try again next time
      throw error
    }
  }
}
