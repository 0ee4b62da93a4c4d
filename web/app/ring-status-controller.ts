/**
 * The ring as the page shows it (issue 13): this peer's place in the ring (state, neighbours, fingers,
 * counters) for the Network panel and the app's `data-ring-state`, the entry points known besides the
 * tracker, and whether the page should say "Server offline — finding peers through the network": the
 * tracker is offline and the ring answers (this peer is linked into it as a member or a client).
 */
import type { EntryPointInfo } from '../peer/entry-point.js'
import type { RingState, RingStatus } from '../peer/ring/ring-status.js'
import { readMemberAtOnce, writeMemberAtOnce } from './page-membership.js'
import type { AppServices } from './services.js'
import { type ControllerHost, ServicesController } from './services-controller.js'

/** The banner shown while the tracker is down and the ring carries search and signalling. */
export const RING_FALLBACK_BANNER = 'Server offline — finding peers through the network'

export class RingStatusController extends ServicesController {
  status: RingStatus | undefined
  entryPoints: readonly EntryPointInfo[] = []
  #trackerOnline = false
  /** "Help the network now": a ring position at once rather than after two minutes (kept in localStorage). */
  memberAtOnce: boolean

  constructor(
    host: ControllerHost,
    private readonly storage: Storage | undefined = localStorageOf(host),
  ) {
    super(host)
    this.memberAtOnce = readMemberAtOnce(storage)
  }

  setMemberAtOnce(on: boolean): void {
    this.memberAtOnce = on
    writeMemberAtOnce(this.storage, on)
    this.services?.engine.setMembershipInput({ memberAtOnce: on })
    this.update()
  }

  /** The ring's state, `joining` until the engine has said anything (the page is still starting). */
  get state(): RingState {
    return this.status?.state ?? 'joining'
  }

  /** Whether the ring answers searches and carries signals: linked to it as a member or a client. */
  get ringAnswers(): boolean {
    return this.state === 'member' || this.state === 'client'
  }

  /** The tracker is offline and the ring answers: the page says it finds peers through the network. */
  get fallingBack(): boolean {
    return this.services !== undefined && !this.#trackerOnline && this.ringAnswers
  }

  protected subscribe(services: AppServices): (() => void)[] {
    const engine = services.engine
    this.status = engine.ringStatus()
    this.entryPoints = engine.entryPoints()
    this.#trackerOnline = engine.tracker.status.state === 'online'
    return [
      engine.on('ring', (status) => {
        this.status = status
        this.update()
      }),
      engine.on('entry-points', (entryPoints) => {
        this.entryPoints = entryPoints
        this.update()
      }),
      engine.tracker.on('status', (status) => {
        this.#trackerOnline = status.state === 'online'
        this.update()
      }),
    ]
  }
}

function localStorageOf(host: ControllerHost): Storage | undefined {
  try {
    return host.ownerDocument.defaultView?.localStorage
  } catch {
    return undefined
  }
}
