/// <reference lib="webworker" />
/**
 * Runs the hash-only baseline in a worker, the kind of thread ingest runs in. Answers 'ready' once it has
 * hashed a small warm-up blob (so module load and the first digest are not timed), then one figure per
 * file it is sent.
 */
import { hashChunksAlone } from './hash-only.js'

declare const self: DedicatedWorkerGlobalScope

/** Enough to go through every step once. */
const WARM_UP_BYTES = 64 * 1024

export type HashOnlyReply = { type: 'ready' } | { type: 'hashed'; chunks: number }

// Timed by the page, from posting the file to this answer, as ingest is timed from the page.
self.addEventListener('message', async (event: MessageEvent<Blob>) => {
  const { chunks } = await hashChunksAlone(event.data)
  self.postMessage({ type: 'hashed', chunks } satisfies HashOnlyReply)
})

hashChunksAlone(new Blob([new Uint8Array(WARM_UP_BYTES)])).then(() =>
  self.postMessage({ type: 'ready' } satisfies HashOnlyReply),
)
