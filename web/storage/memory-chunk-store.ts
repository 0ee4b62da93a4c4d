import { type ChunkStore, chunkKey, indexOfKey } from './chunk-store.js'

/** The in-memory twin of the IndexedDB store, for tests and for the Node peer's tests. */
export class MemoryChunkStore implements ChunkStore {
  readonly #values = new Map<string, Blob>()
  /** Chunks a download may have waiting for this store (chunk-store.ts): memory keeps up, as a disk does. */
  writeAhead = 4
  /** Bytes stored beyond which `put` fails as a full disk would; Infinity by default. */
  quotaBytes = Number.POSITIVE_INFINITY

  get bytesStored(): number {
    let total = 0
    for (const blob of this.#values.values()) total += blob.size
    return total
  }

  async put(digest: string, index: number, bytes: Uint8Array): Promise<void> {
    const key = chunkKey(digest, index)
    const previous = this.#values.get(key)?.size ?? 0
    if (this.bytesStored - previous + bytes.length > this.quotaBytes) {
      throw new DOMException('the memory store is full', 'QuotaExceededError')
    }
    this.#values.set(key, new Blob([bytes as Uint8Array<ArrayBuffer>]))
  }

  async get(digest: string, index: number): Promise<Blob | undefined> {
    return this.#values.get(chunkKey(digest, index))
  }

  async has(digest: string, index: number): Promise<boolean> {
    return this.#values.has(chunkKey(digest, index))
  }

  async delete(digest: string, index: number): Promise<void> {
    this.#values.delete(chunkKey(digest, index))
  }

  async indices(digest: string): Promise<number[]> {
    const found: number[] = []
    for (const key of this.#values.keys()) {
      const index = indexOfKey(digest, key)
      if (index !== undefined) found.push(index)
    }
    return found.sort((a, b) => a - b)
  }

  async deleteFile(digest: string): Promise<void> {
    for (const index of await this.indices(digest)) this.#values.delete(chunkKey(digest, index))
  }

  /** For tests: replace a stored value behind the store's back, as disk corruption would. */
  corrupt(digest: string, index: number, bytes: Uint8Array): void {
    this.#values.set(chunkKey(digest, index), new Blob([bytes as Uint8Array<ArrayBuffer>]))
  }
}
