/**
 * The peer wire protocol: what two browsers say over their one data channel (docs/PROTOCOL.md, "Between
 * peers"). Every frame is binary; its first byte names the protocol it belongs to, so that one channel
 * carries file transfer today and other protocols (a DHT) later, each handled by its own code.
 *
 *   0x00 control   UTF-8 JSON of one control message (schemas below)
 *   0x01 chunk     u32 request id | u32 byte offset in the chunk | bytes of the chunk
 *   0x02 manifest  u32 request id | u32 byte offset | u32 total length | bytes of the canonical manifest
 *   0x10–0xff      reserved for other protocols over the same link
 *
 * Integers are big-endian. A frame is never larger than the channel's maxMessageSize.
 */
import { z } from 'zod'
import { ERROR_CODES } from './errors.js'
import { MAX_CHUNK_BYTES, MAX_CHUNK_COUNT } from './limits.js'
import { DigestSchema } from './manifest.js'
import { HaveSchema } from './tracker-protocol.js'

export const WIRE_PROTOCOL_VERSION = 1

export const FRAME_KIND = { control: 0x00, chunk: 0x01, manifest: 0x02 } as const
/** First byte values at or above this belong to protocols other than file transfer. */
export const FIRST_EXTENSION_KIND = 0x10

const CHUNK_HEADER_BYTES = 1 + 4 + 4
const MANIFEST_HEADER_BYTES = 1 + 4 + 4 + 4
/** Smallest frame size a peer may announce: below it the headers would dominate. */
export const MIN_FRAME_BYTES = 16 * 1024
/**
 * Largest frame we send: Chromium's and Firefox's maxMessageSize is 256 KiB (SPEC §8); peers announce
 * theirs in `hello` and each side sends frames no larger than the smaller of the two.
 */
export const MAX_FRAME_BYTES = 256 * 1024
/** Longest control message: control messages are small; a bound keeps a peer from making us parse megabytes. */
export const MAX_CONTROL_BYTES = 16 * 1024

const RequestIdSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
const ChunkIndexSchema = z
  .number()
  .int()
  .min(0)
  .max(MAX_CHUNK_COUNT - 1)

export const ControlMessageSchemas = {
  /**
   * First message each way: versions must match; frames are sized to the smaller maxFrameBytes.
   * `protocols` lists the extension frame kinds (0x10–0xff) the sender handles (the ring's 0x10): a peer
   * sends an extension frame only to a peer whose hello lists its kind, so a peer without the ring is never
   * sent ring frames (which would close the link UNKNOWN_TYPE). A hello without it lists none (a peer from
   * before issue 13). Fields a hello may gain later are ignored, not refused (this one message is not
   * strict), so that the next addition does not cut links to the peers of this version.
   */
  hello: z.object({
    type: z.literal('hello'),
    version: z.number().int(),
    maxFrameBytes: z.number().int().min(MIN_FRAME_BYTES).max(MAX_CHUNK_BYTES),
    protocols: z.array(z.number().int().min(FIRST_EXTENSION_KIND).max(0xff)).max(240).optional(),
  }),
  /**
   * "I want this file": the other side answers with `have` and keeps sending `have-chunk` for it (not for
   * chunks it got from the peer it would tell).
   */
  interested: z.strictObject({ type: z.literal('interested'), digest: DigestSchema }),
  /** Not interested any more: stop sending `have-chunk` for it. */
  'not-interested': z.strictObject({ type: z.literal('not-interested'), digest: DigestSchema }),
  /** Which chunks of a file the sender holds (`all`, or a bitfield as on the tracker). */
  have: z.strictObject({
    type: z.literal('have'),
    digest: DigestSchema,
    chunkCount: z.number().int().min(0).max(MAX_CHUNK_COUNT),
    have: HaveSchema,
  }),
  /** One more chunk verified and stored by the sender. */
  'have-chunk': z.strictObject({
    type: z.literal('have-chunk'),
    digest: DigestSchema,
    index: ChunkIndexSchema,
  }),
  /** Asks for one whole chunk; answered by chunk frames with this id, or `reject`. */
  request: z.strictObject({
    type: z.literal('request'),
    id: RequestIdSchema,
    digest: DigestSchema,
    index: ChunkIndexSchema,
  }),
  /** Asks for the canonical manifest of a file; answered by manifest frames, or `reject`. */
  'get-manifest': z.strictObject({
    type: z.literal('get-manifest'),
    id: RequestIdSchema,
    digest: DigestSchema,
  }),
  /** Withdraws a request (the chunk came from elsewhere, or the download stopped). */
  cancel: z.strictObject({ type: z.literal('cancel'), id: RequestIdSchema }),
  /** Refuses a request: the sender does not hold it, or has no upload slot free now. */
  reject: z.strictObject({
    type: z.literal('reject'),
    id: RequestIdSchema,
    reason: z.enum(['not-held', 'busy', 'bad-request']),
  }),
  /** A protocol error; the link is closed after it. */
  error: z.strictObject({
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string().max(500),
  }),
} as const

export type ControlMessageType = keyof typeof ControlMessageSchemas
export type ControlMessage = {
  [K in ControlMessageType]: z.infer<(typeof ControlMessageSchemas)[K]>
}[ControlMessageType]
export type ControlMessageOf<K extends ControlMessageType> = Extract<ControlMessage, { type: K }>

