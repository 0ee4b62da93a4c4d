/**
 * A file on disk to its manifest: read in chunk-size slices (never whole in memory), each chunk hashed
 * with node:crypto's SHA-256 (native, like WebCrypto), the next slice read while this one is hashed. The
 * manifest and digest are shared/manifest.ts's, so a file hashed here and one dropped in a browser are
 * the same swarm.
 */
import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { SwarmError } from '../../shared/errors.js'
import { MAX_FILE_BYTES } from '../../shared/limits.js'
import { chunkCountOf, chunkSizeFor, type Manifest } from '../../shared/manifest.js'

export interface HashedFile {
  manifest: Manifest
  /** What the file was when it was hashed: the hash cache's key. */
  size: number
  mtimeMs: number
}

export interface HashFileOptions {
  signal?: AbortSignal
  onProgress?(bytesDone: number, bytesTotal: number): void
}

/**
 * Hashes one file. Throws FILE_TOO_LARGE beyond what a manifest describes, SOURCE_CHANGED when the file
 * changes while it is read (it is hashed again once it settles), CANCELLED when `signal` aborts.
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<HashedFile> {
  const before = await stat(path)
  if (before.size > MAX_FILE_BYTES) {
    throw new SwarmError(
      'FILE_TOO_LARGE',
      `${before.size} bytes is more than the ${MAX_FILE_BYTES} a file may have`,
    )
  }
  const size = before.size
  const chunkSize = chunkSizeFor(size)
  const count = chunkCountOf(size, chunkSize)
  const hashes: string[] = []
  const handle = await open(path, 'r')
  try {
    // Two buffers: the next slice is read into one while the other is hashed.
    const buffers = [new Uint8Array(Math.min(chunkSize, size)), new Uint8Array(Math.min(chunkSize, size))]
    const read = (index: number) =>
      readSlice(handle, buffers[index % 2]!, index * chunkSize, Math.min(chunkSize, size - index * chunkSize))
    let reading = count > 0 ? read(0) : undefined
    for (let index = 0; index < count; index++) {
      if (options.signal?.aborted) throw new SwarmError('CANCELLED', 'hashing cancelled')
      const bytes = await reading!
      reading = index + 1 < count ? read(index + 1) : undefined
      hashes.push(createHash('sha256').update(bytes).digest('hex'))
      options.onProgress?.(Math.min(size, (index + 1) * chunkSize), size)
    }
  } finally {
    await handle.close()
  }
  const after = await stat(path)
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new SwarmError('SOURCE_CHANGED', 'the file changed while it was being hashed')
  }
  return { manifest: { size, chunkSize, hashes }, size, mtimeMs: before.mtimeMs }
}

async function readSlice(
  handle: Awaited<ReturnType<typeof open>>,
  buffer: Uint8Array,
  position: number,
  length: number,
): Promise<Uint8Array> {
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0)
      throw new SwarmError('SOURCE_CHANGED', 'the file got shorter while it was being hashed')
    filled += bytesRead
  }
  return buffer.subarray(0, length)
}
