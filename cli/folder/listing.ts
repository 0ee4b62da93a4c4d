/**
 * What is directly in the folder: complete files (regular files, or links to them) with the size and
 * mtime that key the hash cache, and what is left out and why. Hidden files (dot files, the folder's own
 * `.swarmdrop`) and `.chunk` files are not complete files; subfolders are not shared (one folder, as the
 * original design has it).
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseChunkFileName } from './layout.js'

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
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const { name } = entry
    if (name.startsWith('.') || parseChunkFileName(name)) continue
    if (entry.isDirectory()) {
      listing.skipped.push({ name, reason: 'folder' })
      continue
    }
    try {
      const stats = await stat(join(dir, name)) // follows links: a link to a file is shared as that file
      if (stats.isFile()) listing.files.push({ name, size: stats.size, mtimeMs: stats.mtimeMs })
      else listing.skipped.push({ name, reason: stats.isDirectory() ? 'folder' : 'special' })
    } catch {
      listing.skipped.push({ name, reason: 'unreadable' })
    }
  }
  return listing
}
