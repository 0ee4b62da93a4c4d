/**
 * What every chunk store and file store must do, as one suite run against each implementation: memory
 * (test/web/stores.test.ts), IndexedDB in Chromium (test/browser/stores.browser-test.ts) and the headless
 * peer's folder (test/cli/folder-stores.test.ts). It imports chai's `expect`, which vitest and
 * web-test-runner's mocha both run, and takes `describe` and `it` from its caller.
 */
import { expect } from 'chai'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import type { ChunkStore } from '../../web/storage/chunk-store.js'
import type { FileStore, StoredFile } from '../../web/storage/file-store.js'

export interface StoresUnderTest {
  chunks: ChunkStore
  files: FileStore
  /** Stores anything under a record key, as a damaged or hostile store would hold it. */
  putRawRecord(key: string, value: unknown): Promise<void>
  /** New store objects over the same storage, as after a restart or a reload. */
  reopen(): Promise<{ chunks: ChunkStore; files: FileStore }>
}

export interface SuiteFunctions {
  describe(name: string, body: () => void): void
  it(name: string, body: () => Promise<void>): void
}

const KiB = 1024
const MiB = 1024 * KiB

function bytesOf(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 13 + seed * 101 + (i >> 9)) & 255
  return bytes
}

async function bytesIn(blob: Blob | undefined): Promise<Uint8Array | undefined> {
  return blob ? new Uint8Array(await blob.arrayBuffer()) : undefined
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((value, i) => value === b[i])
}

/** A valid record of a small file, and its digest. */
async function recordOf(name: string, seed: number): Promise<StoredFile> {
  const manifest = await manifestOf(bytesOf(2 * MiB + 3, seed))
  return {
    digest: await manifestDigest(manifest),
    name,
    mime: 'application/octet-stream',
    manifest,
    origin: 'shared',
    addedAtMs: 1_700_000_000_000 + seed,
  }
}

const DIGEST_A = 'a'.repeat(64)
// Shares DIGEST_A's first 63 characters: no prefix match may mix the two files up.
const DIGEST_B = `${'a'.repeat(63)}b`

