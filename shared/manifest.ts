import { z } from 'zod'
import { fromHex, toHex } from './encoding.js'
import {
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MIN_CHUNK_BYTES,
} from './limits.js'

/**
 * A file's manifest: its size, its chunk size, and the SHA-256 of every chunk. The file's digest is the
 * SHA-256 of the manifest's canonical bytes (docs/PROTOCOL.md, "Digest"), so a manifest is
 * self-certifying whoever hands it over.
 */
export interface Manifest {
  size: number
  chunkSize: number
  /** Lowercase hex SHA-256 of each chunk, in order. */
  hashes: string[]
}

/** Domain separation: these bytes can never be mistaken for another structure's hash input. */
const CANONICAL_MAGIC = new TextEncoder().encode('swarmdrop-manifest-v1\0')
const HASH_BYTES = 32

export const DIGEST_PATTERN = /^[0-9a-f]{64}$/
export const DigestSchema = z.string().regex(DIGEST_PATTERN, 'a digest is 64 lowercase hex characters')

export function chunkCountOf(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize)
}

/**
 * The chunk size for a file of `size` bytes: 1 MiB, doubled until the file fits in MAX_CHUNK_COUNT
 * chunks. Deterministic, so the same bytes shared twice get the same manifest and the same digest.
 */
export function chunkSizeFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_BYTES) {
    throw new RangeError(`file size ${size} is outside 0..${MAX_FILE_BYTES}`)
  }
  let chunkSize = DEFAULT_CHUNK_BYTES
  while (chunkCountOf(size, chunkSize) > MAX_CHUNK_COUNT) chunkSize *= 2
  return chunkSize
}

/** Length in bytes of chunk `index` (the last chunk may be short). */
export function chunkLength(manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  const start = index * manifest.chunkSize
  return Math.max(0, Math.min(manifest.chunkSize, manifest.size - start))
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0

export const ManifestSchema = z
  .strictObject({
    size: z.number().int().min(0).max(MAX_FILE_BYTES),
    chunkSize: z
      .number()
      .int()
      .min(MIN_CHUNK_BYTES)
      .max(MAX_CHUNK_BYTES)
      .refine(isPowerOfTwo, 'chunkSize must be a power of two'),
    hashes: z.array(z.string().regex(DIGEST_PATTERN)).max(MAX_CHUNK_COUNT),
  })
  .refine((m) => m.hashes.length === chunkCountOf(m.size, m.chunkSize), {
    message: 'hashes must hold exactly one hash per chunk',
    path: ['hashes'],
  })

/**
 * The canonical bytes of a manifest:
 * magic "swarmdrop-manifest-v1\0" | size u64 BE | chunkSize u32 BE | chunkCount u32 BE | chunkCount × 32-byte hash.
 */
export function canonicalManifestBytes(manifest: Manifest): Uint8Array {
  const valid = ManifestSchema.parse(manifest)
  const count = valid.hashes.length
  const header = CANONICAL_MAGIC.length + 8 + 4 + 4
  const bytes = new Uint8Array(header + count * HASH_BYTES)
  bytes.set(CANONICAL_MAGIC, 0)
  const view = new DataView(bytes.buffer)
  view.setBigUint64(CANONICAL_MAGIC.length, BigInt(valid.size))
  view.setUint32(CANONICAL_MAGIC.length + 8, valid.chunkSize)
  view.setUint32(CANONICAL_MAGIC.length + 12, count)
  for (const [index, hash] of valid.hashes.entries()) bytes.set(fromHex(hash), header + index * HASH_BYTES)
  return bytes
}

/** SHA-256 through WebCrypto, which browsers and Node (globalThis.crypto) both provide natively. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes))
}

/** The file's digest: lowercase hex SHA-256 of the manifest's canonical bytes. */
export async function manifestDigest(manifest: Manifest): Promise<string> {
  return sha256Hex(canonicalManifestBytes(manifest))
}

/** True when `manifest` is a valid manifest whose digest is `digest`. Never throws. */
export async function manifestMatchesDigest(digest: string, manifest: unknown): Promise<boolean> {
  const parsed = ManifestSchema.safeParse(manifest)
  if (!parsed.success || !DIGEST_PATTERN.test(digest)) return false
  return (await manifestDigest(parsed.data)) === digest
}

/** Builds the manifest of in-memory bytes: for tests and small files; browsers ingest in slices instead. */
export async function manifestOf(
  bytes: Uint8Array,
  chunkSize = chunkSizeFor(bytes.length),
): Promise<Manifest> {
  const hashes: string[] = []
  for (let start = 0; start < bytes.length; start += chunkSize) {
    hashes.push(await sha256Hex(bytes.subarray(start, start + chunkSize)))
  }
  return { size: bytes.length, chunkSize, hashes }
}

/**
 * Parses canonical manifest bytes (the form peers send, since it is what the digest covers). Throws a
 * RangeError when they are not a valid canonical manifest.
 */
export function parseCanonicalManifest(bytes: Uint8Array): Manifest {
  const header = CANONICAL_MAGIC.length + 8 + 4 + 4
  if (bytes.length < header) throw new RangeError('manifest bytes are too short')
  for (let i = 0; i < CANONICAL_MAGIC.length; i++) {
    if (bytes[i] !== CANONICAL_MAGIC[i]) throw new RangeError('manifest bytes have the wrong magic')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = view.getBigUint64(CANONICAL_MAGIC.length)
  if (size > BigInt(MAX_FILE_BYTES)) throw new RangeError('manifest size is too large')
  const chunkSize = view.getUint32(CANONICAL_MAGIC.length + 8)
  const count = view.getUint32(CANONICAL_MAGIC.length + 12)
  if (count > MAX_CHUNK_COUNT || bytes.length !== header + count * HASH_BYTES) {
    throw new RangeError('manifest bytes do not hold exactly their chunk hashes')
  }
  const hashes: string[] = []
  for (let i = 0; i < count; i++) {
    hashes.push(toHex(bytes.subarray(header + i * HASH_BYTES, header + (i + 1) * HASH_BYTES)))
  }
  const parsed = ManifestSchema.safeParse({ size: Number(size), chunkSize, hashes })
  if (!parsed.success) throw new RangeError(`not a valid manifest: ${parsed.error.issues[0]?.message}`)
  return parsed.data
}
