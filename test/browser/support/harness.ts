/**
 * A page of its own for the tests that need a fresh document: a new page of the test's browser context
 * (same profile) loads this and the test runs `window.harness` functions in it (commands.ts, inNewPage).
 * Only plain data crosses back to the test.
 */
import { createStore, set } from 'idb-keyval'
import { manifestDigest, manifestOf } from '../../../shared/manifest.js'
import { loadOrCreateIdentity } from '../../../web/peer/identity.js'
import { IdbKeyStore } from '../../../web/storage/idb-key-store.js'
import { ingest } from '../../../web/storage/ingest.js'
import { scanInventory } from '../../../web/storage/inventory.js'
import { writeVerifiedChunk } from '../../../web/storage/verified-chunks.js'
import { MiB, testBytes } from './bytes.js'
import { type Databases, storesOf } from './databases.js'

export interface WrittenState {
  /** A file ingested whole (3 chunks). */
  complete: string
  /** A download of 4 chunks interrupted after chunks 0 and 2 arrived. */
  partial: string
  /** The key of a record that does not parse, as a damaged database would hold. */
  damaged: string
}

export interface ScannedFile {
  digest: string
  name: string
  origin: string
  size: number
  chunkCount: number
  have: number[]
}

export interface ScannedInventory {
  files: ScannedFile[]
  discarded: string[]
}

const harness = {
  /** Leaves behind what an interrupted session would: one complete file, one partial, one damaged record. */
  async writePartialState(databases: Databases): Promise<WrittenState> {
    const stores = storesOf(databases)
    const deps = { ...stores, now: () => 1_000 }
    const complete = await ingest(new Blob([testBytes(2.5 * MiB, 1) as Uint8Array<ArrayBuffer>]), deps, {
      name: 'complete.bin',
      mime: 'application/octet-stream',
    })

    const bytes = testBytes(4 * MiB, 2)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    await stores.files.put({
      digest,
      name: 'partial.bin',
      mime: '',
      manifest,
      origin: 'downloaded',
      addedAtMs: 2_000,
    })
    for (const index of [0, 2]) {
      const chunk = bytes.subarray(index * manifest.chunkSize, (index + 1) * manifest.chunkSize)
      await writeVerifiedChunk(stores.chunks, manifest, digest, index, chunk)
    }

    const damaged = 'f'.repeat(64)
    await set(damaged, { digest: damaged, name: 42 }, createStore(databases.fileDb, 'files'))
    return { complete: complete.record.digest, partial: digest, damaged }
  },

  /** This profile's identity as a page sees it on load (created on the first load, stored in IndexedDB). */
  async identity(keyDb: string): Promise<{ nodeId: string; peerId: string; extractable: boolean }> {
    const store = new IdbKeyStore(keyDb)
    const identity = await loadOrCreateIdentity(store)
    const stored = await store.load()
    return {
      nodeId: identity.nodeId,
      peerId: identity.peerId,
      extractable: stored?.privateKey.extractable ?? true,
    }
  },

  /** What this page finds on load: the inventory, as plain data. */
  async scan(databases: Databases): Promise<ScannedInventory> {
    const { chunks, files } = storesOf(databases)
    const inventory = await scanInventory(files, chunks)
    return {
      files: inventory.files.map(({ record, have }) => ({
        digest: record.digest,
        name: record.name,
        origin: record.origin,
        size: record.manifest.size,
        chunkCount: have.length,
        have: Array.from({ length: have.length }, (_, index) => index).filter((index) => have.has(index)),
      })),
      discarded: inventory.discarded,
    }
  },
}

export type Harness = typeof harness

declare global {
  interface Window {
    harness?: Harness
  }
}

window.harness = harness
