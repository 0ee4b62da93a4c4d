/**
 * The FileStore of the headless peer: one JSON record per file held, `DIR/.swarmdrop/manifests/<digest>.json`,
 * written to a temp file and renamed. What is read back is parsed like network input (file-store.ts):
 * a record that does not parse, or that names another digest, is not used.
 *
 * Once listed, the records are kept in memory: one process owns the folder (its lock), and the folder's
 * scan and the engine's inventory would otherwise each read and parse every record (10,000 files, 10,000
 * records) at start.
 */
import { readdir, readFile, unlink } from 'node:fs/promises'
import { type FileStore, parseStoredFile, type StoredFile } from '../../web/storage/file-store.js'
import { errnoOf, type FolderIo, nodeIo, writeAtomically } from './io.js'
import type { FolderLayout } from './layout.js'
import { IO_PARALLELISM, mapLimit } from './map-limit.js'

const RECORD_SUFFIX = '.json'

export class FolderFileStore implements FileStore {
  readonly #io: FolderIo
  /** Every readable record, once `list` has read them all. */
  #known: Map<string, StoredFile> | undefined

  constructor(
    readonly layout: FolderLayout,
    options: { io?: FolderIo } = {},
  ) {
    this.#io = options.io ?? nodeIo
  }

  async put(record: StoredFile): Promise<void> {
    const path = this.#pathOf(record.digest)
    if (!path) throw new RangeError(`not a digest: ${record.digest}`)
    const bytes = new TextEncoder().encode(`${JSON.stringify(record)}\n`)
    await writeAtomically(
      this.#io,
      this.layout.tempPath(record.digest),
      path,
      bytes,
      `the record of ${record.name}`,
    )
    this.#known?.set(record.digest, record)
  }

  async get(digest: string): Promise<StoredFile | undefined> {
    if (this.#known) return this.#known.get(digest)
    const path = this.#pathOf(digest)
    return path ? parseStoredFile(digest, await readJson(path)) : undefined
  }

  async list(): Promise<{ files: StoredFile[]; unreadable: string[] }> {
    if (this.#known) return { files: [...this.#known.values()], unreadable: [] }
    const files: StoredFile[] = []
    const unreadable: string[] = []
    const keys = (await readdir(this.layout.manifestsDir))
      .filter((name) => name.endsWith(RECORD_SUFFIX))
      .map((name) => name.slice(0, -RECORD_SUFFIX.length))
    const values = await mapLimit(keys, IO_PARALLELISM, (key) => {
      const path = this.#pathOf(key)
      return path ? readJson(path) : Promise.resolve(undefined)
    })
    keys.forEach((key, i) => {
      const record = parseStoredFile(key, values[i])
      if (record) files.push(record)
      else unreadable.push(key)
    })
    this.#known = new Map(files.map((record) => [record.digest, record]))
    return { files, unreadable }
  }

  async delete(digest: string): Promise<void> {
    this.#known?.delete(digest)
    const path = this.#pathOf(digest) ?? this.#strayPathOf(digest)
    if (!path) return
    try {
      await unlink(path)
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error
    }
  }

  #pathOf(key: string): string | undefined {
    return this.layout.manifestPath(key)
  }

  /** A file in the records folder whose name is not a digest (listed as unreadable): it may be deleted too. */
  #strayPathOf(key: string): string | undefined {
    return /^[^/\\]+$/.test(key) && !key.startsWith('.')
      ? `${this.layout.manifestsDir}/${key}${RECORD_SUFFIX}`
      : undefined
  }
}

/** The parsed JSON of a file; undefined when it is missing or not JSON. */
async function readJson(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined
    throw error
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