export type Frame =
  | { kind: 'control'; message: ControlMessage }
  | { kind: 'chunk'; requestId: number; offset: number; bytes: Uint8Array }
  | { kind: 'manifest'; requestId: number; offset: number; total: number; bytes: Uint8Array }
  | { kind: 'extension'; protocol: number; bytes: Uint8Array }

export type FrameParseResult = { ok: true; frame: Frame } | { ok: false; reason: string }

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** Parses one received frame. Never throws; `bytes` of the result are views into `data`. */
export function parseFrame(data: Uint8Array): FrameParseResult {
  if (data.length === 0) return { ok: false, reason: 'empty frame' }
  if (data.length > MAX_FRAME_BYTES)
    return { ok: false, reason: `frame of ${data.length} bytes is too large` }
  const kind = data[0]!
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  switch (kind) {
    case FRAME_KIND.control:
      return parseControlFrame(data)
    case FRAME_KIND.chunk: {
      if (data.length < CHUNK_HEADER_BYTES) return { ok: false, reason: 'chunk frame header is truncated' }
      const offset = view.getUint32(5)
      const bytes = data.subarray(CHUNK_HEADER_BYTES)
      if (bytes.length === 0 || offset + bytes.length > MAX_CHUNK_BYTES) {
        return { ok: false, reason: 'chunk frame is empty or runs past any chunk' }
      }
      return { ok: true, frame: { kind: 'chunk', requestId: view.getUint32(1), offset, bytes } }
    }
    case FRAME_KIND.manifest: {
      if (data.length < MANIFEST_HEADER_BYTES)
        return { ok: false, reason: 'manifest frame header is truncated' }
      const offset = view.getUint32(5)
      const total = view.getUint32(9)
      const bytes = data.subarray(MANIFEST_HEADER_BYTES)
      if (total > MAX_CANONICAL_MANIFEST_BYTES || offset + bytes.length > total) {
        return { ok: false, reason: 'manifest frame runs past its manifest' }
      }
      return { ok: true, frame: { kind: 'manifest', requestId: view.getUint32(1), offset, total, bytes } }
    }
    default:
      if (kind >= FIRST_EXTENSION_KIND) {
        return { ok: true, frame: { kind: 'extension', protocol: kind, bytes: data.subarray(1) } }
      }
      return { ok: false, reason: `unknown frame kind ${kind}` }
  }
}

/** The largest canonical manifest: header plus MAX_CHUNK_COUNT hashes. */
export const MAX_CANONICAL_MANIFEST_BYTES = 22 + 16 + MAX_CHUNK_COUNT * 32

function parseControlFrame(data: Uint8Array): FrameParseResult {
  if (data.length - 1 > MAX_CONTROL_BYTES) return { ok: false, reason: 'control message is too large' }
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data.subarray(1)))
  } catch {
    return { ok: false, reason: 'control message is not UTF-8 JSON' }
  }
  const type = (value as { type?: unknown } | null)?.type
  if (typeof type !== 'string' || !Object.hasOwn(ControlMessageSchemas, type)) {
    return { ok: false, reason: `unknown control message type ${JSON.stringify(String(type)).slice(0, 40)}` }
  }
  const parsed = ControlMessageSchemas[type as ControlMessageType].safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      reason: `${type}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.slice(0, 200),
    }
  }
  return { ok: true, frame: { kind: 'control', message: parsed.data as ControlMessage } }
}

export function encodeControl(message: ControlMessage): Uint8Array<ArrayBuffer> {
  const json = encoder.encode(JSON.stringify(message))
  const frame = new Uint8Array(1 + json.length)
  frame[0] = FRAME_KIND.control
  frame.set(json, 1)
  return frame
}

/** The frames that carry `chunk` for request `requestId`, each at most `maxFrameBytes`. */
export function encodeChunkFrames(
  requestId: number,
  chunk: Uint8Array,
  maxFrameBytes: number,
): Uint8Array<ArrayBuffer>[] {
  return splitIntoFrames(chunk, maxFrameBytes - CHUNK_HEADER_BYTES, (offset, length) => {
    const frame = new Uint8Array(CHUNK_HEADER_BYTES + length)
    const view = new DataView(frame.buffer)
    frame[0] = FRAME_KIND.chunk
    view.setUint32(1, requestId)
    view.setUint32(5, offset)
    frame.set(chunk.subarray(offset, offset + length), CHUNK_HEADER_BYTES)
    return frame
  })
}

/** The frames that carry canonical manifest bytes for request `requestId`. */
export function encodeManifestFrames(
  requestId: number,
  canonical: Uint8Array,
  maxFrameBytes: number,
): Uint8Array<ArrayBuffer>[] {
  return splitIntoFrames(canonical, maxFrameBytes - MANIFEST_HEADER_BYTES, (offset, length) => {
    const frame = new Uint8Array(MANIFEST_HEADER_BYTES + length)
    const view = new DataView(frame.buffer)
    frame[0] = FRAME_KIND.manifest
    view.setUint32(1, requestId)
    view.setUint32(5, offset)
    view.setUint32(9, canonical.length)
    frame.set(canonical.subarray(offset, offset + length), MANIFEST_HEADER_BYTES)
    return frame
  })
}

function splitIntoFrames(
  bytes: Uint8Array,
  payloadBytes: number,
  build: (offset: number, length: number) => Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer>[] {
  const frames: Uint8Array<ArrayBuffer>[] = []
  for (let offset = 0; offset < bytes.length; offset += payloadBytes) {
    frames.push(build(offset, Math.min(payloadBytes, bytes.length - offset)))
  }
  return frames
}
