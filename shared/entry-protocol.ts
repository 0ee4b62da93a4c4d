/**
 * A CLI peer's signalling entry point (issue 13: `swarmdrop share --listen PORT`): JSON text over one
 * WebSocket, one schema per message, parsed like the tracker's (tracker-protocol.ts: the same peer ids, the
 * same opaque signal data, the same bounds on size and nesting). It is the tracker's handshake and `signal`
 * relay cut down to one target, the listening peer itself, so that a peer that cannot reach the tracker links
 * to it and joins the ring through it (docs/PROTOCOL.md, "The --listen entry point").
 *
 * The client proves its key as it does to the tracker (challenge, signed hello), under its own context
 * (identity-proof.ts `listenHelloSignedBytes`), so a proof given to one is never valid at the other. Offers
 * and answers inside `signal` are signed end to end exactly as over the tracker (web/peer/signal-auth.ts).
 */
import { z } from 'zod'
import { ERROR_CODES, SwarmError } from './errors.js'
import { DEFAULT_TRACKER_LIMITS } from './limits.js'
import {
  ClientHelloSchema,
  IceServersSchema,
  type ParseResult,
  PeerIdSchema,
  parseWith,
  SignalDataSchema,
} from './tracker-protocol.js'

/** Version of this protocol, in `challenge` and `welcome`; a client refuses another. */
export const ENTRY_PROTOCOL_VERSION = 1

/**
 * Longest message either side takes: a signal's limit over the tracker (an SDP is ~2–6 KiB) plus room for
 * the envelope. The listening side gives it to `ws` as `maxPayload` (ws's default of 100 MiB is an attack
 * surface), the client checks it before parsing.
 */
export const MAX_ENTRY_MESSAGE_BYTES = DEFAULT_TRACKER_LIMITS.maxSignalBytes + 1024

const nonceHex = z.string().regex(/^[0-9a-f]{64}$/, 'nonce is 32 bytes in lowercase hex')

/** The per-connection limits the listening side keeps, told in the welcome (defaults in cli/listen-server.ts). */
const EntryLimitsSchema = z.strictObject({
  maxMessageBytes: z.number().int().positive(),
  messagesPerSecond: z.number().positive(),
  messageBurst: z.number().int().positive(),
})
export type EntryLimits = z.infer<typeof EntryLimitsSchema>

// ---------------------------------------------------------------- client → listening peer

export const EntryClientSchemas = {
  /** The answer to `challenge`, first and once: as the tracker's (tracker-protocol.ts ClientHelloSchema). */
  hello: ClientHelloSchema,
  /** An opaque WebRTC signal for the listening peer (the only peer this socket reaches). */
  signal: z.strictObject({ type: z.literal('signal'), to: PeerIdSchema, data: SignalDataSchema }),
  /** Goodbye: the listening peer forgets this client and closes the socket normally. */
  bye: z.strictObject({ type: z.literal('bye') }),
} as const

export type EntryClientMessage = {
  [K in keyof typeof EntryClientSchemas]: z.infer<(typeof EntryClientSchemas)[K]>
}[keyof typeof EntryClientSchemas]

// ---------------------------------------------------------------- listening peer → client

export const EntryServerSchemas = {
  /** First message of every connection: what the client signs in its hello. */
  challenge: z.strictObject({ type: z.literal('challenge'), protocol: z.number().int(), nonce: nonceHex }),
  /**
   * The hello proved the client's key: `peerId` is the client's, bound to this socket; `host` is the
   * listening peer's own id (the peer to link to); `iceServers` those the listening peer uses (the last
   * welcome of its tracker), for a client that has none kept.
   */
  welcome: z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int(),
    peerId: PeerIdSchema,
    host: PeerIdSchema,
    iceServers: IceServersSchema,
    limits: EntryLimitsSchema,
  }),
  signal: z.strictObject({ type: z.literal('signal'), from: PeerIdSchema, data: SignalDataSchema }),
  /** A refusal with a stable code; the socket stays open unless the code says it closes (HELLO_FAILED). */
  error: z.strictObject({
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string().max(1000),
  }),
} as const

export type EntryServerMessage = {
  [K in keyof typeof EntryServerSchemas]: z.infer<(typeof EntryServerSchemas)[K]>
}[keyof typeof EntryServerSchemas]

function tooLarge<T>(raw: unknown): ParseResult<T> | undefined {
  if (typeof raw !== 'string') {
    return { ok: false, error: new SwarmError('BAD_MESSAGE', 'entry messages are JSON text') }
  }
  if (raw.length > MAX_ENTRY_MESSAGE_BYTES) {
    return {
      ok: false,
      error: new SwarmError('SIGNAL_TOO_LARGE', `over ${MAX_ENTRY_MESSAGE_BYTES} characters`),
    }
  }
  return undefined
}

/** Parses what a client sent to a listening peer (JSON text). Never throws. */
export function parseEntryClientMessage(raw: unknown): ParseResult<EntryClientMessage> {
  return tooLarge(raw) ?? parseWith<EntryClientMessage>(EntryClientSchemas, raw)
}

/** Parses what a listening peer sent (JSON text). Never throws. */
export function parseEntryServerMessage(raw: unknown): ParseResult<EntryServerMessage> {
  return tooLarge(raw) ?? parseWith<EntryServerMessage>(EntryServerSchemas, raw)
}

export function encodeEntryMessage(message: EntryClientMessage | EntryServerMessage): string {
  return JSON.stringify(message)
}
