/**
 * Reading the chunks of a dropped file, in slices: as they are (a public share), or sealed on the fly with
 * the share's key (a private share, shared/private-share.ts). Ingest hashes and stores what a reader
 * gives; the engine serves a file from its reader while its chunks are still being stored.
 */
import { SwarmError } from '../../shared/errors.js'
import { chunkCountOf, chunkSizeFor } from '../../shared/manifest.js'
import {
  encodeHeader,
  importKey,
  type SealedHeader,
  sealChunk,
  sealedLayout,
} from '../../shared/private-share.js'

export interface ChunkRead {
  /** The chunk as stored and shared (ciphertext for a private share). */
  bytes: Uint8Array
  /** The part of the user's file it carries, in clear: what the file's plain SHA-256 is computed over. */
  plain: Uint8Array
}

export interface ChunkReader {
  /** The manifest's size and chunk size. */
  readonly size: number
  readonly chunkSize: number
  readonly count: number
  read(index: number): Promise<ChunkRead>
}

/** The chunks of a file as they are. */
export function plainReader(source: Blob): ChunkReader {
  const chunkSize = chunkSizeFor(source.size)
  return {
    size: source.size,
    chunkSize,
    count: chunkCountOf(source.size, chunkSize),
    read: async (index) => {
      const bytes = await readSlice(source, index * chunkSize, (index + 1) * chunkSize)
      return { bytes, plain: bytes }
    },
  }
}

/**
 * The chunks of a file sealed with `rawKey`: the header (name, type, size) and the file's bytes as one
 * container, cut into pieces of chunkSize − 16 bytes, each sealed with AES-GCM. Sealing is deterministic
 * for a key and an index, so reading a chunk twice gives the same bytes (ingest's two passes rely on it).
 */
export async function sealedReader(
  source: Blob,
  header: Omit<SealedHeader, 'size'>,
  rawKey: Uint8Array,
): Promise<ChunkReader> {
  const head = encodeHeader({ ...header, size: source.size })
  const container = new Blob([head as Uint8Array<ArrayBuffer>, source])
  const layout = sealedLayout(container.size)
  const key = await importKey(rawKey)
  return {
    size: layout.sealedSize,
    chunkSize: layout.chunkSize,
    count: layout.chunkCount,
    read: async (index) => {
      const start = index * layout.pieceSize
      const piece = await readSlice(container, start, start + layout.pieceSize)
      const bytes = await sealChunk(key, index, piece)
      return { bytes, plain: piece.subarray(Math.max(0, head.length - start)) }
    },
  }
}

async function readSlice(source: Blob, start: number, end: number): Promise<Uint8Array> {
  try {
    return new Uint8Array(await source.slice(start, end).arrayBuffer())
  } catch (error) {
    // A file deleted or changed on disk after it was picked fails to read (NotReadableError).
    throw new SwarmError('SOURCE_CHANGED', `the file can no longer be read: ${(error as Error).message}`, {
      cause: error,
    })
  }
}
