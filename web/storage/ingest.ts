/**
 * Ingest: turns a dropped file into a self-certifying set of stored chunks, reading it in slices so that
 * it is never held whole in memory (SPEC §3).
 *
 * Two passes over the file. The first hashes every chunk: then the manifest and digest exist, the record
 * is saved and the file can be seeded from the dropped File at once (`onManifest`). The second stores
 * the chunks under `<digest>.<index>`, checking each against the manifest again (the file may change on
 * disk in between), and computes the plain SHA-256 of the whole file. Storing needs the digest for its
 * keys, which needs every chunk hashed first; doing the storing after lets seeding start after one
 * hashing pass instead of after the slower writes.
 */
import { SwarmError } from '../../shared/errors.js'
import { MAX_FILE_BYTES } from '../../shared/limits.js'
import { type Manifest, manifestDigest, sha256Hex } from '../../shared/manifest.js'
import { toBase64Url } from '../../shared/private-share.js'
import type { CollectionInfo } from '../../shared/tracker-protocol.js'
import { type ChunkReader, plainReader, sealedReader } from './chunk-reader.js'
import type { ChunkStore } from './chunk-store.js'
import type { FileStore, StoredFile } from './file-store.js'
import { createPlainHasher } from './hashing.js'
import { putChunk, storageError } from './verified-chunks.js'

export type IngestPhase = 'hashing' | 'storing'

export interface IngestProgress {
  phase: IngestPhase
  bytesDone: number
  bytesTotal: number
}

export interface IngestDependencies {
  chunks: ChunkStore
  files: FileStore
  now(): number
}

export interface IngestOptions {
  name: string
  mime: string
  signal?: AbortSignal
  onProgress?(progress: IngestProgress): void
  /** The manifest is known and the record saved: the file can be seeded from the source from now on. */
  onManifest?(record: StoredFile): void
  /**
   * Share it privately: seal every chunk with this key (shared/private-share.ts). `salt` when the key was
   * derived from a password, so that the link carries the salt instead of the key.
   */
  sealed?: { key: Uint8Array; salt?: Uint8Array }
  /** Announce it unlisted (a collection's member). */
  listed?: false
  /** The file is a collection: what the catalog shows of it. */
  collection?: CollectionInfo
}

export interface IngestResult {
  record: StoredFile
  /** The same bytes were already stored: nothing was written again. */
  duplicate: boolean
  /** Chunks this ingest wrote (a file partly stored before needs only the rest). */
  chunksWritten: number
}

/** Chunks read and hashed at once in the first pass: one reads while the other hashes. */
const HASH_LANES = 2

export async function ingest(
  source: Blob,
  deps: IngestDependencies,
  options: IngestOptions,
): Promise<IngestResult> {
  if (source.size > MAX_FILE_BYTES) {
    throw new SwarmError(
      'FILE_TOO_LARGE',
      `${source.size} bytes is more than the ${MAX_FILE_BYTES} a file may have`,
    )
  }
  const reader = options.sealed
    ? await sealedReader(source, { name: options.name, mime: options.mime }, options.sealed.key)
    : plainReader(source)
  const { count } = reader
  const hashes = await hashChunks(reader, options)
  const manifest: Manifest = { size: reader.size, chunkSize: reader.chunkSize, hashes }
  const digest = await manifestDigest(manifest)

  const existing = await deps.files.get(digest)
  const record: StoredFile = existing ?? newRecord(digest, manifest, deps.now(), options)
  const stored = new Set(await deps.chunks.indices(digest))
  if (existing && stored.size === count && existing.plainSha256 !== undefined) {
    options.onManifest?.(existing)
    return { record: existing, duplicate: true, chunksWritten: 0 }
  }
  if (!existing) await deps.files.put(record).catch((error) => Promise.reject(storageError(error)))
  options.onManifest?.(record)

  const written: number[] = []
  try {
    const plainSha256 = await storeChunks(reader, deps.chunks, manifest, digest, stored, written, options)
    const complete = { ...record, plainSha256 }
    await deps.files.put(complete).catch((error) => Promise.reject(storageError(error)))
    return { record: complete, duplicate: false, chunksWritten: written.length }
  } catch (error) {
    // A cancelled ingest leaves nothing behind that it added; any other failure (a full disk) leaves every
    // stored chunk readable, and the file stays as a partial one.
    if (error instanceof SwarmError && error.code === 'CANCELLED') {
      for (const index of written) await deps.chunks.delete(digest, index)
      if (!existing) await deps.files.delete(digest)
    }
    throw error
  }
}

function newRecord(digest: string, manifest: Manifest, now: number, options: IngestOptions): StoredFile {
  const record: StoredFile = {
    digest,
    name: options.name,
    mime: options.mime,
    manifest,
    origin: 'shared',
    addedAtMs: now,
  }
  if (options.sealed) {
    record.sealed = { key: toBase64Url(options.sealed.key) }
    if (options.sealed.salt) record.sealed.salt = toBase64Url(options.sealed.salt)
  }
  if (options.listed === false) record.listed = false
  if (options.collection) record.collection = options.collection
  return record
}

async function hashChunks(reader: ChunkReader, options: IngestOptions): Promise<string[]> {
  const count = reader.count
  const hashes = new Array<string>(count)
  let next = 0
  let bytesDone = 0
  let failed = false
  const lane = async () => {
    try {
      while (next < count && !failed) {
        const index = next++
        throwIfCancelled(options.signal)
        const { bytes } = await reader.read(index)
        hashes[index] = await sha256Hex(bytes)
        bytesDone += bytes.length
        options.onProgress?.({ phase: 'hashing', bytesDone, bytesTotal: reader.size })
      }
    } catch (error) {
      failed = true // stops the other lane too
      throw error
    }
  }
  await Promise.all(Array.from({ length: HASH_LANES }, lane))
  throwIfCancelled(options.signal)
  return hashes
}

async function storeChunks(
  reader: ChunkReader,
  store: ChunkStore,
  manifest: Manifest,
  digest: string,
  alreadyStored: Set<number>,
  written: number[],
  options: IngestOptions,
): Promise<string> {
  const plain = await createPlainHasher()
  const count = manifest.hashes.length
  let bytesDone = 0
  // Read the next chunk while this one is checked and written.
  const prefetch = (index: number) => {
    if (index >= count) return undefined
    const read = reader.read(index)
    read.catch(() => {}) // awaited below; this only keeps an abandoned read from being an unhandled rejection
    return read
  }
  let reading = prefetch(0)
  for (let index = 0; index < count; index++) {
    throwIfCancelled(options.signal)
    const { bytes, plain: plainPart } = await reading!
    reading = prefetch(index + 1)
    if ((await sha256Hex(bytes)) !== manifest.hashes[index]) {
      throw new SwarmError('SOURCE_CHANGED', `chunk ${index} changed while the file was being stored`)
    }
    plain.update(plainPart)
    if (!alreadyStored.has(index)) {
      await putChunk(store, digest, index, bytes)
      written.push(index)
    }
    bytesDone += bytes.length
    options.onProgress?.({ phase: 'storing', bytesDone, bytesTotal: manifest.size })
  }
  return plain.digest()
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SwarmError('CANCELLED', 'ingest cancelled')
}
