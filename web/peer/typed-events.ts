/**
 * A typed EventTarget (libp2p's TypedEventEmitter idea): each service declares its events and their
 * payloads, and listeners get the payload typed. Works in browsers and Node alike.
 */
export class TypedEventTarget<Events extends Record<string, unknown>> {
  readonly #target = new EventTarget()

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events & string>(type: K, listener: (detail: Events[K]) => void): () => void {
    const handler = (event: Event) => listener((event as CustomEvent<Events[K]>).detail)
    this.#target.addEventListener(type, handler)
    return () => this.#target.removeEventListener(type, handler)
  }

  /** Resolves with the next event of `type`. */
  once<K extends keyof Events & string>(type: K): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(type, (detail) => {
        off()
        resolve(detail)
      })
    })
  }

  protected emit<K extends keyof Events & string>(type: K, detail: Events[K]): void {
    this.#target.dispatchEvent(new CustomEvent(type, { detail }))
  }
}
