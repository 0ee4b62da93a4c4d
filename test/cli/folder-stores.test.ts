/**
 * The headless peer's folder stores: the store contract every store meets (test/support/store-contract.ts),
 * then what only a folder does: chunk files named `<digest>.<index>.chunk`, complete files served in
 * place, and a full disk that leaves nothing half-written.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, it } from 'vitest'
import { FolderChunkStore } from '../../cli/folder/folder-chunk-store.js'
import { FolderFileStore } from '../../cli/folder/folder-file-store.js'
import { FolderLayout } from '../../cli/folder/layout.js'
import { storeContract } from '../support/store-contract.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openFolderStores(dir: string) {
  const layout = new FolderLayout(dir)
  await layout.prepare()
  const chunks = new FolderChunkStore(layout)
  await chunks.load()
  return { layout, chunks, files: new FolderFileStore(layout) }
}

storeContract(
  'folder',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-folder-stores-'))
    dirs.push(dir)
    const { layout, chunks, files } = await openFolderStores(dir)
    return {
      chunks,
      files,
      putRawRecord: (key, value) =>
        writeFile(join(layout.manifestsDir, `${key}.json`), JSON.stringify(value)),
      reopen: async () => {
        const again = await openFolderStores(dir)
        return { chunks: again.chunks, files: again.files }
      },
    }
  },
  { describe, it },
)
