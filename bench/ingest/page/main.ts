/**
 * The bench page: the real `Ingester` (web/storage/ingester.ts) with its real module worker, the hash-only
 * baselines and the hashing speeds, exposed on `window.bench` for the driver to call one at a time.
 */
import { CHUNK_DB_NAME } from '../../../web/storage/idb-chunk-store.js'
import { FILE_DB_NAME } from '../../../web/storage/idb-file-store.js'
import { Ingester } from '../../../web/storage/ingester.js'
import {
  type BenchApi,
  type HashOnlyResult,
  type IngestRunResult,
  PASS2_DATABASES,
  type Pass2Request,
  type Pass2Stages,
} from './api.js'
import { hashChunksAlone } from './hash-only.js'
import type { HashOnlyReply } from './hash-only-worker.js'
import { measureHashSpeeds } from './hash-speeds.js'

/** How often the page's heap is read during an ingest: ~50 ms catches peaks that last a few chunks. */
const HEAP_SAMPLE_MS = 50
const MiB = 1024 * 1024
/** A small file ingested before timing: loads the worker, opens IndexedDB, compiles hash-wasm. */
const WARM_UP_BYTES = 4096

/** Chromium's non-standard `performance.memory`; precise with --enable-precise-memory-info. */
interface PerformanceMemory {
  usedJSHeapSize: number
}

let ingester: Ingester | undefined

function picked(): File {
  const file = document.querySelector<HTMLInputElement>('#input')?.files?.[0]
  if (!file) throw new Error('no file picked: the driver sets one with setInputFiles')
  return file
}

function usedHeapBytes(): number {
  return (performance as Performance & { memory?: PerformanceMemory }).memory?.usedJSHeapSize ?? Number.NaN
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name)
    request.onsuccess = () => resolve()
    request.onerror = () => reject(request.error)
    // Blocked means a connection is still open; it resolves once that closes, so waiting is right.
    request.onblocked = () => console.warn(`deleting ${name} waits for an open connection`)
  })
}

const api: BenchApi = {
  async hashOnlyInPage(): Promise<HashOnlyResult> {
    const file = picked()
    const started = performance.now()
    const { chunks } = await hashChunksAlone(file)
    return { ms: performance.now() - started, chunks }
  },

  async hashOnlyInWorker(): Promise<HashOnlyResult> {
    const file = picked()
    const worker = new Worker(new URL('./hash-only-worker.ts', import.meta.url), { type: 'module' })
    try {
      const replies: HashOnlyReply[] = []
      let wake = () => {}
      worker.addEventListener('message', (event: MessageEvent<HashOnlyReply>) => {
        replies.push(event.data)
        wake()
      })
      const next = async (): Promise<HashOnlyReply> => {
        while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve))
        return replies.shift()!
      }
      await next() // ready
      const started = performance.now()
      worker.postMessage(file)
      const reply = await next()
      const ms = performance.now() - started
      if (reply.type !== 'hashed') throw new Error(`hash-only worker answered ${reply.type}`)
      return { ms, chunks: reply.chunks }
    } finally {
      worker.terminate()
    }
  },

  async prepareIngester(): Promise<void> {
    ingester ??= new Ingester()
    const warmUp = new File([crypto.getRandomValues(new Uint8Array(WARM_UP_BYTES))], 'warm-up.bin')
    await ingester.ingest(warmUp).result
  },

  async ingestPicked(): Promise<IngestRunResult> {
    if (!ingester) throw new Error('prepareIngester() first')
    const file = picked()
    const pageHeapStartBytes = usedHeapBytes()
    let pageHeapPeakBytes = pageHeapStartBytes
    let pageHeapSamples = 0
    const sampler = setInterval(() => {
      pageHeapPeakBytes = Math.max(pageHeapPeakBytes, usedHeapBytes())
      pageHeapSamples++
    }, HEAP_SAMPLE_MS)
    try {
      let readyMs = Number.NaN
      const started = performance.now()
      const result = await ingester.ingest(file, {
        onManifest: () => {
          readyMs = performance.now() - started
        },
      }).result
      const doneMs = performance.now() - started
      pageHeapPeakBytes = Math.max(pageHeapPeakBytes, usedHeapBytes())
      return {
        readyMs,
        doneMs,
        digest: result.record.digest,
        plainSha256: result.record.plainSha256 ?? '',
        chunksWritten: result.chunksWritten,
        duplicate: result.duplicate,
        pageHeapPeakBytes,
        pageHeapStartBytes,
        pageHeapSamples,
      }
    } finally {
      clearInterval(sampler)
    }
  },

  async clearStorage(): Promise<void> {
    ingester?.destroy()
    ingester = undefined
    await deleteDatabase(CHUNK_DB_NAME)
    await deleteDatabase(FILE_DB_NAME)
  },

  async pass2Breakdown(mib: number): Promise<Pass2Stages[]> {
    const worker = new Worker(new URL('./pass2-worker.ts', import.meta.url), { type: 'module' })
    try {
      const answer = new Promise<Pass2Stages[]>((resolve, reject) => {
        worker.addEventListener('message', (event: MessageEvent<Pass2Stages[]>) => resolve(event.data))
        worker.addEventListener('error', (event) => reject(new Error(event.message)))
      })
      worker.postMessage({ file: picked(), bytes: mib * MiB } satisfies Pass2Request)
      return await answer
    } finally {
      worker.terminate()
      for (const name of PASS2_DATABASES) await deleteDatabase(name)
    }
  },

  hashSpeeds: measureHashSpeeds,
}

window.bench = api
