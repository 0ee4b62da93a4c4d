/**
 * Between tabs of one origin (issue 13): a BroadcastChannel over which sibling tabs say they are here and
 * relay each other's WebRTC signals, so that a tab loaded while the server is down links to a sibling and
 * joins the ring through it (web/app/tab-entry-point.ts). JSON text, one schema per message, parsed like
 * the tracker's (tracker-protocol.ts: the same peer ids, the same opaque signal data, the same bounds on
 * size and nesting). Offers and answers inside are signed end to end exactly as over the tracker
 * (web/peer/signal-auth.ts): a tab that lies about `from` is refused by the receiver's link manager.
 */
import { z } from 'zod'
import { SwarmError } from './errors.js'
import { DEFAULT_TRACKER_LIMITS } from './limits.js'
import { type ParseResult, PeerIdSchema, parseWith, SignalDataSchema } from './tracker-protocol.js'

/** The channel's name: every tab of the origin listens on it. */
export const TAB_CHANNEL = 'swarmdrop-tabs'
/** Longest message taken from the channel: a signal's limit over the tracker (an SDP is ~2–6 KiB). */
export const MAX_TAB_MESSAGE_BYTES = DEFAULT_TRACKER_LIMITS.maxSignalBytes

export const TabMessageSchemas = {
  /**
   * A tab is here, under this peer id: sent when it starts (`ask`: the others answer with their own
   * `here`), then every few seconds while it runs. A tab not heard for a while is gone (it was closed or
   * frozen without a word).
   */
  here: z.strictObject({ type: z.literal('here'), peerId: PeerIdSchema, ask: z.literal(true).optional() }),
  /** A tab is leaving (its page is being hidden for good, or its engine stopped). */
  gone: z.strictObject({ type: z.literal('gone'), peerId: PeerIdSchema }),
  /** An opaque WebRTC signal from one tab to another; every other tab ignores it. */
  signal: z.strictObject({
    type: z.literal('signal'),
    from: PeerIdSchema,
    to: PeerIdSchema,
    data: SignalDataSchema,
  }),
} as const

export type TabMessageType = keyof typeof TabMessageSchemas
export type TabMessage = { [K in TabMessageType]: z.infer<(typeof TabMessageSchemas)[K]> }[TabMessageType]

/** Parses what came over the channel (JSON text; anything else is refused). Never throws. */
export function parseTabMessage(raw: unknown): ParseResult<TabMessage> {
  if (typeof raw !== 'string') {
    return { ok: false, error: new SwarmError('BAD_MESSAGE', 'a tab message is JSON text') }
  }
  if (raw.length > MAX_TAB_MESSAGE_BYTES) {
    return {
      ok: false,
      error: new SwarmError('SIGNAL_TOO_LARGE', `over ${MAX_TAB_MESSAGE_BYTES} characters`),
    }
  }
  return parseWith<TabMessage>(TabMessageSchemas, raw)
}

export function encodeTabMessage(message: TabMessage): string {
  return JSON.stringify(message)
}
