/** A token bucket: `ratePerSecond` sustained, `burst` at once. Time comes from the caller, for tests. */
export class TokenBucket {
  #tokens: number
  #updatedMs: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.#tokens = burst
    this.#updatedMs = nowMs
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs)
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsedMs / 1000) * this.ratePerSecond)
    this.#updatedMs = nowMs
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
