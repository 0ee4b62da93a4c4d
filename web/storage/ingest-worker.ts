/// <reference lib="webworker" />
/**
 * The ingest worker: reads, hashes and stores dropped files off the main thread, so the page stays
 * responsive while gigabytes are hashed. One file at a time, in the order they were dropped.
 */
import '../../shared/zod-csp.js'
import { SwarmError } from '../../shared/errors.js'
import { IdbChunkStore } from './idb-chunk-store.js'
import { IdbFileStore } from './idb-file-store.js'
import { ingest } from './ingest.js'
import type { FromWorker, ToWorker } from './worker-messages.js'

declare const self: DedicatedWorkerGlobalScope

const deps = { chunks: new IdbChunkStore(), files: new IdbFileStore(), now: () => Date.now() }
const cancels = new Map<number, AbortController>()
let queue: Promise<void> = Promise.resolve()

/** Progress messages at most this often: enough for a smooth bar, few enough to cost nothing. */
const PROGRESS_INTERVAL_MS = 100

const post = (message: FromWorker) => self.postMessage(message)

self.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const message = event.data
  switch (message.type) {
    case 'ingest': {
      const controller = new AbortController()
      cancels.set(message.id, controller)
      queue = queue.then(() => run(message, controller.signal))
      return
    }
    case 'cancel':
      cancels.get(message.id)?.abort()
      return
    default:
      return assertUnreachable(message)
  }
})

async function run(message: Extract<ToWorker, { type: 'ingest' }>, signal: AbortSignal): Promise<void> {
  const { id } = message
  let lastProgressMs = 0
  try {
    const result = await ingest(message.file, deps, {
      name: message.name,
      mime: message.mime,
      ...(message.sealed ? { sealed: message.sealed } : {}),
      ...(message.listed === false ? { listed: false as const } : {}),
      ...(message.collection ? { collection: message.collection } : {}),
      signal,
      onProgress: (progress) => {
        const now = Date.now()
        if (now - lastProgressMs < PROGRESS_INTERVAL_MS && progress.bytesDone < progress.bytesTotal) return
        lastProgressMs = now
        post({ type: 'progress', id, ...progress })
      },
      onManifest: (record) => post({ type: 'manifest', id, record }),
    })
    post({ type: 'done', id, ...result })
  } catch (error) {
    const swarmError =
      error instanceof SwarmError
        ? error
        : new SwarmError('STORAGE_FAILED', String((error as Error)?.message ?? error))
    post({ type: 'failed', id, code: swarmError.code, message: swarmError.message })
  } finally {
    cancels.delete(id)
  }
}

function assertUnreachable(message: never): void {
  console.warn('ingest worker: unknown message', message)
}
