/**
 * The FileStore of the headless peer: one JSON record per file held, `DIR/.swarmdrop/manifests/<digest>.json`,
 * written to a temp file and renamed. What is read back is parsed like network input (file-store.ts):
 * a record that does not parse, or that names another digest, is not used.
 */
import { readdir, readFile, unlink } from 'node:fs/promises'
import { type FileStore, parseStoredFile, type StoredFile } from '../../web/storage/file-store.js'
import { errnoOf, type FolderIo, nodeIo, writeAtomically } from './io.js'
import type { FolderLayout } from './layout.js'

const RECORD_SUFFIX = '.json'

export class FolderFileStore implements FileStore {
  readonly #io: FolderIo

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
  }

  async get(digest: string): Promise<StoredFile | undefined> {
    const path = this.#pathOf(digest)
    return path ? parseStoredFile(digest, await readJson(path)) : undefined
  }

  async list(): Promise<{ files: StoredFile[]; unreadable: string[] }> {
    const files: StoredFile[] = []
    const unreadable: string[] = []
    for (const name of await readdir(this.layout.manifestsDir)) {
      if (!name.endsWith(RECORD_SUFFIX)) continue
      const key = name.slice(0, -RECORD_SUFFIX.length)
      const path = this.#pathOf(key)
      const record = path ? parseStoredFile(key, await readJson(path)) : undefined
      if (record) files.push(record)
      else unreadable.push(key)
    }
    return { files, unreadable }
  }

  async delete(digest: string): Promise<void> {
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
