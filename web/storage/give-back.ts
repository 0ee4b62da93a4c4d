/**
 * Gives a complete file back to the user: assembled from its verified chunks as a Blob of Blobs (the
 * bytes stay in the browser's blob storage, never one ArrayBuffer in JS), or streamed to a file the user
 * picked with the File System Access API where it exists.
 */
import { SwarmError } from '../../shared/errors.js'
import type { ChunkStore } from './chunk-store.js'
import type { StoredFile } from './file-store.js'
import { readVerifiedChunk } from './verified-chunks.js'

/** The whole file as one Blob. Throws CHUNK_CORRUPT if a chunk is missing or fails its hash (it is then dropped). */
export async function assembleFile(chunks: ChunkStore, record: StoredFile): Promise<Blob> {
  const parts: Blob[] = []
  for (let index = 0; index < record.manifest.hashes.length; index++) {
    const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, index)
    if (!chunk) throw new SwarmError('CHUNK_CORRUPT', `chunk ${index} is missing or failed its check`)
    parts.push(chunk.blob)
  }
  return new Blob(parts, { type: record.mime || 'application/octet-stream' })
}

/** The subset of FileSystemWritableFileStream this needs. */
export interface WritableFile {
  write(data: Blob): Promise<void>
  close(): Promise<void>
  abort(reason?: unknown): Promise<void>
}

/** Streams the file chunk by chunk to a file the user picked; aborts the write (keeping nothing) on failure. */
export async function writeFileTo(
  chunks: ChunkStore,
  record: StoredFile,
  target: WritableFile,
): Promise<void> {
  try {
    for (let index = 0; index < record.manifest.hashes.length; index++) {
      const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, index)
      if (!chunk) throw new SwarmError('CHUNK_CORRUPT', `chunk ${index} is missing or failed its check`)
      await target.write(chunk.blob)
    }
    await target.close()
  } catch (error) {
    await target.abort(error).catch(() => {})
    throw error
  }
}
