/** Bytes a second to and from each peer, over a short sliding window: for the page's peers view and the terminal's. */

/** Window over which rates are measured (as the download's own speed is). */
export const RATE_WINDOW_MS = 5_000

type Direction = 'up' | 'down'

export class PeerRates {
  readonly #samples = new Map<string, { atMs: number; bytes: number }[]>()

  constructor(private readonly now: () => number = Date.now) {}

  add(peerId: string, direction: Direction, bytes: number): void {
    const key = `${direction}:${peerId}`
    const samples = this.#samples.get(key) ?? []
    samples.push({ atMs: this.now(), bytes })
    this.#samples.set(key, this.#trim(samples))
  }

  rate(peerId: string, direction: Direction): number {
    const key = `${direction}:${peerId}`
    const samples = this.#trim(this.#samples.get(key) ?? [])
    if (samples.length === 0) {
      this.#samples.delete(key)
      return 0
    }
    return samples.reduce((sum, s) => sum + s.bytes, 0) / (RATE_WINDOW_MS / 1000)
  }

  #trim(samples: { atMs: number; bytes: number }[]): { atMs: number; bytes: number }[] {
    const since = this.now() - RATE_WINDOW_MS
    while (samples.length > 0 && samples[0]!.atMs < since) samples.shift()
    return samples
  }
}
