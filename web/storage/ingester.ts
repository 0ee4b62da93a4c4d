/**
 * The page's side of ingest: checks storage first, hands files to the worker one by one, and turns the
 * worker's messages into progress callbacks and a promise per file.
 */
import { assertNever } from '../../shared/assert-never.js'
import { SwarmError } from '../../shared/errors.js'
import { shareableMime, shareableName } from './file-name.js'
import type { StoredFile } from './file-store.js'
import type { IngestProgress, IngestResult } from './ingest.js'
import { ensureRoom, type StorageEstimator } from './quota.js'
import { type FromWorker, FromWorkerSchema, type ShareOptions, type ToWorker } from './worker-messages.js'

export interface IngestCallbacks {
  onProgress?(progress: IngestProgress): void
  /** Hashing is done: the file has its digest and can be seeded from the dropped File. */
  onManifest?(record: StoredFile): void
}

export interface IngestJob {
  /** Stops the work; the promise then rejects with CANCELLED and nothing this job stored is kept. */
  cancel(): void
  readonly result: Promise<IngestResult>
}

interface Pending extends IngestCallbacks {
  resolve(result: IngestResult): void
  reject(error: SwarmError): void
}

export class Ingester {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #destroyed = false

  constructor(
    private readonly storage: StorageEstimator | undefined = globalThis.navigator?.storage,
    createWorker: () => Worker = () =>
      new Worker(new URL('./ingest-worker.ts', import.meta.url), { type: 'module' }),
  ) {
    this.#worker = createWorker()
    this.#worker.addEventListener('message', (event) => this.#onMessage(event.data))
    this.#worker.addEventListener('error', (event) => {
      this.destroy(new SwarmError('STORAGE_FAILED', `the ingest worker failed: ${event.message}`))
    })
  }

  /**
   * Hashes and stores `file` in the worker. `share` makes it private (sealed), unlisted, or a collection;
   * `name` overrides the name it is shared under (default: its path in a dropped folder, or its name).
   */
  ingest(
    file: Blob,
    callbacks: IngestCallbacks = {},
    share: ShareOptions & { name?: string } = {},
  ): IngestJob {
    const id = this.#nextId++
    let cancelled = false
    const result = (async () => {
      if (this.#destroyed) throw new SwarmError('CANCELLED', 'the ingester is closed')
      await ensureRoom(this.storage, file.size)
      if (cancelled) throw new SwarmError('CANCELLED', 'ingest cancelled')
      return new Promise<IngestResult>((resolve, reject) => {
        this.#pending.set(id, { ...callbacks, resolve, reject })
        const { name, ...options } = share
        const fileName = name ?? shareableName(file as File)
        this.#post({ type: 'ingest', id, file, name: fileName, mime: shareableMime(file.type), ...options })
      })
    })()
    return {
      result,
      cancel: () => {
        cancelled = true
        if (this.#pending.has(id)) this.#post({ type: 'cancel', id })
      },
    }
  }

  /** Stops the worker; every unfinished job rejects with `reason`. Idempotent. */
  destroy(reason = new SwarmError('CANCELLED', 'the ingester is closed')): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#worker.terminate()
    for (const pending of this.#pending.values()) pending.reject(reason)
    this.#pending.clear()
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message)
  }

  #onMessage(data: unknown): void {
    const parsed = FromWorkerSchema.safeParse(data)
    if (!parsed.success) {
      this.destroy(new SwarmError('STORAGE_FAILED', 'the ingest worker sent a malformed message'))
      return
    }
    const message: FromWorker = parsed.data
    const pending = this.#pending.get(message.id)
    if (!pending) return
    switch (message.type) {
      case 'progress':
        pending.onProgress?.({
          phase: message.phase,
          bytesDone: message.bytesDone,
          bytesTotal: message.bytesTotal,
        })
        return
      case 'manifest':
        pending.onManifest?.(message.record)
        return
      case 'done':
        this.#pending.delete(message.id)
        pending.resolve({
          record: message.record,
          duplicate: message.duplicate,
          chunksWritten: message.chunksWritten,
        })
        return
      case 'failed':
        this.#pending.delete(message.id)
        pending.reject(new SwarmError(message.code, message.message))
        return
      default:
        return assertNever(message)
    }
  }
}
