/**
 * Per-chunk timing of the storage steps around a transfer, without changing them: a chunk store whose
 * `put` and `get` are timed, and `LocalFiles.read` and `write` timed in place. Each figure is wall time
 * from call to settle, summed over calls: it includes waiting for the thread and for IndexedDB, which is
 * what a chunk waits for before it counts as here (or is on its way).
 */
import type { LocalFiles } from '../../../web/peer/local-files.js'
import type { ChunkStore } from '../../../web/storage/chunk-store.js'
import type { StepTotal } from './api.js'

export interface StepTimes {
  /** ChunkStore.put: Blob + IndexedDB, to transaction complete. */
  put: StepTotal
  /** ChunkStore.get. */
  get: StepTotal
  /** LocalFiles.write: SHA-256 check, then put. */
  write: StepTotal
  /** LocalFiles.read: get, Blob read, SHA-256 check. */
  read: StepTotal
}

export const emptyStep = (): StepTotal => ({ ms: 0, count: 0, firstMs: Number.NaN })

export const emptySteps = (): StepTimes => ({
  put: emptyStep(),
  get: emptyStep(),
  write: emptyStep(),
  read: emptyStep(),
})

async function timed<T>(step: () => StepTotal, run: () => Promise<T>): Promise<T> {
  const started = performance.now()
  try {
    return await run()
  } finally {
    // Read at settle time: the totals may have been swapped for fresh ones meanwhile.
    const total = step()
    const ms = performance.now() - started
    if (total.count === 0) total.firstMs = ms
    total.ms += ms
    total.count++
  }
}

/** `inner`, with each `put` and `get` added to `times().put` and `times().get`. */
export function timedChunkStore(inner: ChunkStore, times: () => StepTimes): ChunkStore {
  return {
    put: (digest, index, bytes) =>
      timed(
        () => times().put,
        () => inner.put(digest, index, bytes),
      ),
    get: (digest, index) =>
      timed(
        () => times().get,
        () => inner.get(digest, index),
      ),
    has: (digest, index) => inner.has(digest, index),
    delete: (digest, index) => inner.delete(digest, index),
    indices: (digest) => inner.indices(digest),
    deleteFile: (digest) => inner.deleteFile(digest),
  }
}

/** Times `local.read` and `local.write` into `times()`, in place (instrumentation for this page only). */
export function timeLocalFiles(local: LocalFiles, times: () => StepTimes): void {
  const read = local.read.bind(local)
  const write = local.write.bind(local)
  local.read = (digest, index) =>
    timed(
      () => times().read,
      () => read(digest, index),
    )
  local.write = (digest, index, bytes, from) =>
    timed(
      () => times().write,
      () => write(digest, index, bytes, from),
    )
}
