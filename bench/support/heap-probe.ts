/**
 * Reads the V8 heaps of the page and of its ingest worker over the DevTools protocol while an ingest runs.
 * `Runtime.getHeapUsage` gives, per isolate, `usedSize` (the JS heap, what `performance.memory` shows in a
 * window) and `backingStorageSize` (ArrayBuffer contents, which live outside the JS heap). Dedicated
 * workers have no `performance.memory`, so the worker is reached by auto-attaching to it from the page's
 * session; the non-flattened mode lets one Playwright CDP session talk to it through
 * `Target.sendMessageToTarget`.
 */
import type { CDPSession } from 'playwright-core'

/** How often each heap is read: ~50 ms catches peaks that last a few chunks. */
export const HEAP_POLL_MS = 50

/** Peaks over the samples that came back; each is NaN until one has (never 0: 0 would read as a figure). */
export interface HeapPeaks {
  usedBytes: number
  backingStoreBytes: number
  /**
   * Both in one sample: what `performance.memory.usedJSHeapSize` reports in a window of this Chromium
   * (checked: page figures agree to 0.1 MiB), so the figure to hold a worker to as well.
   */
  withBuffersBytes: number
  samples: number
  /** Samples asked for that failed (the page navigating, the worker gone): reported, not hidden. */
  failures: number
}

export interface HeapFigures {
  page: HeapPeaks
  worker: HeapPeaks
}

export interface HeapUsage {
  usedSize: number
  backingStorageSize?: number
}

export const emptyPeaks = (): HeapPeaks => ({
  usedBytes: Number.NaN,
  backingStoreBytes: Number.NaN,
  withBuffersBytes: Number.NaN,
  samples: 0,
  failures: 0,
})

/** The larger of a peak so far (NaN: none yet) and a new value. */
const peak = (sofar: number, value: number) => (Number.isNaN(sofar) ? value : Math.max(sofar, value))

export function recordSample(peaks: HeapPeaks, usage: HeapUsage): void {
  peaks.usedBytes = peak(peaks.usedBytes, usage.usedSize)
  peaks.backingStoreBytes = peak(peaks.backingStoreBytes, usage.backingStorageSize ?? 0)
  peaks.withBuffersBytes = peak(peaks.withBuffersBytes, usage.usedSize + (usage.backingStorageSize ?? 0))
  peaks.samples++
}

interface Pending {
  resolve(result: unknown): void
  reject(error: Error): void
}

export class HeapProbe {
  readonly #cdp: CDPSession
  readonly #workerUrlPart: string
  /** Session ids of attached workers whose URL contains `workerUrlPart`. */
  readonly #workers = new Set<string>()
  /** Workers with a sample not yet answered, so a busy worker is not sent a pile of them. */
  readonly #sampling = new Set<string>()
  /** Requests to workers by message id. */
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #timer: NodeJS.Timeout | undefined
  #pageBusy = false
  #figures: HeapFigures = { page: emptyPeaks(), worker: emptyPeaks() }

  private constructor(cdp: CDPSession, workerUrlPart: string) {
    this.#cdp = cdp
    this.#workerUrlPart = workerUrlPart
  }

  /** Attaches to the page's workers, present and future, whose URL contains `workerUrlPart`. */
  static async attach(cdp: CDPSession, workerUrlPart: string): Promise<HeapProbe> {
    const probe = new HeapProbe(cdp, workerUrlPart)
    cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
      if (targetInfo.type === 'worker' && targetInfo.url.includes(probe.#workerUrlPart)) {
        probe.#workers.add(sessionId)
      }
    })
    cdp.on('Target.detachedFromTarget', ({ sessionId }) => {
      if (!sessionId) return
      probe.#workers.delete(sessionId)
      probe.#sampling.delete(sessionId)
    })
    cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
      const reply = JSON.parse(message) as { id?: number; result?: unknown; error?: { message: string } }
      const pending = reply.id === undefined ? undefined : probe.#pending.get(reply.id)
      if (!pending) return // an event, or an answer nobody waits for any more
      probe.#pending.delete(reply.id!)
      if (reply.error) pending.reject(new Error(reply.error.message))
      else pending.resolve(reply.result)
    })
    await cdp.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: false,
    })
    return probe
  }

  /**
   * Collects the page's garbage, so that buffers left by an earlier measurement (the hash-only run on the
   * page's thread) do not count in the next one's peak.
   */
  async collectPageGarbage(): Promise<void> {
    await this.#cdp.send('HeapProfiler.collectGarbage')
  }

  /**
   * The worker's heap after a full collection: what it still holds, as against what was only waiting
   * to be collected. Undefined without a worker.
   */
  async workerAfterCollection(): Promise<HeapUsage | undefined> {
    const [sessionId] = this.#workers
    if (!sessionId) return undefined
    await this.#sendToWorker(sessionId, 'HeapProfiler.collectGarbage')
    return (await this.#sendToWorker(sessionId, 'Runtime.getHeapUsage')) as HeapUsage
  }

  /** Starts sampling from zero. */
  start(): void {
    this.stop()
    this.#figures = { page: emptyPeaks(), worker: emptyPeaks() }
    this.#timer = setInterval(() => this.#sample(), HEAP_POLL_MS)
    this.#sample()
  }

  /** Stops sampling and returns the peaks seen since `start()`. */
  stop(): HeapFigures {
    clearInterval(this.#timer)
    this.#timer = undefined
    return this.#figures
  }

  #sendToWorker(sessionId: string, method: string): Promise<unknown> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      const message = JSON.stringify({ id, method })
      this.#cdp.send('Target.sendMessageToTarget', { sessionId, message }).catch((error: Error) => {
        this.#pending.delete(id)
        reject(error)
      })
    })
  }

  #sample(): void {
    if (!this.#pageBusy) {
      this.#pageBusy = true
      this.#cdp
        .send('Runtime.getHeapUsage')
        .then((usage) => {
          if (this.#timer) recordSample(this.#figures.page, usage)
        })
        .catch(() => {
          // The page navigating or closing ends sampling: counted, so that no sample is not read as a peak.
          if (this.#timer) this.#figures.page.failures++
        })
        .finally(() => {
          this.#pageBusy = false
        })
    }
    for (const sessionId of this.#workers) {
      if (this.#sampling.has(sessionId)) continue
      this.#sampling.add(sessionId)
      this.#sendToWorker(sessionId, 'Runtime.getHeapUsage')
        .then((usage) => {
          if (this.#timer) recordSample(this.#figures.worker, usage as HeapUsage)
        })
        .catch(() => {
          if (this.#timer) this.#figures.worker.failures++ // the worker went away between two samples
        })
        .finally(() => this.#sampling.delete(sessionId))
    }
  }
}
