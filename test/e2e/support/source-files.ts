/**
 * The files the seeders share: deterministic pseudo-random bytes (AES-256-CTR over zeros, keyed by a
 * seed: fast, and incompressible like real media), written to a temp dir, with what Node computes for
 * them through the shared code — the manifest, the digest — and the plain SHA-256 of the whole file.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chunkSizeFor, type Manifest, manifestDigest } from '../../../shared/manifest.js'

export const MiB = 1024 * 1024

export interface SourceFile {
  path: string
  name: string
  size: number
  manifest: Manifest
  digest: string
  sha256: string
}

/** Writes `size` bytes derived from `seed` to `dir/name`. */
export async function writeSourceFile(
  dir: string,
  name: string,
  size: number,
  seed: string,
): Promise<SourceFile> {
  const key = createHash('sha256').update(`swarmdrop-e2e:${seed}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  const bytes = Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
  const path = join(dir, name)
  writeFileSync(path, bytes)
  const chunkSize = chunkSizeFor(size)
  const hashes: string[] = []
  for (let start = 0; start < size; start += chunkSize) {
    hashes.push(
      createHash('sha256')
        .update(bytes.subarray(start, start + chunkSize))
        .digest('hex'),
    )
  }
  const manifest: Manifest = { size, chunkSize, hashes }
  return {
    path,
    name,
    size,
    manifest,
    digest: await manifestDigest(manifest),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }
}
