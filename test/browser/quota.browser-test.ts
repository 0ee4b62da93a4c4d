/// <reference types="mocha" />
/**
 * Running out of storage, with a real quota: the origin's quota is made small through the DevTools
 * protocol (Storage.overrideQuotaForOrigin), so Chromium's own IndexedDB refuses the writes.
 */
import { expect } from 'chai'
import { SwarmError } from '../../shared/errors.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { IdbChunkStore } from '../../web/storage/idb-chunk-store.js'
import { IdbFileStore } from '../../web/storage/idb-file-store.js'
import { Ingester } from '../../web/storage/ingester.js'
import { scanInventory } from '../../web/storage/inventory.js'
import { readVerifiedChunk, writeVerifiedChunk } from '../../web/storage/verified-chunks.js'
import { bytesEqual, MiB, testBytes, testFile } from './support/bytes.js'
import { overrideQuota } from './support/commands.js'
import { clearDefaultDatabases, defaultDatabaseKeys, freshDatabases, storesOf } from './support/databases.js'

/** Room left by the overridden quota beyond what is stored already: a few chunks, not a whole file. */
const ROOM_BYTES = 4.5 * MiB
/** The files that hit the quota mid-way: larger than the room. */
const FILE_BYTES = 8 * MiB

/** Sets the quota to what is stored now plus `room`. */
async function leaveRoom(room: number): Promise<void> {
  const { usage = 0 } = await navigator.storage.estimate()
  await overrideQuota(Math.ceil(usage + room))
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

function expectCode(error: unknown, code: string): void {
  expect(error, 'an error').to.be.instanceOf(SwarmError)
  expect((error as SwarmError).code).to.equal(code)
}

describe('storage quota', () => {
  let ingester: Ingester | undefined

  // What Chromium 156 does here (seen, not documented): IndexedDB asks the quota manager for the room
  // left when a database is first used and again only when a write does not fit the figure it has kept.
  // A quota lowered after that is not enforced until the old figure runs out. So the override is set
  // before this page first opens a database, and kept tight (stored bytes plus a few chunks) throughout.
  before(() => leaveRoom(ROOM_BYTES))
  after(() => overrideQuota())

  beforeEach(async () => {
    await clearDefaultDatabases()
    await leaveRoom(ROOM_BYTES)
  })

  afterEach(async () => {
    ingester?.destroy()
    ingester = undefined
    await clearDefaultDatabases()
  })

  it('refuses up front a file larger than the room the browser reports, storing nothing', async () => {
    // Chromium's navigator.storage.estimate() does not show the override: it reports a static quota, the
    // usage plus 10 GiB here (its StaticStorageQuota feature; with that feature disabled it reports the
    // override, seen here), while writes are held to the real quota. So the check before work can only
    // refuse what exceeds that report: a file one MiB larger than it, built from references to one 1 MiB
    // Blob, so that no bytes are copied.
    const { quota = 0, usage = 0 } = await navigator.storage.estimate()
    const parts = Math.ceil((quota - usage) / MiB) + 1
    const mib = new Blob([testBytes(MiB) as Uint8Array<ArrayBuffer>])
    const huge = new File(new Array<Blob>(parts).fill(mib), 'huge.bin')

    ingester = new Ingester()
    let reported = false
    const failure = await rejection(ingester.ingest(huge, { onProgress: () => (reported = true) }).result)
    expectCode(failure, 'QUOTA_EXCEEDED')
    expect(reported, 'no work started').to.equal(false)
    expect(await defaultDatabaseKeys()).to.deep.equal({ chunks: [], files: [] })
  })

  it('gives QUOTA_EXCEEDED mid-way and keeps every chunk stored before readable', async () => {
    const databases = freshDatabases('quota-direct')
    const { chunks, files } = storesOf(databases)
    const bytes = testBytes(FILE_BYTES, 7)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    await files.put({ digest, name: 'arriving.bin', mime: '', manifest, origin: 'downloaded', addedAtMs: 1 })

    const slice = (index: number) =>
      bytes.subarray(index * manifest.chunkSize, (index + 1) * manifest.chunkSize)
    let failure: unknown
    let index = 0
    for (; index < manifest.hashes.length; index++) {
      failure = await rejection(writeVerifiedChunk(chunks, manifest, digest, index, slice(index)))
      if (failure) break
    }
    expectCode(failure, 'QUOTA_EXCEEDED')
    expect(index, 'chunks written before the quota was hit').to.be.within(1, manifest.hashes.length - 1)

    expect(await chunks.indices(digest)).to.deep.equal(Array.from({ length: index }, (_, i) => i))
    for (let stored = 0; stored < index; stored++) {
      const chunk = await readVerifiedChunk(chunks, manifest, digest, stored)
      expect(chunk && bytesEqual(chunk.bytes, slice(stored)), `chunk ${stored} reads back`).to.equal(true)
    }
    expect(await files.get(digest)).to.not.equal(undefined)
  })

  it('gives QUOTA_EXCEEDED mid-way through an ingest and keeps the partial file', async () => {
    // An estimate that claims room, as a browser's estimate can before the writes find out otherwise.
    ingester = new Ingester({ estimate: async () => ({ quota: 1024 * MiB, usage: 0 }) })
    let digest: string | undefined
    const failure = await rejection(
      ingester.ingest(testFile(FILE_BYTES, 'ingested.bin', 8), {
        onManifest: (record) => {
          digest = record.digest
        },
      }).result,
    )
    expectCode(failure, 'QUOTA_EXCEEDED')

    const chunks = new IdbChunkStore()
    const inventory = await scanInventory(new IdbFileStore(), chunks)
    expect(inventory.files.map(({ record }) => record.digest)).to.deep.equal([digest])
    const { record, have } = inventory.files[0]!
    expect(record.plainSha256, 'not complete').to.equal(undefined)
    expect(have.count).to.be.within(1, record.manifest.hashes.length - 1)
    const bytes = testBytes(FILE_BYTES, 8)
    for (const index of await chunks.indices(record.digest)) {
      const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, index)
      const start = index * record.manifest.chunkSize
      const expected = bytes.subarray(start, start + record.manifest.chunkSize)
      expect(chunk && bytesEqual(chunk.bytes, expected), `chunk ${index} reads back`).to.equal(true)
    }
  })
})
