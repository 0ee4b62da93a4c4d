import { type FileStore, parseStoredFile, type StoredFile } from './file-store.js'

/** The in-memory twin of the IndexedDB file records. Values are cloned, as IndexedDB would. */
export class MemoryFileStore implements FileStore {
  readonly #values = new Map<string, unknown>()

  async put(record: StoredFile): Promise<void> {
    this.#values.set(record.digest, structuredClone(record))
  }

  async get(digest: string): Promise<StoredFile | undefined> {
    return parseStoredFile(digest, structuredClone(this.#values.get(digest)))
  }

  async list(): Promise<{ files: StoredFile[]; unreadable: string[] }> {
    const files: StoredFile[] = []
    const unreadable: string[] = []
    for (const [key, value] of this.#values) {
      const record = parseStoredFile(key, structuredClone(value))
      if (record) files.push(record)
      else unreadable.push(key)
    }
    return { files, unreadable }
  }

  async delete(digest: string): Promise<void> {
    this.#values.delete(digest)
  }

  /** For tests: store anything under a key, as a damaged or hostile database would hold. */
  putRaw(key: string, value: unknown): void {
    this.#values.set(key, value)
  }
}
