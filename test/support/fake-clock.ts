import type { Clock } from '../../web/peer/clock.js'

/** A clock that moves only when a test says so; timers run in due order. */
export class FakeClock implements Clock {
  #now: number
  #nextHandle = 1
  readonly #timers = new Map<number, { at: number; callback: () => void }>()

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = this.#nextHandle++
    this.#timers.set(handle, { at: this.#now + Math.max(0, delayMs), callback })
    return handle
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  get pendingTimers(): number {
    return this.#timers.size
  }

  /** Moves time forward, running each timer that falls due, in order (and timers they set). */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined
      for (const entry of this.#timers)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry
      if (!due) break
      this.#timers.delete(due[0])
      this.#now = Math.max(this.#now, due[1].at)
      due[1].callback()
    }
    this.#now = until
  }
}
