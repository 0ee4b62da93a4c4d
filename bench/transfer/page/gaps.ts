/**
 * Pauses in what a receiver gets: the gaps between consecutive data messages longer than STALL_GAP_MS.
 * At 15–30 MB/s a 256 KiB message arrives every 8–17 ms, so a longer gap is the channel standing idle
 * (the sender had nothing queued), which is where a protocol loses throughput against the raw channel.
 */
import type { GapFigures } from './api.js'

export const STALL_GAP_MS = 25

export class GapCounter {
  #last = Number.NaN
  /** When the first message was noted (NaN before). */
  firstAt = Number.NaN
  readonly #figures: GapFigures = { count: 0, totalMs: 0, longestMs: 0 }

  note(now = performance.now()): void {
    if (Number.isNaN(this.firstAt)) this.firstAt = now
    const gap = now - this.#last
    this.#last = now
    if (!(gap > STALL_GAP_MS)) return // NaN on the first message
    this.#figures.count++
    this.#figures.totalMs += gap
    this.#figures.longestMs = Math.max(this.#figures.longestMs, gap)
  }

  get figures(): GapFigures {
    return { ...this.#figures }
  }
}
