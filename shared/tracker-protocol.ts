/**
 * The tracker and signalling protocol between a browser and the server: JSON text messages over one
 * WebSocket, one schema per message. docs/PROTOCOL.md describes each message; keep the two in step.
 */
import { z } from 'zod'
import { ERROR_CODES, SwarmError } from './errors.js'
import {
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_COLLECTION_FILES,
  MAX_FILE_BYTES,
  MAX_MIME_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NAMES_PER_FILE,
  MAX_QUERY_LENGTH,
  MIN_CHUNK_BYTES,
} from './limits.js'
import { chunkCountOf, DigestSchema, ManifestSchema } from './manifest.js'

/**
 * Peer ids: the first 12 bytes of the node id (the SHA-256 of the peer's Ed25519 public key) in base64url,
 * proven by the signed hello and bound to one connection (shared/identity-proof.ts).
 */
export const PEER_ID_PATTERN = /^[A-Za-z0-9_-]{16}$/
export const PeerIdSchema = z.string().regex(PEER_ID_PATTERN, 'a peer id is 16 base64url characters')

/** A tracker's tag of a network origin (signal/origin-tag.ts): 16 base64url characters. */
export const OriginTagSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16}$/, 'an origin tag is 16 base64url characters')

/** A client's correlation token, echoed in the reply (`ack`, `error`, or the answer itself). */
const RefSchema = z.string().min(1).max(64)

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates: names are shown to people and
// used for downloads; such a character in one is a mistake or an attack (U+202E makes "exe.txt" read
// "txt.exe"). Everything else, markup included, is allowed and rendered as text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
export const FileNameSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .refine((name) => !CONTROL_CHARACTERS.test(name), 'a file name has no control characters')
const MimeSchema = z
  .string()
  .max(MAX_MIME_LENGTH)
  .regex(/^[\x21-\x7e]*$/, 'a MIME type is printable ASCII')

const ChunkSizeSchema = z
  .number()
  .int()
  .min(MIN_CHUNK_BYTES)
  .max(MAX_CHUNK_BYTES)
  .refine((n) => (n & (n - 1)) === 0, 'chunkSize must be a power of two')

const ChunkIndexSchema = z
  .number()
  .int()
  .min(0)
  .max(MAX_CHUNK_COUNT - 1)

/** Which chunks a peer holds: `all`, or a bitfield in canonical base64 (docs/PROTOCOL.md, "Bitfield"). */
export const HaveSchema = z.union([
  z.literal('all'),
  z
    .string()
    .max(Math.ceil(Math.ceil(MAX_CHUNK_COUNT / 8) / 3) * 4)
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'have is "all" or base64'),
])
export type Have = z.infer<typeof HaveSchema>

/** What the catalog shows of a collection (shared/collection.ts): how many files, how many bytes in all. */
export const CollectionInfoSchema = z.strictObject({
  files: z.number().int().min(1).max(MAX_COLLECTION_FILES),
  bytes: z
    .number()
    .int()
    .min(0)
    .max(MAX_COLLECTION_FILES * MAX_FILE_BYTES),
})
export type CollectionInfo = z.infer<typeof CollectionInfoSchema>

export const AnnouncedFileSchema = z
  .strictObject({
    digest: DigestSchema,
    /** Required unless `unlisted`: the name the catalog lists the file under. */
    name: FileNameSchema.optional(),
    mime: MimeSchema.optional(),
    size: z.number().int().min(0).max(MAX_FILE_BYTES),
    chunkSize: ChunkSizeSchema,
    have: HaveSchema,
    /**
     * Held but not listed: the tracker tracks its holders (`peers`, manifests) and never shows it in the
     * catalog. A private share or a collection's member; it carries no name, type or collection info.
     */
    unlisted: z.literal(true).optional(),
    /**
     * With `unlisted` only: the file is a private share, its chunks sealed (shared/private-share.ts). The
     * tracker passes this on in `peers`, so that a browser given the digest without the key knows not to
     * save the ciphertext as a file; it learns nothing else from it.
     */
    sealed: z.literal(true).optional(),
    /** The file is a collection: what the catalog shows of it. */
    collection: CollectionInfoSchema.optional(),
  })
  .refine((f) => chunkCountOf(f.size, f.chunkSize) <= MAX_CHUNK_COUNT, {
    message: `a file has at most ${MAX_CHUNK_COUNT} chunks`,
    path: ['chunkSize'],
  })
  .refine((f) => (f.unlisted ? f.name === undefined : f.name !== undefined), {
    message: 'a listed file has a name; an unlisted one has none',
    path: ['name'],
  })
  .refine((f) => !f.unlisted || (f.mime === undefined && f.collection === undefined), {
    message: 'an unlisted file carries no type or collection info',
    path: ['unlisted'],
  })
  .refine((f) => !f.sealed || f.unlisted, { message: 'a sealed file is unlisted', path: ['sealed'] })
