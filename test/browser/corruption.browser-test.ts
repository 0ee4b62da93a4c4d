/// <reference types="mocha" />
/**
 * A chunk damaged in IndexedDB itself, behind the store's back, is caught when it is read: it is dropped
 * and reported missing, never returned, and a file cannot be assembled from it.
 */
import { expect } from 'chai'
import { createStore, set } from 'idb-keyval'
import { SwarmError } from '../../shared/errors.js'
import { chunkKey } from '../../web/storage/chunk-store.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { ingest } from '../../web/storage/ingest.js'
import { scanInventory } from '../../web/storage/inventory.js'
import { readVerifiedChunk } from '../../web/storage/verified-chunks.js'
import { MiB, testBytes } from './support/bytes.js'
import { type Databases, freshDatabases, storesOf } from './support/databases.js'

/** Overwrites one stored chunk directly in IndexedDB, as disk corruption or another tab's bug would. */
async function overwriteChunk(databases: Databases, digest: string, index: number, value: unknown) {
  await set(chunkKey(digest, index), value, createStore(databases.chunkDb, 'chunks'))
}

async function storeThreeChunks(databases: Databases): Promise<StoredFile> {
  const deps = { ...storesOf(databases), now: () => Date.now() }
  const source = new Blob([testBytes(2.5 * MiB, 3) as Uint8Array<ArrayBuffer>])
  return (await ingest(source, deps, { name: 'three.bin', mime: '' })).record
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('a chunk corrupted in IndexedDB', () => {
  it('is detected on read, deleted, and reported missing', async () => {
    const databases = freshDatabases('corrupt-read')
    const { chunks, files } = storesOf(databases)
    const record = await storeThreeChunks(databases)
    const garbage = testBytes(1 * MiB, 99) // right length, wrong bytes
    await overwriteChunk(databases, record.digest, 1, new Blob([garbage as Uint8Array<ArrayBuffer>]))

    expect(await chunks.indices(record.digest)).to.deep.equal([0, 1, 2]) // still there, until read
    expect(await readVerifiedChunk(chunks, record.manifest, record.digest, 1)).to.equal(undefined)
    expect(await chunks.indices(record.digest)).to.deep.equal([0, 2])
    expect(await chunks.has(record.digest, 1)).to.equal(false)
    expect(await readVerifiedChunk(chunks, record.manifest, record.digest, 0)).to.not.equal(undefined)

    // On the next load it is a partial file, missing that chunk: it will be fetched again.
    const inventory = await scanInventory(files, chunks)
    expect(inventory.files).to.have.length(1)
    expect(inventory.files[0]!.have.has(1)).to.equal(false)
    expect(inventory.files[0]!.have.count).to.equal(2)
  })

  it('makes assembling the file fail with CHUNK_CORRUPT', async () => {
    const databases = freshDatabases('corrupt-assemble')
    const { chunks } = storesOf(databases)
    const record = await storeThreeChunks(databases)
    await overwriteChunk(databases, record.digest, 2, new Blob([new Uint8Array([1, 2, 3])]))

    const failure = await rejection(assembleFile(chunks, record))
    expect(failure).to.be.instanceOf(SwarmError)
    expect((failure as SwarmError).code).to.equal('CHUNK_CORRUPT')
    expect(await chunks.indices(record.digest)).to.deep.equal([0, 1])
  })

  it('treats a stored value that is not a Blob as corrupt', async () => {
    const databases = freshDatabases('corrupt-type')
    const { chunks } = storesOf(databases)
    const record = await storeThreeChunks(databases)
    await overwriteChunk(databases, record.digest, 0, 'not a chunk')

    expect(await readVerifiedChunk(chunks, record.manifest, record.digest, 0)).to.equal(undefined)
    expect(await chunks.indices(record.digest)).to.deep.equal([1, 2])
  })
})
