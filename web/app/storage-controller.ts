/** Storage used and available, measured now and then and after files come and go. */
import type { Room } from '../storage/quota.js'
import type { AppServices } from './services.js'
import { ServicesController } from './services-controller.js'

/** Storage is measured at most this often (`estimate()` is cheap, but not free). */
const MIN_INTERVAL_MS = 2_000
/** And at least this often, for what other tabs store. */
const MAX_INTERVAL_MS = 30_000

export class StorageController extends ServicesController {
  room: Room | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #dueMs = 0
  #lastMs = 0

  protected subscribe(services: AppServices): (() => void)[] {
    this.#schedule(0)
    return [
      services.engine.on('file', () => this.#schedule(MIN_INTERVAL_MS)),
      services.on('jobs', () => this.#schedule(MIN_INTERVAL_MS)),
    ]
  }

  protected override detached(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Measures again no sooner than `minDelayMs` after the last measurement (sooner than one already due). */
  #schedule(minDelayMs: number): void {
    const dueMs = Math.max(Date.now(), this.#lastMs + minDelayMs)
    if (this.#timer !== undefined && this.#dueMs <= dueMs) return
    this.#after(dueMs - Date.now())
  }

  #after(delayMs: number): void {
    clearTimeout(this.#timer)
    this.#dueMs = Date.now() + delayMs
    this.#timer = setTimeout(() => void this.#measure(), delayMs)
  }

  async #measure(): Promise<void> {
    this.#timer = undefined
    const services = this.services
    if (!services) return
    this.#lastMs = Date.now()
    this.room = await services.room()
    this.update()
    if (this.#timer === undefined && this.host.isConnected) this.#after(MAX_INTERVAL_MS)
  }
}
