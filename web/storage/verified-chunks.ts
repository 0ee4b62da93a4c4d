/**
 * The only paths by which chunks enter and leave storage: every chunk is checked against the manifest's
 * hash before it is stored, and again the first time it is read back after each page load. A chunk that
 * fails on read is deleted and reported missing, never returned (SPEC §3).
 *
 * Verify once (SPEC §3): a chunk this page checked as it stored it, or read and checked since it loaded, is
 * not hashed again on every read, only its length is checked: a seeder re-hashed every chunk it served
 * (1–2 ms a MiB of a 2-core machine's CPU, bench/transfer) and a save re-hashed the whole file before it
 * could start. What was checked is remembered per chunk store, in memory only, so corruption at rest is
 * still caught on the first read after the next load.
 */
import { SwarmError } from '../../shared/errors.js'
import { chunkLength, type Manifest, sha256Hex } from '../../shared/manifest.js'
import { type ChunkStore, chunkKey } from './chunk-store.js'

/** Per chunk store, the keys of chunks verified since the page loaded. */
const verifiedByStore = new WeakMap<ChunkStore, Set<string>>()

function verifiedIn(store: ChunkStore): Set<string> {
  let verified = verifiedByStore.get(store)
  if (!verified) {
    verified = new Set()
    verifiedByStore.set(store, verified)
  }
  return verified
}

/** Whether this page verified the chunk since it loaded (it need not be hashed again). */
export function isVerified(store: ChunkStore, digest: string, index: number): boolean {
  return verifiedByStore.get(store)?.has(chunkKey(digest, index)) ?? false
}

/**
 * Forgets what was verified of a file whose chunks were deleted, or of one chunk (`index`): its next read
 * hashes it again (the background scrub, web/peer/scrub.ts).
 */
export function forgetVerified(store: ChunkStore, digest: string, index?: number): void {
  const verified = verifiedByStore.get(store)
  if (!verified) return
  if (index !== undefined) {
    verified.delete(chunkKey(digest, index))
    return
  }
  for (const key of verified) if (key.startsWith(`${digest}.`)) verified.delete(key)
}

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
  const stored = await readStored(store, digest, index)
  if (!stored) return undefined
  const key = chunkKey(digest, index)
  const verified = verifiedIn(store)
  const { bytes } = stored
  if (
    verified.has(key) ? bytes.length === chunkLength(manifest, index) : await matches(manifest, index, bytes)
  ) {
    verified.add(key)
    return stored
  }
  verified.delete(key)
  await store.delete(digest, index)
  return undefined
}

/** A stored chunk as bytes and Blob: by `getBytes` where the store has it (the Blob then made if asked for). */
async function readStored(
  store: ChunkStore,
  digest: string,
  index: number,
): Promise<VerifiedChunk | undefined> {
  if (store.getBytes) {
    const bytes = await store.getBytes(digest, index)
    if (!bytes) return undefined
    let blob: Blob | undefined
    return {
      bytes,
      get blob() {
        blob ??= new Blob([bytes as Uint8Array<ArrayBuffer>])
        return blob
      },
    }
  }
  const blob = await store.get(digest, index)
  if (!blob) return undefined
  return { bytes: new Uint8Array(await blob.arrayBuffer()), blob }
}

/**
 * The stored Blob of one checked chunk, for giving a file back: a chunk verified since the page loaded is
 * not read at all, only its size checked. Undefined when missing or corrupt (and now deleted).
 */
export async function readVerifiedBlob(
  store: ChunkStore,
  manifest: Manifest,
  digest: string,
  index: number,
): Promise<Blob | undefined> {
  if (isVerified(store, digest, index)) {
    const blob = await store.get(digest, index)
    if (blob && blob.size === chunkLength(manifest, index)) return blob
  }
  return (await readVerifiedChunk(store, manifest, digest, index))?.blob
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
  verifiedIn(store).add(chunkKey(digest, index))
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
