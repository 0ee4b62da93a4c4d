/**
 * Gives a complete file back to the user: assembled from its verified chunks as a Blob of Blobs (the
 * bytes stay in the browser's blob storage, never one ArrayBuffer in JS), or streamed to a file the user
 * picked with the File System Access API where it exists. A private share is opened chunk by chunk on the
 * way out (each chunk decrypted into a Blob of its own), so that what is stored stays sealed.
 */
import { SwarmError } from '../../shared/errors.js'
import {
  decodeHeader,
  fromBase64Url,
  importKey,
  KEY_BYTES,
  openChunk,
  type SealedHeader,
} from '../../shared/private-share.js'
import type { ChunkStore } from './chunk-store.js'
import type { StoredFile } from './file-store.js'
import { readVerifiedChunk } from './verified-chunks.js'

/** The whole file as one Blob. Throws CHUNK_CORRUPT if a chunk is missing or fails its hash (it is then dropped). */
export async function assembleFile(chunks: ChunkStore, record: StoredFile): Promise<Blob> {
  const parts: Blob[] = []
  for await (const part of fileParts(chunks, record)) parts.push(part)
  return new Blob(parts, { type: mimeOf(record) })
}

/**
 * The file's bytes in order, one Blob a chunk: the stored Blobs themselves, or, for a private share, each
 * chunk opened with the record's key (WRONG_KEY when it has none, or the wrong one) and the sealed header
 * left out. A private file's size is checked against its header, so a sharer's mistake cannot hand out a
 * truncated file.
 */
export async function* fileParts(chunks: ChunkStore, record: StoredFile): AsyncGenerator<Blob> {
  const count = record.manifest.hashes.length
  const key = record.sealed ? await keyOf(record) : undefined
  let expected: number | undefined
  let given = 0
  for (let index = 0; index < count; index++) {
    const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, index)
    if (!chunk) throw new SwarmError('CHUNK_CORRUPT', `chunk ${index} is missing or failed its check`)
    if (!key) {
      yield chunk.blob
      continue
    }
    let plain = await openChunk(key, index, chunk.bytes)
    if (index === 0) {
      const { header, offset } = decodeHeader(plain)
      expected = header.size
      plain = plain.subarray(offset)
    }
    given += plain.length
    yield new Blob([plain as Uint8Array<ArrayBuffer>])
  }
  if (key && given !== expected) {
    throw new SwarmError('WRONG_KEY', `the sealed file holds ${given} bytes, its header says ${expected}`)
  }
}

/** The name and type sealed in a private share's first chunk; WRONG_KEY when they do not open. */
export async function readSealedHeader(chunks: ChunkStore, record: StoredFile): Promise<SealedHeader> {
  const key = await keyOf(record)
  const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, 0)
  if (!chunk) throw new SwarmError('CHUNK_CORRUPT', 'chunk 0 is missing or failed its check')
  return decodeHeader(await openChunk(key, 0, chunk.bytes)).header
}

async function keyOf(record: StoredFile): Promise<CryptoKey> {
  const raw = record.sealed?.key === undefined ? undefined : fromBase64Url(record.sealed.key, KEY_BYTES)
  if (!raw) throw new SwarmError('WRONG_KEY', 'this browser has no key for this private file')
  return importKey(raw)
}

function mimeOf(record: StoredFile): string {
  return record.mime || 'application/octet-stream'
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
    for await (const part of fileParts(chunks, record)) await target.write(part)
    await target.close()
  } catch (error) {
    await target.abort(error).catch(() => {})
    throw error
  }
}
