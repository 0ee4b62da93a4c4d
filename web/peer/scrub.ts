/**
 * The slow background scrub (SPEC §3): chunks verified once are not hashed again on every read (verify
 * once, web/storage/verified-chunks.ts), so damage at rest during a long session would otherwise go
 * unseen until the next load. The scrub hashes one stored chunk again every SCRUB_INTERVAL_MS, going round
 * every file this page holds; a chunk that fails is dropped and reported lost (LocalFiles), and fetched
 * again like any missing chunk. One 1 MiB chunk every 10 s is ~0.1% of a core: 1 GiB is gone over in
 * under three hours.
 */
import type { Clock } from './clock.js'
import type { LocalFiles } from './local-files.js'

export const SCRUB_INTERVAL_MS = 10_000

export class Scrub {
  /** Where the round stands: the file and the next chunk to hash. */
  #digest: string | undefined
  #index = 0
  #timer: unknown
  #destroyed = false

  constructor(
    private readonly local: LocalFiles,
    private readonly clock: Clock,
    private readonly intervalMs = SCRUB_INTERVAL_MS,
  ) {
    this.#schedule()
  }

  /** Hashes the next stored chunk of the round again; resolves with it, or undefined when nothing is held. */
  async step(): Promise<{ digest: string; index: number; ok: boolean } | undefined> {
    const next = this.#next()
    if (!next) return undefined
    const ok = await this.local.rehash(next.digest, next.index)
    return { ...next, ok }
  }

  destroy(): void {
    this.#destroyed = true
    this.clock.clearTimeout(this.#timer)
  }

  #schedule(): void {
    if (this.#destroyed) return
    this.#timer = this.clock.setTimeout(() => {
      this.step()
        .catch(() => {}) // storage failing: the next read says so where it matters
        .finally(() => this.#schedule())
    }, this.intervalMs)
  }

  /** The next chunk that is here, in file order then chunk order, going round. */
  #next(): { digest: string; index: number } | undefined {
    const files = this.local.list()
    if (files.length === 0) return undefined
    let at = Math.max(
      0,
      files.findIndex((file) => file.record.digest === this.#digest),
    )
    if (files[at]!.record.digest !== this.#digest) this.#index = 0
    for (let visited = 0; visited <= files.length; visited++) {
      const file = files[at]!
      for (let index = this.#index; index < file.have.length; index++) {
        if (!file.have.has(index)) continue
        this.#digest = file.record.digest
        this.#index = index + 1
        return { digest: file.record.digest, index }
      }
      at = (at + 1) % files.length
      this.#digest = files[at]!.record.digest
      this.#index = 0
    }
    return undefined
  }
}
