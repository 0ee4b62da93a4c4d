/**
 * The input: a file of pseudo-random bytes on disk, written once per run, with the digest and plain
 * SHA-256 ingest must arrive at, computed here independently (Node's SHA-256, shared/manifest.ts's digest).
 */
import { createHash, randomFillSync } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { chunkSizeFor, manifestDigest } from '../../shared/manifest.js'

export interface InputFile {
  path: string
  bytes: number
  chunkSize: number
  digest: string
  plainSha256: string
}

export async function writeInputFile(path: string, bytes: number): Promise<InputFile> {
  const chunkSize = chunkSizeFor(bytes)
  const plain = createHash('sha256')
  const hashes: string[] = []
  const buffer = Buffer.alloc(chunkSize)
  const fd = openSync(path, 'w')
  try {
    for (let start = 0; start < bytes; start += chunkSize) {
      const chunk = buffer.subarray(0, Math.min(chunkSize, bytes - start))
      randomFillSync(chunk)
      writeSync(fd, chunk)
      plain.update(chunk)
      hashes.push(createHash('sha256').update(chunk).digest('hex'))
    }
  } finally {
    closeSync(fd)
  }
  const digest = await manifestDigest({ size: bytes, chunkSize, hashes })
  return { path, bytes, chunkSize, digest, plainSha256: plain.digest('hex') }
}
