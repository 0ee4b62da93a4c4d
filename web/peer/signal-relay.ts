/**
 * The listener side of a Signaller, in one place for every relay that is not the tracker: the sibling-tab
 * channel (web/app/tab-entry-point.ts), a CLI's `--listen` socket (cli/listen-server.ts) and the client of
 * one (listen-entry-point.ts). The relay passes its own `send`; it calls `deliver` for each signal that came
 * in and `undeliverable` for each it could not pass on; `clear` drops every subscriber (on destroy).
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { Clock } from './clock.js'
import type { Signaller, SignalMeta } from './peer-link.js'

type SignalListener = (from: string, data: Record<string, unknown>, meta?: SignalMeta) => void
type UndeliverableListener = (to: string, code: ErrorCode) => void

export class SignalRelay {
  readonly signaller: Signaller
  readonly #signalListeners = new Set<SignalListener>()
  readonly #undeliverableListeners = new Set<UndeliverableListener>()

  constructor(send: (to: string, data: Record<string, unknown>) => void) {
    this.signaller = {
      send,
      onSignal: (listener) => {
        this.#signalListeners.add(listener)
        return () => this.#signalListeners.delete(listener)
      },
      onUndeliverable: (listener) => {
        this.#undeliverableListeners.add(listener)
        return () => this.#undeliverableListeners.delete(listener)
      },
    }
  }

  /** A signal from `from` came in: every subscriber hears it. */
  deliver(from: string, data: Record<string, unknown>, meta?: SignalMeta): void {
    for (const listener of this.#signalListeners) listener(from, data, meta)
  }

  /** A signal to `to` cannot go this way: said at once (as the tracker's PEER_NOT_FOUND), not after a timeout. */
  undeliverable(to: string, code: ErrorCode, clock?: Clock): void {
    const tell = () => {
      for (const listener of this.#undeliverableListeners) listener(to, code)
    }
    // From a task of its own: the sender is still inside its send() call.
    if (clock) clock.setTimeout(tell, 0)
    else setTimeout(tell, 0)
  }

  clear(): void {
    this.#signalListeners.clear()
    this.#undeliverableListeners.clear()
  }
}
