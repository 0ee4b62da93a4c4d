import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval'
import { type FileStore, parseStoredFile, type StoredFile } from './file-store.js'

export const FILE_DB_NAME = 'swarmdrop-files'
const FILE_STORE_NAME = 'files'

/** File records in IndexedDB, keyed by digest. */
export class IdbFileStore implements FileStore {
  readonly #store: UseStore

  constructor(databaseName = FILE_DB_NAME) {
    this.#store = createStore(databaseName, FILE_STORE_NAME)
  }

  put(record: StoredFile): Promise<void> {
    return set(record.digest, record, this.#store)
  }

  async get(digest: string): Promise<StoredFile | undefined> {
    return parseStoredFile(digest, await get(digest, this.#store))
  }

  async list(): Promise<{ files: StoredFile[]; unreadable: string[] }> {
    const files: StoredFile[] = []
    const unreadable: string[] = []
    for (const [key, value] of await entries<IDBValidKey, unknown>(this.#store)) {
      const record = parseStoredFile(key, value)
      if (record) files.push(record)
      else unreadable.push(String(key))
    }
    return { files, unreadable }
  }

  delete(digest: string): Promise<void> {
    return del(digest, this.#store)
  }
}
