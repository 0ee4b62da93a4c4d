/** Messages per second over a sliding window of whole seconds, for `/stats`. */
const WINDOW_SECONDS = 5

export class MessageRate {
  readonly #buckets = new Array<number>(WINDOW_SECONDS).fill(0)
  #currentSecond: number

  constructor(private readonly now: () => number) {
    this.#currentSecond = Math.floor(now() / 1000)
  }

  count(): void {
    this.#advance()
    this.#buckets[this.#currentSecond % WINDOW_SECONDS]!++
  }

  /** Average over the last full seconds of the window (the current, partial second is left out). */
  perSecond(): number {
    this.#advance()
    let total = 0
    for (let s = 1; s < WINDOW_SECONDS; s++)
      total += this.#buckets[(this.#currentSecond - s) % WINDOW_SECONDS]!
    return total / (WINDOW_SECONDS - 1)
  }

  #advance(): void {
    const second = Math.floor(this.now() / 1000)
    if (second === this.#currentSecond) return
    const steps = Math.min(WINDOW_SECONDS, second - this.#currentSecond)
    for (let s = 1; s <= steps; s++) this.#buckets[(this.#currentSecond + s) % WINDOW_SECONDS] = 0
    this.#currentSecond = second
  }
}
