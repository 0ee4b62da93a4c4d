/**
 * Token buckets per source (the origin of a routed request), in bounded memory: a node forwards for
 * every other node, so a source that floods the ring is slowed at every hop without one map entry per
 * id ever seen. When the table is full, the entry idle longest goes (Map keeps insertion order, and a use
 * moves an entry to the end).
 */
export class SourceRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>()

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxSources = 4096,
  ) {}

  /** Whether `source` has a token now (takes none). */
  has(source: string, nowMs: number): boolean {
    const bucket = this.#buckets.get(source)
    if (!bucket) return this.burst >= 1
    return bucket.tokens + (Math.max(0, nowMs - bucket.atMs) / 1000) * this.ratePerSecond >= 1
  }

  /** Takes one token for `source` if it has one. */
  take(source: string, nowMs: number): boolean {
    const bucket = this.#buckets.get(source)
    let tokens = this.burst
    if (bucket) {
      this.#buckets.delete(source)
      tokens = Math.min(
        this.burst,
        bucket.tokens + (Math.max(0, nowMs - bucket.atMs) / 1000) * this.ratePerSecond,
      )
    } else if (this.#buckets.size >= this.maxSources) {
      const oldest = this.#buckets.keys().next().value
      if (oldest !== undefined) this.#buckets.delete(oldest)
    }
    const allowed = tokens >= 1
    this.#buckets.set(source, { tokens: allowed ? tokens - 1 : tokens, atMs: nowMs })
    return allowed
  }
}
