/**
 * The only paths by which chunks enter and leave storage: every chunk is checked against the manifest's
 * hash before it is stored, and again when it is read back. A chunk that fails on read is deleted and
 * reported missing, never returned (SPEC §3).
 */
import { SwarmError } from '../../shared/errors.js'
import { chunkLength, type Manifest, sha256Hex } from '../../shared/manifest.js'
import type { ChunkStore } from './chunk-store.js'

export interface VerifiedChunk {
  bytes: Uint8Array
  /** The stored Blob itself, for assembling files without another copy. */
  blob: Blob
}

/** Reads and checks one chunk. Undefined when it is missing or was corrupt (and is now deleted). */
export async function readVerifiedChunk(
  store: ChunkStore,
  manifest: Manifest,
  digest: string,
  index: number,
): Promise<VerifiedChunk | undefined> {
  const blob = await store.get(digest, index)
  if (!blob) return undefined
  const bytes = new Uint8Array(await blob.arrayBuffer())
  if (await matches(manifest, index, bytes)) return { bytes, blob }
  await store.delete(digest, index)
  return undefined
}

/** Checks one chunk and stores it. Throws CHUNK_CORRUPT if it does not match, QUOTA_EXCEEDED if it does not fit. */
export async function writeVerifiedChunk(
  store: ChunkStore,
  manifest: Manifest,
  digest: string,
  index: number,
  bytes: Uint8Array,
): Promise<void> {
  if (!(await matches(manifest, index, bytes))) {
    throw new SwarmError('CHUNK_CORRUPT', `chunk ${index} does not match its hash`)
  }
  await putChunk(store, digest, index, bytes)
}

/** Stores bytes already checked by the caller, mapping storage failures to typed errors. */
export async function putChunk(
  store: ChunkStore,
  digest: string,
  index: number,
  bytes: Uint8Array,
): Promise<void> {
  try {
    await store.put(digest, index, bytes)
  } catch (error) {
    throw storageError(error)
  }
}

export async function matches(manifest: Manifest, index: number, bytes: Uint8Array): Promise<boolean> {
  const expected = manifest.hashes[index]
  if (expected === undefined || bytes.length !== chunkLength(manifest, index)) return false
  return (await sha256Hex(bytes)) === expected
}

/** QuotaExceededError (and its Firefox spelling) becomes QUOTA_EXCEEDED; anything else STORAGE_FAILED. */
export function storageError(error: unknown): SwarmError {
  if (error instanceof SwarmError) return error
  const name = (error as { name?: unknown } | null)?.name
  const quota = name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED'
  return new SwarmError(
    quota ? 'QUOTA_EXCEEDED' : 'STORAGE_FAILED',
    String((error as Error)?.message ?? error),
    {
      cause: error,
    },
  )
}
