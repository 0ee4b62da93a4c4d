/**
 * The peers of one file, on request: who holds it (as the tracker gives them), how many chunks each has,
 * how this browser reaches each and the current rates. Fetched again every few seconds while shown.
 */
import type { AppServices, LinkHealth, PeerRow } from './services.js'
import { ServicesController } from './services-controller.js'

/** How often the peers view asks again while it is open (well within the tracker's rate limit). */
export const PEERS_REFRESH_MS = 3_000

export class PeersController extends ServicesController {
  digest: string | undefined
  peers: readonly PeerRow[] = []
  /** This tab's link budget and bans, read with each refresh. */
  health: LinkHealth | undefined
  loading = false
  loaded = false
  error: unknown
  #timer: ReturnType<typeof setTimeout> | undefined
  #sequence = 0

  /** Shows the peers of `digest` (undefined: none, and stops asking). */
  show(digest: string | undefined): void {
    if (digest === this.digest) return
    this.digest = digest
    this.peers = []
    this.loaded = false
    this.error = undefined
    void this.refresh()
  }

  async refresh(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const services = this.services
    const digest = this.digest
    if (!services || !digest) return this.update()
    const sequence = ++this.#sequence
    this.loading = true
    this.health = services.linkHealth()
    this.update()
    try {
      const peers = await services.peersOf(digest)
      if (sequence !== this.#sequence) return
      this.peers = peers
      this.error = undefined
    } catch (error) {
      if (sequence !== this.#sequence) return
      this.peers = []
      this.error = error
    }
    this.loading = false
    this.loaded = true
    this.update()
    if (this.host.isConnected && this.digest === digest) {
      this.#timer = setTimeout(() => void this.refresh(), PEERS_REFRESH_MS)
    }
  }

  protected subscribe(_services: AppServices): (() => void)[] {
    if (this.digest) void this.refresh()
    return []
  }

  protected override detached(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#sequence++
  }
}
