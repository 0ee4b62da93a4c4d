/**
 * Budgets per remote peer (SPEC §5): a token bucket for each peer and each kind of work it can make this
 * tab do (frames of each protocol, replies we owe it), so that a peer with one link or many, one protocol
 * or several, gets the same allowance. Buckets are kept by peer id and outlive a session: a peer whose link
 * closed and that links again at once finds its bucket as it left it, not full.
 */
import type { Clock } from './clock.js'

/** A rate and a burst, in frames (or other units of work) per second. */
export interface FrameBudget {
  /** Sustained rate: tokens added per second. */
  framesPerSecond: number
  /** Bucket size: how many may come at once, and what a new peer starts with. */
  burst: number
}

interface Bucket {
  tokens: number
  atMs: number
  readonly budget: FrameBudget
}

/** Buckets kept before those that have refilled in full are swept out (a bucket is a few dozen bytes). */
const SWEEP_ABOVE = 1024

export class PeerBudgets {
  readonly #buckets = new Map<string, Bucket>()

  constructor(private readonly clock: Clock) {}

  /**
   * Takes `tokens` from `peerId`'s bucket named `name` (created full with `budget` on first use). False when
   * there are not enough: the caller refuses the work (and closes the link: RATE_LIMITED). Tokens are not
   * taken on refusal, so a peer that slows down recovers.
   */
  take(peerId: string, name: string, budget: FrameBudget, tokens = 1): boolean {
    const key = `${name}\u0000${peerId}`
    const now = this.clock.now()
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_ABOVE) this.#sweep(now)
      bucket = { tokens: budget.burst, atMs: now, budget }
      this.#buckets.set(key, bucket)
    } else {
      refill(bucket, now)
    }
    if (bucket.tokens < tokens) return false
    bucket.tokens -= tokens
    return true
  }

  /** Tokens left in a bucket now (its burst when it was never used), for tests and the peers view. */
  left(peerId: string, name: string, budget: FrameBudget): number {
    const bucket = this.#buckets.get(`${name}\u0000${peerId}`)
    if (!bucket) return budget.burst
    refill(bucket, this.clock.now())
    return bucket.tokens
  }

  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      refill(bucket, now)
      if (bucket.tokens >= bucket.budget.burst) this.#buckets.delete(key)
    }
  }
}

function refill(bucket: Bucket, now: number): void {
  const elapsedMs = Math.max(0, now - bucket.atMs)
  bucket.tokens = Math.min(
    bucket.budget.burst,
    bucket.tokens + (elapsedMs * bucket.budget.framesPerSecond) / 1000,
  )
  bucket.atMs = now
}
