/**
 * What is directly in the folder: complete files (regular files, or links to them) with the size and
 * mtime that key the hash cache, and what is left out and why. Hidden files (dot files, the folder's own
 * `.swarmdrop`) and `.chunk` files are not complete files; subfolders are not shared (one folder, as the
 * original design has it).
 */
import type { Stats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseChunkFileName } from './layout.js'
import { IO_PARALLELISM, mapLimit } from './map-limit.js'

export interface ListedFile {
  name: string
  size: number
  mtimeMs: number
}

export type SkipReason = 'folder' | 'unreadable' | 'special'

export interface Listing {
  files: ListedFile[]
  skipped: { name: string; reason: SkipReason }[]
}

export async function listFolder(dir: string): Promise<Listing> {
  const listing: Listing = { files: [], skipped: [] }
  const candidates = (await readdir(dir, { withFileTypes: true })).filter(
    (entry) => !entry.name.startsWith('.') && !parseChunkFileName(entry.name),
  )
  const stats = await mapLimit(
    candidates,
    IO_PARALLELISM,
    (entry): Promise<Stats | 'folder' | undefined> =>
      // Follows links: a link to a file is shared as that file.
      entry.isDirectory()
        ? Promise.resolve('folder' as const)
        : stat(join(dir, entry.name)).catch(() => undefined),
  )
  candidates.forEach(({ name }, i) => {
    const found = stats[i]
    if (found === 'folder') listing.skipped.push({ name, reason: 'folder' })
    else if (!found) listing.skipped.push({ name, reason: 'unreadable' })
    else if (found.isFile()) listing.files.push({ name, size: found.size, mtimeMs: found.mtimeMs })
    else listing.skipped.push({ name, reason: found.isDirectory() ? 'folder' : 'special' })
  })
  return listing
}
