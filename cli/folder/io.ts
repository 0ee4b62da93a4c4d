/**
 * The writes the folder makes, behind a small interface: node:fs by default, and in tests a disk that
 * fills up, since a full disk must pause cleanly and leave nothing half-written under a real name.
 * Reads go straight to node:fs: a failing read is caught by verification like any other bad chunk.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { SwarmError } from '../../shared/errors.js'

/** A file being written in the temp folder. */
export interface WritableFile {
  write(bytes: Uint8Array): Promise<void>
  /** Flushes it to the disk: done before it is renamed into place and the chunks it replaces go. */
  sync(): Promise<void>
  close(): Promise<void>
}

export interface FolderIo {
  /** Writes a whole new file; fails if it exists. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>
  /** Creates a new file to write in parts; fails if it exists. */
  createFile(path: string): Promise<WritableFile>
}

export const nodeIo: FolderIo = {
  // open, one write, close: fs.promises.writeFile writes in 512 KiB pieces, each its own trip through the
  // thread pool (a 1 MiB chunk file took 4.6 ms that way here, 3.4 ms this way).
  async writeFile(path, bytes) {
    const file = await nodeIo.createFile(path)
    try {
      await file.write(bytes)
    } finally {
      await file.close()
    }
  },
  async createFile(path) {
    const handle = await open(path, 'wx')
    return {
      write: async (bytes) => {
        let offset = 0
        while (offset < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
          offset += bytesWritten
        }
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    }
  },
}

/** The errno code of a Node file system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * A file system error as a typed one: a full disk (or quota) is QUOTA_EXCEEDED, as a full browser store
 * is, so the download pauses the same way; anything else is STORAGE_FAILED. `what` says what was written.
 */
export function diskError(error: unknown, what: string): SwarmError {
  if (error instanceof SwarmError) return error
  const code = errnoOf(error)
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SwarmError('QUOTA_EXCEEDED', `no room left for ${what}`, { cause: error })
  }
  const reason = error instanceof Error ? error.message : String(error)
  return new SwarmError('STORAGE_FAILED', `could not write ${what}: ${reason}`, { cause: error })
}

/** Writes `bytes` to a temp file, then renames it to `path`: a crash leaves the old file or the new one. */
export async function writeAtomically(
  io: FolderIo,
  tempPath: string,
  path: string,
  bytes: Uint8Array,
  what: string,
): Promise<void> {
  try {
    await io.writeFile(tempPath, bytes)
    await rename(tempPath, path)
  } catch (error) {
    await removeQuietly(tempPath).catch(() => {})
    throw diskError(error, what)
  }
}

/** Deletes a file; one that is already gone is no error. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error
  }
}
