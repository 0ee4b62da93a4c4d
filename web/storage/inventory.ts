/**
 * The inventory: on start, what this browser holds — every file with its manifest and which chunks are
 * here. It is the input for announcing to the tracker and for resuming downloads (SPEC §3).
 */
import { Bitfield } from '../../shared/bitfield.js'
import type { ChunkStore } from './chunk-store.js'
import type { FileStore, StoredFile } from './file-store.js'

export interface InventoryEntry {
  record: StoredFile
  /** Chunks stored. They are verified when read, not here: scanning must not read gigabytes. */
  have: Bitfield
}

export interface Inventory {
  files: InventoryEntry[]
  /** Records that did not parse: deleted with their chunks, since without a manifest nothing can be verified. */
  discarded: string[]
}

export async function scanInventory(files: FileStore, chunks: ChunkStore): Promise<Inventory> {
  const { files: records, unreadable } = await files.list()
  for (const key of unreadable) {
    await chunks.deleteFile(key)
    await files.delete(key)
  }
  const entries: InventoryEntry[] = []
  for (const record of records) {
    const have = new Bitfield(record.manifest.hashes.length)
    for (const index of await chunks.indices(record.digest)) {
      if (index < have.length) have.set(index)
    }
    entries.push({ record, have })
  }
  entries.sort((a, b) => a.record.addedAtMs - b.record.addedAtMs)
  return { files: entries, discarded: unreadable }
}
