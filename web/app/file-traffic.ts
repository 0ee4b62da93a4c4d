/**
 * Uploads per file, for the sharer's rows: the rate over a short window and how many peers downloaded from
 * this browser in it (its downloaders right now), and when the last upload was (leaving the page asks for
 * confirmation while this browser is serving someone).
 */

/** Window of the figures: short, so that they drop to zero soon after uploads stop. */
export const TRAFFIC_WINDOW_MS = 2_000
/** A file uploaded this recently counts as being served. */
export const SERVING_MS = 5_000

interface Sample {
  atMs: number
  peerId: string
  bytes: number
}

export class FileTraffic {
  readonly #samples = new Map<string, Sample[]>()
  readonly #lastMs = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  add(digest: string, peerId: string, bytes: number): void {
    const samples = this.#samples.get(digest) ?? []
    samples.push({ atMs: this.now(), peerId, bytes })
    this.#samples.set(digest, this.#trim(samples))
    this.#lastMs.set(digest, this.now())
  }

  /** Bytes a second uploaded of this file. */
  rate(digest: string): number {
    const samples = this.#trim(this.#samples.get(digest) ?? [])
    return samples.reduce((sum, s) => sum + s.bytes, 0) / (TRAFFIC_WINDOW_MS / 1000)
  }

  /** How many peers this file was uploaded to within the window. */
  downloaders(digest: string): number {
    return this.downloadersOf(digest).size
  }

  /** The peers this file was uploaded to within the window. */
  downloadersOf(digest: string): Set<string> {
    return new Set(this.#trim(this.#samples.get(digest) ?? []).map((s) => s.peerId))
  }

  /** Files uploaded within SERVING_MS. */
  serving(): string[] {
    const since = this.now() - SERVING_MS
    return [...this.#lastMs].filter(([, atMs]) => atMs >= since).map(([digest]) => digest)
  }

  forget(digest: string): void {
    this.#samples.delete(digest)
    this.#lastMs.delete(digest)
  }

  #trim(samples: Sample[]): Sample[] {
    const since = this.now() - TRAFFIC_WINDOW_MS
    while (samples.length > 0 && samples[0]!.atMs < since) samples.shift()
    return samples
  }
}
