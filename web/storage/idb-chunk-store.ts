import { createStore, del, get, promisifyRequest, set, type UseStore } from 'idb-keyval'
import { type ChunkStore, chunkKey, indexOfKey } from './chunk-store.js'

/** IndexedDB database and object store of the chunks (idb-keyval keeps one store per database). */
export const CHUNK_DB_NAME = 'swarmdrop-chunks'
const CHUNK_STORE_NAME = 'chunks'

/**
 * Chunks in IndexedDB, one Blob per chunk (SPEC §8: cost is per value, so values are ≥ 1 MiB chunks).
 * Works in windows and workers alike.
 */
export class IdbChunkStore implements ChunkStore {
  readonly #store: UseStore

  constructor(databaseName = CHUNK_DB_NAME) {
    this.#store = createStore(databaseName, CHUNK_STORE_NAME)
  }

  put(digest: string, index: number, bytes: Uint8Array): Promise<void> {
    return set(chunkKey(digest, index), new Blob([bytes as Uint8Array<ArrayBuffer>]), this.#store)
  }

  async get(digest: string, index: number): Promise<Blob | undefined> {
    const value: unknown = await get(chunkKey(digest, index), this.#store)
    if (value === undefined) return undefined
    // Storage is untrusted like the network: anything but a Blob is not a chunk of ours.
    return value instanceof Blob ? value : new Blob([])
  }

  async has(digest: string, index: number): Promise<boolean> {
    const key = chunkKey(digest, index)
    const count = await this.#store('readonly', (store) => promisifyRequest(store.count(key)))
    return count > 0
  }

  delete(digest: string, index: number): Promise<void> {
    return del(chunkKey(digest, index), this.#store)
  }

  async indices(digest: string): Promise<number[]> {
    const keys = await this.#store('readonly', (store) => promisifyRequest(store.getAllKeys(rangeOf(digest))))
    const found: number[] = []
    for (const key of keys) {
      const index = indexOfKey(digest, key)
      if (index !== undefined) found.push(index)
    }
    return found.sort((a, b) => a - b)
  }

  deleteFile(digest: string): Promise<void> {
    return this.#store('readwrite', (store) => {
      store.delete(rangeOf(digest))
      return promisifyRequest(store.transaction)
    })
  }
}

/** Every key `<digest>.<anything>`: '.' is followed in code-point order by '/', so the range ends there. */
function rangeOf(digest: string): IDBKeyRange {
  return IDBKeyRange.bound(`${digest}.`, `${digest}/`, false, true)
}
