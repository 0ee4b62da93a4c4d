/**
 * Where chunks live: one value per chunk, keyed `<digest>.<index>` (SPEC §3). Values are Blobs so that
 * a file is assembled for saving from stored Blobs without its bytes passing through JS memory.
 * Implementations store and return bytes as given; checking them against the manifest is the job of
 * verified-chunks.ts, so that no path can hand out an unverified chunk.
 */
export interface ChunkStore {
  put(digest: string, index: number, bytes: Uint8Array): Promise<void>
  get(digest: string, index: number): Promise<Blob | undefined>
  /**
   * Optional, for stores that keep bytes outside Blobs (the CLI's files): the chunk's bytes, read without a
   * Blob made around them only to be copied out again. A seeder reads every chunk it serves, and those two
   * copies of each MiB (and their garbage) were the CLI's largest cost per chunk after the link's own
   * (bench/cli profile, issue 11).
   */
  getBytes?(digest: string, index: number): Promise<Uint8Array | undefined>
  /**
   * Chunks a download may hold received in whole and waiting to be written here while it asks its source
   * for more (web/peer/download.ts, capped there). Unset: none, each next request waits for the write. A
   * fast store keeps a link busy this way (bench/cli, issue 11); a slow one (IndexedDB under load) would
   * only pile chunks up in memory that a reload then loses.
   */
  readonly writeAhead?: number
  has(digest: string, index: number): Promise<boolean>
  delete(digest: string, index: number): Promise<void>
  /** Indices of the chunks of one file that are stored, in ascending order. */
  indices(digest: string): Promise<number[]>
  /** Deletes every chunk of one file. */
  deleteFile(digest: string): Promise<void>
}

export function chunkKey(digest: string, index: number): string {
  return `${digest}.${index}`
}

/** The index of a key of `digest`'s chunks, or undefined if the key is not one (untrusted storage). */
export function indexOfKey(digest: string, key: unknown): number | undefined {
  if (typeof key !== 'string' || !key.startsWith(`${digest}.`)) return undefined
  const tail = key.slice(digest.length + 1)
  return /^(0|[1-9]\d{0,8})$/.test(tail) ? Number(tail) : undefined
}
