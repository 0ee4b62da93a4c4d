/** Counting helpers shared by the load clients: request outcomes, relay deliveries, bounded concurrency. */
import { performance } from 'node:perf_hooks'
import type { RelayStepResult, RequestsResult } from './commands.js'

/** Outcomes of one kind of request across a worker's peers. */
export class Tally {
  ok = 0
  failed = 0
  readonly errors: Record<string, number> = {}
  readonly #latencies: number[] = []
  #items = 0

  succeed(latencyMs: number, items = 0): void {
    this.ok++
    this.#latencies.push(latencyMs)
    this.#items += items
  }

  fail(reason: string): void {
    this.failed++
    this.error(reason)
  }

  /** An error reply that does not fail the request (e.g. one file of an announce rejected). */
  error(reason: string): void {
    this.errors[reason] = (this.errors[reason] ?? 0) + 1
  }

  result(): RequestsResult {
    return {
      ok: this.ok,
      failed: this.failed,
      errors: this.errors,
      latenciesMs: Float64Array.from(this.#latencies),
      meanItems: this.ok > 0 ? this.#items / this.ok : 0,
    }
  }
}

/** Deliveries of relayed offers and answers during one rate step. */
export class RelayRecorder {
  #latencies: number[] = []
  #stepStart = 0
  #windowEnd = Number.POSITIVE_INFINITY
  deliveredInWindow = 0
  delivered = 0
  /** Deliveries of messages sent before this step: a previous step's backlog, not counted here. */
  stale = 0
  otherMessages = 0
  /** Heartbeat pings the tracker sent this worker's peers. */
  pings = 0
  errors: Record<string, number> = {}

  /** Starts a step: only messages sent from now on count, and those delivered within `windowMs` are on time. */
  start(windowMs: number): void {
    this.#latencies = []
    this.#stepStart = performance.now()
    this.#windowEnd = this.#stepStart + windowMs
    this.deliveredInWindow = 0
    this.delivered = 0
    this.stale = 0
    this.otherMessages = 0
    this.pings = 0
    this.errors = {}
  }

  /** A relayed message arrived; `sentAt` is the sender's performance.now() carried inside it. */
  deliver(sentAt: number): void {
    const now = performance.now()
    if (sentAt < this.#stepStart) {
      this.stale++
      return
    }
    this.delivered++
    if (now <= this.#windowEnd) this.deliveredInWindow++
    this.#latencies.push(now - sentAt)
  }

  other(): void {
    this.otherMessages++
  }

  ping(): void {
    this.pings++
  }

  error(reason: string): void {
    this.errors[reason] = (this.errors[reason] ?? 0) + 1
  }

  result(scheduledOffers: number, sentOffers: number, loopMaxMs: number): RelayStepResult {
    return {
      scheduledOffers,
      sentOffers,
      deliveredInWindow: this.deliveredInWindow,
      delivered: this.delivered,
      missing: Math.max(0, sentOffers * 2 - this.delivered),
      latenciesMs: Float64Array.from(this.#latencies),
      otherMessages: this.otherMessages,
      pings: this.pings,
      errors: this.errors,
      loopMaxMs,
    }
  }
}

/** Runs `task` over `items` with at most `limit` running at once. */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!
      await task(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
