/**
 * The ring as a Signaller (issue 13): a signal for a peer is routed hop by hop to it (ring-node.ts
 * `sendSignal`, router.ts), as JSON text; one that comes in is parsed here, at the boundary, and handed
 * on only when it is a JSON object (the link manager then checks its shape and, for offers and answers,
 * the end-to-end signature: signal-auth.ts). Relays on the way can drop a signal, not forge one.
 */
import type { ErrorCode } from '../../../shared/errors.js'
import { MAX_RING_SIGNAL_BYTES, type RingErrorCode } from '../../../shared/ring-protocol.js'
import type { Signaller } from '../peer-link.js'
import { TypedEventTarget } from '../typed-events.js'

/** What the ring signaller needs of the ring. */
export interface SignalRing {
  sendSignal(peerId: string, data: string): Promise<'delivered' | RingErrorCode>
  on(type: 'signal', listener: (signal: { from: string; data: string }) => void): () => void
}

type RingSignallerEvents = { undeliverable: { to: string; code: ErrorCode } }

export class RingSignaller extends TypedEventTarget<RingSignallerEvents> implements Signaller {
  readonly #ring: SignalRing

  constructor(ring: SignalRing) {
    super()
    this.#ring = ring
  }

  send(to: string, data: Record<string, unknown>): void {
    const text = JSON.stringify(data)
    if (new TextEncoder().encode(text).length > MAX_RING_SIGNAL_BYTES) {
      this.emit('undeliverable', { to, code: 'SIGNAL_TOO_LARGE' })
      return
    }
    void this.#ring.sendSignal(to, text).then((outcome) => {
      // A peer the ring cannot find is gone as far as this signal goes: the attempt fails at once.
      if (outcome !== 'delivered') this.emit('undeliverable', { to, code: 'PEER_NOT_FOUND' })
    })
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
