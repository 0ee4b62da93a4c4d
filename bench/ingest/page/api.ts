/**
 * What the bench page exposes on `window.bench` for the driver (bench/ingest/main.ts), and the shapes of
 * its answers. Times are milliseconds of the page's `performance.now()`; sizes are bytes.
 */

export interface HashOnlyResult {
  ms: number
  chunks: number
}

export interface IngestRunResult {
  /** From `Ingester.ingest()` to `onManifest`: the file can be seeded. */
  readyMs: number
  /** From `Ingester.ingest()` to its result: every chunk stored, plain SHA-256 known. */
  doneMs: number
  digest: string
  plainSha256: string
  chunksWritten: number
  duplicate: boolean
  /** Peak of `performance.memory.usedJSHeapSize` in the page, sampled every `HEAP_SAMPLE_MS`. */
  pageHeapPeakBytes: number
  pageHeapStartBytes: number
  pageHeapSamples: number
}

export interface HashSpeedRow {
  name: string
  /** One figure per repetition, MB/s (10^6 bytes per second). */
  mbPerSecond: number[]
}

/** One way of running ingest's second pass over the same chunks; step times are summed over chunks. */
export interface Pass2Stages {
  name: string
  ms: number
  /** Waiting for the chunk read ahead. */
  readWaitMs: number
  /** WebCrypto SHA-256 of the chunk, checked against the manifest. */
  webCryptoMs: number
  /** hash-wasm's incremental update of the plain SHA-256. */
  hashWasmMs: number
  /** Blob + IndexedDB put of one chunk, until its transaction completes. */
  putMs: number
}

export interface Pass2Request {
  file: Blob
  /** How much of the file, from its start. */
  bytes: number
}

/** Scratch databases of the pass-2 breakdown, one per variant, deleted by the page afterwards. */
export const PASS2_DATABASES = [
  'swarmdrop-bench-pass2-as-ingest',
  'swarmdrop-bench-pass2-overlapped-1',
  'swarmdrop-bench-pass2-overlapped-4',
] as const

export interface BenchApi {
  /** Reads the picked file in chunk slices and SHA-256s each with WebCrypto, 2 lanes, in a worker. */
  hashOnlyInWorker(): Promise<HashOnlyResult>
  /** The same on the page's main thread. */
  hashOnlyInPage(): Promise<HashOnlyResult>
  /** Starts the ingest worker and lets it settle, so that its start-up is not timed. */
  prepareIngester(): Promise<void>
  /** Ingests the picked file through the real `Ingester`, sampling the page's heap meanwhile. */
  ingestPicked(): Promise<IngestRunResult>
  /** Stops the ingest worker (closing its IndexedDB connections) and deletes both databases. */
  clearStorage(): Promise<void>
  /** Ingest's second pass over the first `mib` MiB of the picked file, step by step, and overlapped. */
  pass2Breakdown(mib: number): Promise<Pass2Stages[]>
  /** Per-chunk hashing speeds over `mib` 1 MiB buffers held in memory, `repeats` times each. */
  hashSpeeds(mib: number, repeats: number): Promise<HashSpeedRow[]>
}

declare global {
  interface Window {
    bench: BenchApi
  }
}
