/**
 * The baseline of SPEC §7's ingest target: the same bytes hashed alone. Reads the file in the chunk size
 * ingest would use and SHA-256s each slice with WebCrypto, with 2 reads/digests in flight like
 * web/storage/ingest.ts's first pass, and nothing else: no manifest, no storage, no messages.
 */
import { chunkCountOf, chunkSizeFor } from '../../../shared/manifest.js'

/** Same as ingest.ts's HASH_LANES: one slice is read while the other is hashed. */
const HASH_LANES = 2

export async function hashChunksAlone(source: Blob): Promise<{ chunks: number; digests: ArrayBuffer[] }> {
  const chunkSize = chunkSizeFor(source.size)
  const count = chunkCountOf(source.size, chunkSize)
  const digests = new Array<ArrayBuffer>(count)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const index = next++
      const bytes = await source.slice(index * chunkSize, (index + 1) * chunkSize).arrayBuffer()
      digests[index] = await crypto.subtle.digest('SHA-256', bytes)
    }
  }
  await Promise.all(Array.from({ length: HASH_LANES }, lane))
  return { chunks: count, digests }
}
