/**
 * The simulator's clock: a discrete-event scheduler behind the ring's Clock interface. Timers run in
 * order of due time, ties in the order they were set, from a binary heap (test/support/fake-clock.ts scans
 * every timer per step, which is fine for tens of timers and not for the 10^5 of a 10,000-node ring).
 *
 * After each event the scheduler lets every promise continuation the event started run (one macrotask
 * turn), still at the event's time, before it takes the next: the ring's async code finishes in simulated
 * time zero, in a fixed order, and the run repeats exactly.
 */
import type { Clock } from '../../../web/peer/clock.js'

interface Timer {
  at: number
  seq: number
  callback: () => void
  cancelled: boolean
}

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))

export class SimClock implements Clock {
  #now: number
  #seq = 0
  readonly #heap: Timer[] = []
  /** Events run so far. */
  events = 0

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const timer: Timer = {
      at: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      callback,
      cancelled: false,
    }
    this.#push(timer)
    return timer
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Timer).cancelled = true
  }

  /** Timers set and not yet run or cancelled-and-dropped. */
  get pending(): number {
    return this.#heap.length
  }

  /**
   * Runs every event due up to `untilMs`, calling `afterEach` after each one (and its continuations);
   * then the clock reads `untilMs`. Returns early, at the time of the last event, once `stop()` is true.
   */
  async runUntil(untilMs: number, afterEach?: () => void, stop?: () => boolean): Promise<void> {
    for (;;) {
      if (stop?.()) return
      const top = this.#heap[0]
      if (!top || top.at > untilMs) break
      this.#pop()
      if (top.cancelled) continue
      this.#now = top.at
      this.events++
      top.callback()
      await macrotask()
      afterEach?.()
    }
    if (untilMs > this.#now) this.#now = untilMs
  }

  /** Runs for `ms` from now. */
  runFor(ms: number, afterEach?: () => void): Promise<void> {
    return this.runUntil(this.#now + ms, afterEach)
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  #push(timer: Timer): void {
    const heap = this.#heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left
      if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right
      if (smallest === i) break
      ;[heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!]
      i = smallest
    }
  }
}