export type AnnouncedFile = z.infer<typeof AnnouncedFileSchema>

const IceServerSchema = z.strictObject({
  urls: z.union([
    z.string().regex(/^(stun|stuns|turn|turns):/),
    z.array(z.string().regex(/^(stun|stuns|turn|turns):/)).min(1),
  ]),
  username: z.string().optional(),
  credential: z.string().optional(),
})
export const IceServersSchema = z.array(IceServerSchema)
export type IceServer = z.infer<typeof IceServerSchema>

const hexOf = (bytes: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${what} is ${bytes} bytes in lowercase hex`)

/**
 * The client's answer to the tracker's `challenge`, its first message: its raw Ed25519 public key and its
 * signature of `helloSignedBytes(nonce, host)`. Not one of ClientMessageSchemas: it is taken only before the
 * welcome (signal/hello-gate.ts), and nothing else is taken before it.
 */
export const ClientHelloSchema = z.strictObject({
  type: z.literal('hello'),
  publicKey: hexOf(32, 'publicKey'),
  signature: hexOf(64, 'signature'),
})
export type ClientHello = z.infer<typeof ClientHelloSchema>

/** A WebRTC signal is relayed opaquely, but it is always a JSON object (an SDP or an ICE candidate). */
export const SignalDataSchema = z.record(z.string(), z.unknown())

// ---------------------------------------------------------------- client → server

export const ClientMessageSchemas = {
  /** Adds files (complete or partial) to what this peer holds; repeats replace the earlier entry. */
  announce: z.strictObject({
    type: z.literal('announce'),
    ref: RefSchema.optional(),
    files: z.array(AnnouncedFileSchema),
  }),
  /** Newly verified chunks, batched by the client (at most one message a second). */
  have: z.strictObject({
    type: z.literal('have'),
    ref: RefSchema.optional(),
    updates: z
      .array(
        z.strictObject({
          digest: DigestSchema,
          chunks: z.array(ChunkIndexSchema).min(1).max(MAX_CHUNK_COUNT),
        }),
      )
      .min(1),
  }),
  /** Stops sharing these files. */
  leave: z.strictObject({
    type: z.literal('leave'),
    ref: RefSchema.optional(),
    digests: z.array(DigestSchema).min(1),
  }),
  /** Goodbye: the server forgets this peer at once and closes the connection normally. */
  bye: z.strictObject({ type: z.literal('bye') }),
  /** One page of the catalog, optionally filtered; `watch` asks for `catalog-changed` notices. */
  catalog: z.strictObject({
    type: z.literal('catalog'),
    ref: RefSchema.optional(),
    query: z.string().max(MAX_QUERY_LENGTH).optional(),
    offset: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).optional(),
    watch: z.boolean().optional(),
  }),
  /** The peers holding one file, with the chunks each holds. */
  peers: z.strictObject({ type: z.literal('peers'), ref: RefSchema.optional(), digest: DigestSchema }),
  /** Gives the server a file's manifest to cache; it is checked against the digest. */
  'put-manifest': z.strictObject({
    type: z.literal('put-manifest'),
    ref: RefSchema.optional(),
    digest: DigestSchema,
    manifest: ManifestSchema,
  }),
  /** Asks for a cached manifest. */
  'get-manifest': z.strictObject({
    type: z.literal('get-manifest'),
    ref: RefSchema.optional(),
    digest: DigestSchema,
  }),
  /** An opaque WebRTC signal (offer, answer, candidate) for another connected peer. */
  signal: z.strictObject({
    type: z.literal('signal'),
    ref: RefSchema.optional(),
    to: PeerIdSchema,
    data: SignalDataSchema,
  }),
} as const

export type ClientMessageType = keyof typeof ClientMessageSchemas
export type ClientMessage = {
  [K in ClientMessageType]: z.infer<(typeof ClientMessageSchemas)[K]>
}[ClientMessageType]
export type ClientMessageOf<K extends ClientMessageType> = Extract<ClientMessage, { type: K }>

// ---------------------------------------------------------------- server → client

export const CatalogEntrySchema = z.strictObject({
  digest: DigestSchema,
  names: z.array(FileNameSchema).min(1).max(MAX_NAMES_PER_FILE),
  mime: MimeSchema.optional(),
  size: z.number().int().min(0).max(MAX_FILE_BYTES),
  chunkSize: ChunkSizeSchema,
  chunkCount: z.number().int().min(0).max(MAX_CHUNK_COUNT),
  seeders: z.number().int().min(0),
  leechers: z.number().int().min(0),
  /** Set when the file is a collection (its first announcer said so). */
  collection: CollectionInfoSchema.optional(),
})
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>

export const SwarmPeerSchema = z.strictObject({ peerId: PeerIdSchema, have: HaveSchema })
export type SwarmPeer = z.infer<typeof SwarmPeerSchema>

const LimitsSchema = z.strictObject({
  maxMessageBytes: z.number().int().positive(),
  messagesPerSecond: z.number().positive(),
  messageBurst: z.number().int().positive(),
  filesPerAnnounce: z.number().int().positive(),
  filesPerPeer: z.number().int().positive(),
  catalogPageSize: z.number().int().positive(),
  peersPerReply: z.number().int().positive(),
  maxSignalBytes: z.number().int().positive(),
  connectionsPerAddress: z.number().int().positive(),
})

export const ServerMessageSchemas = {
  /** The first message of every connection: what the client signs in its `hello` (identity-proof.ts). */
  challenge: z.strictObject({
    type: z.literal('challenge'),
    protocol: z.number().int(),
    nonce: hexOf(32, 'nonce'),
  }),
  /** Sent once the `hello` proved the client's key: the connection is bound to the key's peer id. */
  welcome: z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int(),
    peerId: PeerIdSchema,
    iceServers: IceServersSchema,
    heartbeatMs: z.number().int().positive(),
    limits: LimitsSchema,
  }),
  ack: z.strictObject({ type: z.literal('ack'), ref: RefSchema }),
  error: z.strictObject({
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string().max(1000),
    ref: RefSchema.optional(),
    /**
     * Set only on the per-file errors of a batch (`announce`, `have`): the batch is applied in part and
     * still ends with its `ack`. Without it, an error is the final reply to its `ref`.
     */
    digest: DigestSchema.optional(),
  }),
  catalog: z.strictObject({
    type: z.literal('catalog'),
    ref: RefSchema.optional(),
    revision: z.number().int().min(0),
    total: z.number().int().min(0),
    offset: z.number().int().min(0),
    files: z.array(CatalogEntrySchema),
  }),
  'catalog-changed': z.strictObject({
    type: z.literal('catalog-changed'),
    revision: z.number().int().min(0),
  }),
  peers: z.strictObject({
    type: z.literal('peers'),
    ref: RefSchema.optional(),
    digest: DigestSchema,
    chunkCount: z.number().int().min(0).max(MAX_CHUNK_COUNT),
    peers: z.array(SwarmPeerSchema),
    /** Some holder announced it as a private share (sealed): it opens only with its link's key. */
    sealed: z.literal(true).optional(),
  }),
  manifest: z.strictObject({
    type: z.literal('manifest'),
    ref: RefSchema.optional(),
    digest: DigestSchema,
    manifest: ManifestSchema,
  }),
  signal: z.strictObject({
    type: z.literal('signal'),
    from: PeerIdSchema,
    /**
     * The sender's network origin as the tracker saw it (its address, IPv6 by /64), as an opaque keyed hash
     * (signal/origin-tag.ts): equal for peers behind one address, never the address itself. A receiver
     * budgets abuse by it (link-manager.ts), since new peer ids cost nothing and addresses do.
     */
    origin: OriginTagSchema.optional(),
    data: SignalDataSchema,
  }),
  /**
   * The same ICE servers as the welcome's, with TURN credentials minted afresh: sent before the previous
   * ones expire, only when TURN is configured. They replace the earlier list for new peer connections.
   */
  'ice-servers': z.strictObject({ type: z.literal('ice-servers'), iceServers: IceServersSchema }),
} as const

export type ServerMessageType = keyof typeof ServerMessageSchemas
export type ServerMessage = {
  [K in ServerMessageType]: z.infer<(typeof ServerMessageSchemas)[K]>
}[ServerMessageType]
export type ServerMessageOf<K extends ServerMessageType> = Extract<ServerMessage, { type: K }>

// ---------------------------------------------------------------- parse and encode

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: SwarmError; ref?: string }

/** Longest schema complaint quoted back to a sender: enough to debug, too short to echo a payload. */
const MAX_COMPLAINT_LENGTH = 300

/** Parses `raw` (JSON text or a decoded value) against the schema its `type` names. Never throws. */
export function parseWith<T>(schemas: Record<string, z.ZodType>, raw: unknown): ParseResult<T> {
  let value: unknown = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      return { ok: false, error: new SwarmError('BAD_MESSAGE', 'message is not valid JSON') }
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new SwarmError('BAD_MESSAGE', 'message is not a JSON object') }
  }
  const record = value as Record<string, unknown>
  const ref =
    typeof record.ref === 'string' && RefSchema.safeParse(record.ref).success ? record.ref : undefined
  const shapeProblem = checkJsonShape(value)
  if (shapeProblem) return { ok: false, error: new SwarmError('BAD_MESSAGE', shapeProblem), ref }
  const type = record.type
  if (typeof type !== 'string') {
    return { ok: false, error: new SwarmError('BAD_MESSAGE', 'message has no string "type"'), ref }
  }
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined
  if (!schema) {
    return {
      ok: false,
      error: new SwarmError('UNKNOWN_TYPE', `unknown message type "${type.slice(0, 40)}"`),
      ref,
    }
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
    const complaint = `${type}: ${where}${issue?.message ?? 'invalid'}`.slice(0, MAX_COMPLAINT_LENGTH)
    return { ok: false, error: new SwarmError('BAD_MESSAGE', complaint), ref }
  }
  return { ok: true, message: parsed.data as T }
}

/**
 * Bounds on a message's JSON before any schema sees it. Schema work grows with the values it checks (a
 * 512 KiB array of 260,000 invalid items took a second), and nesting is relayed opaquely inside signals,
 * where serialising 5,000 levels overflows the stack. The largest valid messages are far inside both: a
 * full manifest is ~4,100 values, an announce of 1,000 files ~7,000, an SDP signal 3 levels deep.
 */
export const MAX_JSON_DEPTH = 16
export const MAX_JSON_VALUES = 32_768

/** A reason the value is too deep or too large, or undefined. Iterative, so hostile input cannot overflow it. */
function checkJsonShape(root: unknown): string | undefined {
  const stack: [unknown, number][] = [[root, 1]]
  let values = 0
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (++values > MAX_JSON_VALUES) return `message has more than ${MAX_JSON_VALUES} values`
    if (typeof value !== 'object' || value === null) continue
    if (depth > MAX_JSON_DEPTH) return `message is nested more than ${MAX_JSON_DEPTH} levels deep`
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1])
  }
  return undefined
}

/** Parses what a client sent: a JSON string or an already-decoded value. Never throws. */
export function parseClientMessage(raw: unknown): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(ClientMessageSchemas, raw)
}

/** Parses what the server sent. Never throws. */
export function parseServerMessage(raw: unknown): ParseResult<ServerMessage> {
  return parseWith<ServerMessage>(ServerMessageSchemas, raw)
}

/** Parses a client's first message, its `hello`; another message type is `HELLO_REQUIRED`. Never throws. */
export function parseClientHello(raw: unknown): ParseResult<ClientHello> {
  const parsed = parseWith<ClientHello>({ hello: ClientHelloSchema }, raw)
  if (parsed.ok || parsed.error.code !== 'UNKNOWN_TYPE') return parsed
  const error = new SwarmError('HELLO_REQUIRED', 'the first message is a hello answering the challenge')
  return parsed.ref === undefined ? { ok: false, error } : { ok: false, error, ref: parsed.ref }
}

export function encodeClientMessage(message: ClientMessage | ClientHello): string {
  return JSON.stringify(message)
}

/** The server trusts its own messages: they are built from typed values, so they are not validated again. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message)
}
