/**
 * The base of the app's controllers: takes the services from context, subscribes while its host is
 * connected and unsubscribes when it leaves (Lit's ReactiveController life cycle), and asks the host to
 * render again when something it shows changed.
 */
import { ContextConsumer } from '@lit/context'
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { servicesContext } from './context.js'
import type { AppServices } from './services.js'

export type ControllerHost = ReactiveControllerHost & HTMLElement

export abstract class ServicesController implements ReactiveController {
  protected services: AppServices | undefined
  #unsubscribe: (() => void)[] = []

  constructor(protected readonly host: ControllerHost) {
    // The consumer asks for the services when the host connects, and again after each reconnect; with
    // `subscribe` it also hears when main.ts provides them late (after storage has been scanned).
    new ContextConsumer(host, {
      context: servicesContext,
      subscribe: true,
      callback: (services) => this.#attach(services),
    })
    host.addController(this)
  }

  /** Whether the services are there (the engine has opened). */
  get ready(): boolean {
    return this.services !== undefined
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.#detach()
    this.detached()
  }

  /** Subscribes to what this controller shows; returns the unsubscribe functions. */
  protected abstract subscribe(services: AppServices): (() => void)[]

  /** Called when the host leaves the page, after unsubscribing: clear timers here. */
  protected detached(): void {}

  protected update(): void {
    this.host.requestUpdate()
  }

  #attach(services: AppServices | undefined): void {
    this.#detach()
    this.services = services
    if (services) this.#unsubscribe = this.subscribe(services)
    this.update()
  }

  #detach(): void {
    for (const off of this.#unsubscribe) off()
    this.#unsubscribe = []
  }
}
