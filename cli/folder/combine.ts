/**
 * A finished download becomes a complete file: its chunks are streamed, one at a time, into a file in the
 * temp folder, which is flushed to disk and only then given its name in DIR. A crash or a full disk never
 * leaves half a file under a real name; the chunk files are deleted by the caller only once the file is in
 * place.
 *
 * Nothing is hashed here. Each chunk comes through `readChunk` (the engine's verified read): one this
 * process checked against the manifest when it stored it, or since it started, is only length-checked;
 * any other (a chunk file found at start and not read since) is hashed there before it is given. The
 * manifest is the digest asked for, so the file is right by construction, as a browser's saved download is
 * (SPEC §3, verify once). The whole-file SHA-256 this used to print cost a second pass over every byte
 * (bench/cli, issue 11) and checked nothing: no file-level check is needed for safety. A file corrupted on
 * disk later is caught chunk by chunk, on the first read of each after the next start.
 */
import { link, rename, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { SwarmError } from '../../shared/errors.js'
import { sanitizeFileName } from '../../web/storage/file-name.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { diskError, errnoOf, type FolderIo, removeQuietly } from './io.js'
import type { FolderLayout } from './layout.js'

/** Names tried after the wanted one is taken: `name (1).ext` … `name (999).ext`. */
const MAX_NAME_TRIES = 1000

export interface CombinedFile {
  name: string
  path: string
  size: number
  mtimeMs: number
}

export interface CombineOptions {
  layout: FolderLayout
  io: FolderIo
  record: StoredFile
  /** The sanitised name wanted in DIR. */
  name: string
  /** One verified chunk, or undefined when it is missing or failed its check. */
  readChunk(index: number): Promise<Uint8Array | undefined>
  /**
   * Called with each name tried, before the file appears under it: the folder notes the file's size and
   * mtime in its hash cache then, so that when its watcher sees the file it knows it without hashing it.
   */
  beforePlacing?(file: CombinedFile): void
}

/** Assembles the file. Throws QUOTA_EXCEEDED on a full disk, CHUNK_CORRUPT when a chunk fails its check. */
export async function combineChunks(options: CombineOptions): Promise<CombinedFile> {
  const { layout, io, record } = options
  const temp = layout.tempPath(record.digest)
  try {
    const file = await io.createFile(temp)
    try {
      for (let index = 0; index < record.manifest.hashes.length; index++) {
        const bytes = await options.readChunk(index)
        if (!bytes) throw new SwarmError('CHUNK_CORRUPT', `chunk ${index} is missing or failed its check`)
        await file.write(bytes)
      }
      await file.sync()
    } finally {
      await file.close()
    }
    const { size, mtimeMs } = await stat(temp)
    const placed = await place(temp, options.name, layout, (name, path) =>
      options.beforePlacing?.({ name, path, size, mtimeMs }),
    )
    return { ...placed, size, mtimeMs }
  } catch (error) {
    await removeQuietly(temp).catch(() => {})
    throw diskError(error, `${options.name} (${record.manifest.size} bytes)`)
  }
}

/**
 * Gives the temp file the first free name among `name`, `name (1)`, …: hard-linked, which fails rather
 * than replaces when the name is taken (another program may create it meanwhile), then unlinked from
 * the temp folder. On file systems without hard links (FAT), renamed after a check instead.
 */
async function place(
  temp: string,
  name: string,
  layout: FolderLayout,
  before: (name: string, path: string) => void,
): Promise<{ name: string; path: string }> {
  for (let attempt = 0; attempt < MAX_NAME_TRIES; attempt++) {
    const candidate = attempt === 0 ? name : numbered(name, attempt)
    const path = layout.filePath(candidate)
    before(candidate, path)
    try {
      await link(temp, path)
      await removeQuietly(temp)
      return { name: candidate, path }
    } catch (error) {
      const code = errnoOf(error)
      if (code === 'EEXIST') continue
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error
      if (
        await stat(path).then(
          () => true,
          () => false,
        )
      )
        continue
      await rename(temp, path)
      return { name: candidate, path }
    }
  }
  throw new SwarmError('STORAGE_FAILED', `no free name for ${name} in ${layout.dir}`)
}

/** `name (n).ext`, the extension kept, within the file system's limit on names. */
export function numbered(name: string, n: number): string {
  const extension = extname(name)
  return sanitizeFileName(`${name.slice(0, name.length - extension.length)} (${n})${extension}`)
}
