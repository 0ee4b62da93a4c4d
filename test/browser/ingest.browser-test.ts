/// <reference types="mocha" />
/**
 * Ingest through the real Ingester and its module worker: the digest the browser computes is the one the
 * shared code computes in Node for the same bytes, every stored chunk reads back verified, and a cancel
 * leaves nothing behind.
 */
import { expect } from 'chai'
import { SwarmError } from '../../shared/errors.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { IdbChunkStore } from '../../web/storage/idb-chunk-store.js'
import { IdbFileStore } from '../../web/storage/idb-file-store.js'
import type { IngestProgress } from '../../web/storage/ingest.js'
import { Ingester } from '../../web/storage/ingester.js'
import { readVerifiedChunk } from '../../web/storage/verified-chunks.js'
import { bytesEqual, MiB, testBytes, testFile } from './support/bytes.js'
import { type NodeExpectation, nodeExpectations } from './support/commands.js'
import { clearDefaultDatabases, defaultDatabaseKeys } from './support/databases.js'

/** Empty, exactly one chunk, one chunk and a byte, and several chunks with a short last one. */
const SIZES = [0, 1 * MiB, 1 * MiB + 1, 3.5 * MiB]

describe('ingest in Chromium', () => {
  let expected: NodeExpectation[]
  let ingester: Ingester
  // The worker stores under the default database names: these read what it wrote.
  const chunks = new IdbChunkStore()
  const files = new IdbFileStore()

  before(async () => {
    expected = await nodeExpectations(SIZES)
  })

  beforeEach(async () => {
    await clearDefaultDatabases()
    ingester = new Ingester()
  })

  afterEach(async () => {
    ingester.destroy()
    await clearDefaultDatabases()
  })

  for (const [position, size] of SIZES.entries()) {
    it(`stores ${size} bytes under the digest Node computes for them, every chunk verified`, async () => {
      const node = expected[position]!
      const progress: IngestProgress[] = []
      let announced: string | undefined
      const { record, duplicate, chunksWritten } = await ingester.ingest(testFile(size, 'known.bin'), {
        onProgress: (event) => progress.push(event),
        onManifest: (early) => {
          announced = early.digest
        },
      }).result

      expect(record.digest).to.equal(node.digest)
      expect(record.manifest).to.deep.equal(node.manifest)
      expect(record.plainSha256).to.equal(node.plainSha256)
      expect(record.name).to.equal('known.bin')
      expect(record.origin).to.equal('shared')
      expect(announced).to.equal(node.digest)
      expect(duplicate).to.equal(false)
      expect(chunksWritten).to.equal(node.manifest.hashes.length)

      expect(await files.get(node.digest)).to.deep.equal(record)
      expect(await chunks.indices(node.digest)).to.deep.equal(node.manifest.hashes.map((_, index) => index))
      const bytes = testBytes(size)
      for (let index = 0; index < node.manifest.hashes.length; index++) {
        const chunk = await readVerifiedChunk(chunks, record.manifest, record.digest, index)
        const start = index * record.manifest.chunkSize
        expect(chunk, `chunk ${index}`).to.not.equal(undefined)
        expect(bytesEqual(chunk!.bytes, bytes.subarray(start, start + record.manifest.chunkSize))).to.equal(
          true,
        )
      }
      const whole = await assembleFile(chunks, record)
      expect(whole.size).to.equal(size)
      expect(bytesEqual(new Uint8Array(await whole.arrayBuffer()), bytes)).to.equal(true)

      if (size === 0) {
        expect(progress).to.deep.equal([]) // nothing to read, nothing to report
      } else {
        expect(progress.some((event) => event.phase === 'hashing')).to.equal(true)
        const last = progress.at(-1)!
        expect(last).to.deep.equal({ phase: 'storing', bytesDone: size, bytesTotal: size })
        for (const event of progress) expect(event.bytesTotal).to.equal(size)
      }
    })
  }

  it('treats the same bytes dropped again as a duplicate and writes nothing', async () => {
    const size = 1 * MiB + 1
    const first = await ingester.ingest(testFile(size, 'first.bin')).result
    const again = await ingester.ingest(testFile(size, 'second name.bin')).result
    expect(again.duplicate).to.equal(true)
    expect(again.chunksWritten).to.equal(0)
    expect(again.record).to.deep.equal(first.record) // the name is metadata: the first one stays
  })

  it('keeps nothing of a file cancelled while its chunks are being stored', async () => {
    let digest: string | undefined
    const job = ingester.ingest(testFile(12 * MiB, 'cancelled.bin', 5), {
      // The record is saved and storing starts: cancel now, so the ingest must undo what it wrote.
      onManifest: (record) => {
        digest = record.digest
        job.cancel()
      },
    })
    const failure = await job.result.then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).to.be.instanceOf(SwarmError)
    expect((failure as SwarmError).code).to.equal('CANCELLED')
    expect(digest).to.match(/^[0-9a-f]{64}$/)
    expect(await files.list()).to.deep.equal({ files: [], unreadable: [] })
    expect(await defaultDatabaseKeys()).to.deep.equal({ chunks: [], files: [] })
  })
})
