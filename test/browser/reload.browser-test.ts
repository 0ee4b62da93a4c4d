/// <reference types="mocha" />
/**
 * What is stored survives the page: partial state written by one page is what a new page of the same
 * profile finds when it scans the store on load.
 *
 * "The page reloaded" is done for real, in Chromium: the state is written by a new page of this test's
 * browser context (same profile, so the same IndexedDB), which is then reloaded and scans; it is closed,
 * and another new page scans again. Each is a new document with fresh module instances (a fresh
 * idb-keyval, fresh stores), so nothing can come from memory; only IndexedDB is shared. This test's own
 * page, a third document, scans last. An iframe would share this page's process and lifetime; a new page
 * is the closest thing to a user coming back.
 */
import { expect } from 'chai'
import { scanInventory } from '../../web/storage/inventory.js'
import { inNewPage } from './support/commands.js'
import { freshDatabases, storesOf } from './support/databases.js'
import type { ScannedInventory, WrittenState } from './support/harness.js'

describe('the inventory after a reload', () => {
  it('reports the same files and chunks in a new page of the same profile', async () => {
    const databases = freshDatabases('reload')
    const [written, afterReload] = (await inNewPage([
      { call: 'writePartialState', args: [databases] },
      'reload',
      { call: 'scan', args: [databases] },
    ])) as [WrittenState, ScannedInventory]

    const expectedFiles = [
      {
        digest: written.complete,
        name: 'complete.bin',
        origin: 'shared',
        size: 2.5 * 1024 * 1024,
        chunkCount: 3,
        have: [0, 1, 2],
      },
      {
        digest: written.partial,
        name: 'partial.bin',
        origin: 'downloaded',
        size: 4 * 1024 * 1024,
        chunkCount: 4,
        have: [0, 2],
      },
    ]
    expect(afterReload).to.deep.equal({ files: expectedFiles, discarded: [written.damaged] })

    // The damaged record was dropped by that scan: a later page sees the same files and nothing to drop.
    const [inAnotherPage] = (await inNewPage([{ call: 'scan', args: [databases] }])) as [ScannedInventory]
    expect(inAnotherPage).to.deep.equal({ files: expectedFiles, discarded: [] })

    const { chunks, files } = storesOf(databases)
    const here = await scanInventory(files, chunks)
    expect(here.files.map(({ record }) => record.digest)).to.deep.equal([written.complete, written.partial])
    expect(here.files.map(({ have }) => have.count)).to.deep.equal([3, 2])
  })
})
