/**
 * The ring as a Signaller (issue 13): a signal for a peer is routed hop by hop to it (ring-node.ts
 * `sendSignal`, router.ts), as JSON text; one that comes in is parsed here, at the boundary, and handed
 * on only when it is a JSON object (the link manager then checks its shape and, for offers and answers,
 * the end-to-end signature: signal-auth.ts). Relays on the way can drop a signal, not forge one.
 */
import type { ErrorCode } from '../../../shared/errors.js'
import { MAX_RING_SIGNAL_BYTES, type RingErrorCode } from '../../../shared/ring-protocol.js'
import type { Clock } from '../clock.js'
import type { Signaller } from '../peer-link.js'
import { TypedEventTarget } from '../typed-events.js'

/** What the ring signaller needs of the ring. */
export interface SignalRing {
  sendSignal(peerId: string, data: string, attempt: number): Promise<'delivered' | 'TIMEOUT' | RingErrorCode>
  on(type: 'signal', listener: (signal: { from: string; data: string }) => void): () => void
}

/** Sends again after a NO_ROUTE: twice, 200 then 400 ms later (a stabilise round is 1–5 s at most). */
const SIGNAL_RETRIES = 2
const SIGNAL_RETRY_MS = 200

type RingSignallerEvents = { undeliverable: { to: string; code: ErrorCode } }

export class RingSignaller extends TypedEventTarget<RingSignallerEvents> implements Signaller {
  readonly #ring: SignalRing
  readonly #wait: (callback: () => void, ms: number) => void

  constructor(ring: SignalRing, clock: Pick<Clock, 'setTimeout'>) {
    super()
    this.#ring = ring
    this.#wait = (callback, ms) => {
      clock.setTimeout(callback, ms)
    }
  }

  send(to: string, data: Record<string, unknown>): void {
    const text = JSON.stringify(data)
    if (new TextEncoder().encode(text).length > MAX_RING_SIGNAL_BYTES) {
      this.emit('undeliverable', { to, code: 'SIGNAL_TOO_LARGE' })
      return
    }
    void this.#deliver(to, text)
  }

  /**
   * Sends, and again by other paths (`attempt`) after SIGNAL_RETRY_MS while the ring answers that it found
   * no route: right after peers joined or left, a hop's lists can lag a stabilise round behind. A signal
   * that got no answer in time is not sent again (it may have arrived: the link layer times out instead).
   */
  async #deliver(to: string, text: string): Promise<void> {
    for (let attempt = 0; attempt <= SIGNAL_RETRIES; attempt++) {
      if (attempt > 0) await new Promise<void>((resolve) => this.#wait(resolve, SIGNAL_RETRY_MS * attempt))
      const outcome = await this.#ring.sendSignal(to, text, attempt)
      if (outcome === 'delivered') return
      if (outcome === 'TIMEOUT') break
    }
    // A peer the ring cannot find is gone as far as this signal goes: the attempt fails at once.
    this.emit('undeliverable', { to, code: 'PEER_NOT_FOUND' })
  }

  onSignal(listener: (from: string, data: Record<string, unknown>) => void): () => void {
    return this.#ring.on('signal', ({ from, data }) => {
      const parsed = parseSignal(data)
      if (parsed) listener(from, parsed)
    })
  }

  onUndeliverable(listener: (to: string, code: ErrorCode) => void): () => void {
    return this.on('undeliverable', ({ to, code }) => listener(to, code))
  }
}

/** A JSON object, or undefined for anything else (never throws). */
function parseSignal(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
