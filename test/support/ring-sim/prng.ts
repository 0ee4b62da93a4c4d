/**
 * A seeded pseudo-random generator (sfc32, from PractRand's small fast counting generator) and the
 * distributions the simulator draws from. Every draw of a run comes from one seed, so a run repeats
 * exactly: a failing seed is a reproducible bug report.
 */
export class Prng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: number) {
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = seed >>> 0
    for (let i = 0; i < 15; i++) this.next()
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Lognormal with the given median and sigma of its logarithm. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  /** Weibull with the given shape and median (scale = median / ln(2)^(1/shape)). */
  weibull(shape: number, median: number): number {
    const scale = median / Math.log(2) ** (1 / shape)
    return scale * (-Math.log(1 - this.next())) ** (1 / shape)
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** 32 bytes, for a key seed. */
  bytes32(): Uint8Array {
    const out = new Uint8Array(32)
    for (let i = 0; i < 32; i++) out[i] = this.int(256)
    return out
  }
}
