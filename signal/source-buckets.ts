/**
 * A token bucket per source address, in a map of bounded size: for traffic whose source anyone can forge
 * (UDP), where a map keyed by source would otherwise grow with every forged address.
 *
 * The map keeps the most recently seen sources. When it is full, a new source takes the place of the
 * least recently seen one if that one has refilled (it sent nothing lately, so forgetting it loses
 * nothing); otherwise the new source shares one overflow bucket with every other source that found no
 * place. Each operation is O(1).
 */
import { TokenBucket } from './token-bucket.js'

export interface SourceBucketLimits {
  /** Sustained packets a second from one source. */
  perSecond: number
  /** Packets one source may send at once. */
  burst: number
  /** Sources tracked at once (about 150 bytes each). */
  maxSources: number
}

export class SourceBuckets {
  readonly #buckets = new Map<string, TokenBucket>()
  readonly #overflow: TokenBucket

  constructor(
    private readonly limits: SourceBucketLimits,
    nowMs: number,
  ) {
    this.#overflow = new TokenBucket(limits.perSecond, limits.burst, nowMs)
  }

  get tracked(): number {
    return this.#buckets.size
  }

  /** Takes one token from `source`'s bucket; false when the source is over its rate. */
  take(source: string, nowMs: number): boolean {
    return this.#bucketOf(source, nowMs).take(nowMs)
  }

  #bucketOf(source: string, nowMs: number): TokenBucket {
    const known = this.#buckets.get(source)
    if (known) {
      // Most recently seen last, so that the first entry is always the one to consider forgetting.
      this.#buckets.delete(source)
      this.#buckets.set(source, known)
      return known
    }
    if (this.#buckets.size >= this.limits.maxSources) {
      const [oldest, bucket] = this.#buckets.entries().next().value as [string, TokenBucket]
      if (!bucket.isFull(nowMs)) return this.#overflow
      this.#buckets.delete(oldest)
    }
    const bucket = new TokenBucket(this.limits.perSecond, this.limits.burst, nowMs)
    this.#buckets.set(source, bucket)
    return bucket
  }
}