export function storeContract(
  label: string,
  open: () => Promise<StoresUnderTest>,
  { describe, it }: SuiteFunctions,
): void {
  describe(`${label} chunk store`, () => {
    it('gives back exactly the bytes put, and nothing for a chunk never put', async () => {
      const { chunks } = await open()
      const whole = bytesOf(MiB, 1)
      const short = bytesOf(3, 2)
      await chunks.put(DIGEST_A, 0, whole)
      await chunks.put(DIGEST_A, 1, short)
      expect(sameBytes(await bytesIn(await chunks.get(DIGEST_A, 0)), whole)).to.equal(true)
      expect(sameBytes(await bytesIn(await chunks.get(DIGEST_A, 1)), short)).to.equal(true)
      if (chunks.getBytes) {
        // The optional read without a Blob gives the same bytes, and nothing for a chunk never put.
        expect(sameBytes(await chunks.getBytes(DIGEST_A, 0), whole)).to.equal(true)
        expect(sameBytes(await chunks.getBytes(DIGEST_A, 1), short)).to.equal(true)
        expect(await chunks.getBytes(DIGEST_A, 2)).to.equal(undefined)
      }
      expect(await chunks.get(DIGEST_A, 2)).to.equal(undefined)
      expect(await chunks.get(DIGEST_B, 0)).to.equal(undefined)
      expect([
        await chunks.has(DIGEST_A, 1),
        await chunks.has(DIGEST_A, 2),
        await chunks.has(DIGEST_B, 0),
      ]).to.deep.equal([true, false, false])
    })

    it("lists one file's chunks in ascending numeric order, never another file's", async () => {
      const { chunks } = await open()
      for (const index of [10, 2, 0, 100]) await chunks.put(DIGEST_A, index, bytesOf(16, index))
      await chunks.put(DIGEST_B, 1, bytesOf(16, 7))
      expect(await chunks.indices(DIGEST_A)).to.deep.equal([0, 2, 10, 100])
      expect(await chunks.indices(DIGEST_B)).to.deep.equal([1])
      expect(await chunks.indices('c'.repeat(64))).to.deep.equal([])
    })

    it('keeps the last bytes put for a chunk', async () => {
      const { chunks } = await open()
      await chunks.put(DIGEST_A, 3, bytesOf(64, 1))
      await chunks.put(DIGEST_A, 3, bytesOf(32, 2))
      expect(sameBytes(await bytesIn(await chunks.get(DIGEST_A, 3)), bytesOf(32, 2))).to.equal(true)
      expect(await chunks.indices(DIGEST_A)).to.deep.equal([3])
    })

    it('deletes one chunk, then every chunk of one file, and leaves the other file alone', async () => {
      const { chunks } = await open()
      for (const index of [0, 1, 2]) await chunks.put(DIGEST_A, index, bytesOf(16, index))
      await chunks.put(DIGEST_B, 0, bytesOf(16, 9))
      await chunks.delete(DIGEST_A, 1)
      await chunks.delete(DIGEST_A, 7) // never there: no error
      expect(await chunks.indices(DIGEST_A)).to.deep.equal([0, 2])
      expect(await chunks.get(DIGEST_A, 1)).to.equal(undefined)
      await chunks.deleteFile(DIGEST_A)
      expect(await chunks.indices(DIGEST_A)).to.deep.equal([])
      expect(await chunks.has(DIGEST_A, 0)).to.equal(false)
      expect(await chunks.indices(DIGEST_B)).to.deep.equal([0])
    })

    it('keeps its chunks for the next store opened on the same storage', async () => {
      const stores = await open()
      await stores.chunks.put(DIGEST_A, 5, bytesOf(100, 5))
      const { chunks } = await stores.reopen()
      expect(await chunks.indices(DIGEST_A)).to.deep.equal([5])
      expect(sameBytes(await bytesIn(await chunks.get(DIGEST_A, 5)), bytesOf(100, 5))).to.equal(true)
    })
  })

  describe(`${label} file store`, () => {
    it('gives back a record as it was put, and nothing for a digest never put', async () => {
      const { files } = await open()
      const record = await recordOf('holiday.mkv', 1)
      await files.put(record)
      expect(await files.get(record.digest)).to.deep.equal(record)
      expect(await files.get(DIGEST_B)).to.equal(undefined)
    })

    it('lists the records that parse, and apart the keys of those that do not', async () => {
      const stores = await open()
      const good = await recordOf('good.bin', 2)
      await stores.files.put(good)
      const other = await recordOf('other.bin', 3)
      await stores.putRawRecord(DIGEST_A, { digest: DIGEST_A, name: 'x', manifest: 'not a manifest' })
      // A valid record filed under another file's digest is not that file's record.
      await stores.putRawRecord(DIGEST_B, other)
      const { files, unreadable } = await stores.files.list()
      expect(files).to.deep.equal([good])
      expect([...unreadable].sort()).to.deep.equal([DIGEST_A, DIGEST_B])
      expect(await stores.files.get(DIGEST_A)).to.equal(undefined)
      expect(await stores.files.get(DIGEST_B)).to.equal(undefined)
    })

    it('deletes a record, and keeps the others for the next store opened on the same storage', async () => {
      const stores = await open()
      const [first, second] = [await recordOf('one.bin', 4), await recordOf('two.bin', 5)]
      await stores.files.put(first)
      await stores.files.put(second)
      await stores.files.delete(first.digest)
      await stores.files.delete(DIGEST_B) // never there: no error
      const { files } = await stores.reopen()
      expect(await files.get(first.digest)).to.equal(undefined)
      expect((await files.list()).files).to.deep.equal([second])
    })
  })
}
