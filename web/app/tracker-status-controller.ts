/** The tracker connection as the app shell shows it: state, this browser's peer id, when it retries. */
import type { TrackerStatus } from '../peer/tracker-client.js'
import type { AppServices } from './services.js'
import { ServicesController } from './services-controller.js'

/** How often the "retrying in n s" countdown is redrawn. */
const COUNTDOWN_MS = 1_000

export class TrackerStatusController extends ServicesController {
  status: TrackerStatus = { state: 'connecting' }
  #retryAtMs: number | undefined
  #countdown: ReturnType<typeof setInterval> | undefined

  /** Whole seconds until the next connection attempt, while offline and retrying. */
  get retryInSeconds(): number | undefined {
    if (this.#retryAtMs === undefined) return undefined
    return Math.max(0, Math.ceil((this.#retryAtMs - Date.now()) / 1000))
  }

  get peerId(): string | undefined {
    return this.status.state === 'online' ? this.status.peerId : undefined
  }

  protected subscribe(services: AppServices): (() => void)[] {
    const tracker = services.engine.tracker
    this.#show(tracker.status)
    return [tracker.on('status', (status) => this.#show(status))]
  }

  protected override detached(): void {
    this.#stopCountdown()
  }

  #show(status: TrackerStatus): void {
    this.status = status
    this.#stopCountdown()
    if (status.state === 'offline' && status.retryInMs !== undefined) {
      this.#retryAtMs = Date.now() + status.retryInMs
      this.#countdown = setInterval(() => this.update(), COUNTDOWN_MS)
    }
    this.update()
  }

  #stopCountdown(): void {
    clearInterval(this.#countdown)
    this.#countdown = undefined
    this.#retryAtMs = undefined
  }
}
