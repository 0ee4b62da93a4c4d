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
    this.#refill(nowMs)
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /**
   * Whether the bucket is out of debt. For work whose cost is known only once it is done: run it while
   * there is credit, then `charge` what it cost, which may leave a debt that the rate pays back.
   */
  hasCredit(nowMs: number): boolean {
    this.#refill(nowMs)
    return this.#tokens > 0
  }

  /** Takes `cost` tokens, going into debt if there are fewer. */
  charge(nowMs: number, cost: number): void {
    this.#refill(nowMs)
    this.#tokens -= cost
  }

  /** Whether it has refilled to its burst: nothing was taken lately, so it can be forgotten. */
  isFull(nowMs: number): boolean {
    this.#refill(nowMs)
    return this.#tokens >= this.burst
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs)
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsedMs / 1000) * this.ratePerSecond)
    this.#updatedMs = nowMs
  }
}
