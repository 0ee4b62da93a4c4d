/**
 * The ring's wire messages (docs/PROTOCOL.md, "The ring"): what two peers of the Chord ring say over the
 * link they share, as the payload of frames of kind RING_FRAME_KIND. Binary and compact, because the ring's
 * upkeep runs all the time on every node (DHT.md's budget: 30 KB a node a minute); one layout per message,
 * and a parser that never throws — whatever arrives comes out as a typed message or a typed error.
 *
 * Node ids and keys are 32 raw bytes on the wire and 64 lowercase hex characters in code. Integers are
 * big-endian.
 */
import { ByteReader, ByteWriter } from './byte-codec.js'
import { fromBase64, fromHex, toBase64, toHex } from './encoding.js'
import type { ErrorCode } from './errors.js'
import { PUBLIC_KEY_BYTES, readRecord, recordBytes, type SignedRecord, writeRecord } from './ring-records.js'

export const RING_PROTOCOL_VERSION = 1
/** The frame kind byte of the ring on a peer link (wire-protocol.ts reserves 0x10–0xff for protocols). */
export const RING_FRAME_KIND = 0x10
/**
 * Largest ring message. A successor list of 20 ids is 650 bytes and a batch of records is filled up to
 * this; 16 KiB is far below any data channel's maxMessageSize and bounds what one frame makes us parse.
 */
export const MAX_RING_MESSAGE_BYTES = 16 * 1024
/** Most ids in one list: the successor list (r = 20) with room to spare, never more. */
export const MAX_LIST_IDS = 32
/** Most nodes a `find` for room may walk past the key's successor. */
export const MAX_ROOM_WALK = 16
/** Highest hop limit a routed message may carry (DHT.md: 32). */
export const MAX_HOP_LIMIT = 32
export const ID_BYTES = 32

/** What the sender wants the link for. */
export type LinkWant = 'none' | 'neighbour' | 'finger' | 'client'
const WANTS: readonly LinkWant[] = ['none', 'neighbour', 'finger', 'client']

/** The error codes the ring sends; on the wire, a code is its index in this list. */
export const RING_ERROR_CODES = [
  'BAD_MESSAGE',
  'UNKNOWN_TYPE',
  'RATE_LIMITED',
  'HOP_LIMIT',
  'NO_ROUTE',
  'NOT_MEMBER',
  'BAD_SIGNATURE',
  'KEY_MISMATCH',
  'RECORD_EXPIRED',
  'PUBLISHER_QUOTA',
  'RING_FULL',
] as const satisfies readonly ErrorCode[]
export type RingErrorCode = (typeof RING_ERROR_CODES)[number]

export type RouteOp =
  /**
   * The key's successor: the reply names it first, then the nodes after it that the answerer knows. With
   * `room` > 0, the first node from the key's successor on, looking at most `room` nodes on, that has
   * room for one more ring link answers with itself alone (fingers are looked for this way, so that
   * dials seldom meet a full node).
   */
  | { op: 'find'; room: number }
  /** The records of one kind kept under the key. */
  | { op: 'get'; kind: SignedRecord['kind'] }
  /** Store these records under the key. */
  | { op: 'put'; records: SignedRecord[] }
  /**
   * A WebRTC signal (issue 13: the ring as Signaller when the tracker is down) for the peer whose id the
   * key starts with (`signalKey`): JSON text, checked by the receiver like any relayed signal (its offers
   * and answers are signed end to end). Delivered by the node linked to that peer: itself, or the member
   * it routes through.
   */
  | { op: 'signal'; data: string }

export type RouteResult =
  | { op: 'found'; nodes: string[] }
  | { op: 'records'; records: SignedRecord[] }
  | { op: 'stored'; stored: number }
  | { op: 'failed'; code: RingErrorCode }
  /** A signal reached its peer. */
  | { op: 'delivered' }

export type RingMessage =
  /**
   * First message each way on a link, and again whenever the sender's `want` changes. `ask` asks for the
   * receiver's hello again (the sender never got it).
   */
  | { type: 'hello'; version: number; member: boolean; ask: boolean; want: LinkWant; publicKey: Uint8Array }
  /** "No room for another ring link": the receiver stops wanting this link. */
  | { type: 'refuse' }
  | { type: 'ping'; nonce: number }
  | { type: 'pong'; nonce: number }
  /** Asks for the receiver's predecessor and successor list (stabilise, join, Zave's Stabilize2). */
  | { type: 'get-neighbours'; req: number }
  | { type: 'neighbours'; req: number; pred: string | null; successors: string[] }
  /** "I think I am your predecessor", with the sender's own predecessors (for replica ranges). */
  | { type: 'notify'; predecessors: string[] }
  /** The sender leaves the ring; its neighbours patch their lists at once. */
  | { type: 'leave'; pred: string | null; successors: string[] }
  /**
   * A request forwarded hop by hop towards `key`. `deliver` marks the last hop: the receiver answers
   * itself. `clockwise` says a hop found no link closer either way round and fell back on Chord's rule
   * (only clockwise progress, which a successor always makes), which the next hops keep to.
   * `attempt` varies the path a retry takes. `origin` is the node that asked, for rate limits.
   */
  | {
      type: 'route'
      req: number
      origin: string
      key: string
      hops: number
      hopLimit: number
      attempt: number
      deliver: boolean
      clockwise: boolean
      request: RouteOp
    }
  /** "Got it": sent back at once for each `route` received, so a hop that died is found in a moment. */
  | { type: 'ack'; req: number }
  /** The answer to a `route`, travelling back the way it came; `hops` is how far the request went. */
  | { type: 'route-reply'; req: number; hops: number; from: string; result: RouteResult }
  /**
   * Records of one key pushed to a replica, which passes them on to its successors up to `until` (the
   * last node to get them). `push` names this push (the pusher's random number), so the copies of it a
   * node gets from the several nodes before it are passed on once.
   */
  | { type: 'replicate'; push: number; until: string; key: string; records: SignedRecord[] }
  /** The sender could not take a message: `req` is the request it refers to, 0 for none. */
  | { type: 'error'; req: number; code: RingErrorCode }

export type RingMessageType = RingMessage['type']
export type RingMessageOf<K extends RingMessageType> = Extract<RingMessage, { type: K }>

export type RingParseResult =
  | { ok: true; message: RingMessage }
  | { ok: false; code: 'BAD_MESSAGE' | 'UNKNOWN_TYPE'; reason: string }

const TYPE_BYTE = {
  hello: 1,
  refuse: 2,
  ping: 3,
  pong: 4,
  'get-neighbours': 5,
  neighbours: 6,
  notify: 7,
  leave: 8,
  route: 9,
  'route-reply': 10,
  replicate: 11,
  error: 12,
  ack: 13,
} as const satisfies Record<RingMessageType, number>
const TYPE_OF_BYTE = new Map<number, RingMessageType>(
  Object.entries(TYPE_BYTE).map(([type, byte]) => [byte, type as RingMessageType]),
)

const OP_BYTE = { find: 1, get: 2, put: 3, signal: 4 } as const
const RESULT_BYTE = { found: 1, records: 2, stored: 3, failed: 4, delivered: 5 } as const
const KIND_BYTE = { provider: 1, name: 2 } as const

/** Largest signal text a routed `signal` carries: an SDP with its signature is 2–5 KB. */
export const MAX_RING_SIGNAL_BYTES = 12 * 1024
/** A peer id: the first 12 bytes of the node id in base64url (shared/identity-proof.ts). */
const PEER_ID = /^[A-Za-z0-9_-]{16}$/

/**
 * The key a signal for `peerId` is routed to: the peer id's 12 bytes padded with zeros, which lies just
 * before the peer's own node id (which starts with those bytes), so its successor is that peer or, for a
 * client not on the ring, the member next to it. Null for a string that is not a peer id.
 */
export function signalKey(peerId: string): string | null {
  if (!PEER_ID.test(peerId)) return null
  return toHex(fromBase64(peerId.replaceAll('-', '+').replaceAll('_', '/'))).padEnd(64, '0')
}

/** The peer id a signal key is for (peerIdOf of shared/identity-proof.ts, which starts from a node id). */
export function peerIdOfSignalKey(key: string): string {
  return toBase64(fromHex(key).subarray(0, 12)).replaceAll('+', '-').replaceAll('/', '_')
}

export function encodeRingMessage(message: RingMessage): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter(64).u8(TYPE_BYTE[message.type])
  switch (message.type) {
    case 'hello':
      w.u8(message.version)
        .u8((message.member ? 1 : 0) | (message.ask ? 2 : 0))
        .u8(WANTS.indexOf(message.want))
      w.bytes(message.publicKey)
      break
    case 'refuse':
      break
    case 'ping':
    case 'pong':
      w.u32(message.nonce)
      break
    case 'get-neighbours':
    case 'ack':
      w.u32(message.req)
      break
    case 'neighbours':
      w.u32(message.req)
      writeOptionalId(w, message.pred)
      writeIds(w, message.successors)
      break
    case 'notify':
      writeIds(w, message.predecessors)
      break
    case 'leave':
      writeOptionalId(w, message.pred)
      writeIds(w, message.successors)
      break
    case 'route':
      w.u32(message.req).bytes(fromHex(message.origin)).bytes(fromHex(message.key))
      w.u8(message.hops).u8(message.hopLimit).u8(message.attempt)
      w.u8((message.deliver ? 1 : 0) | (message.clockwise ? 2 : 0))
      writeOp(w, message.request)
      break
    case 'route-reply':
      w.u32(message.req).u8(message.hops).bytes(fromHex(message.from))
      writeResult(w, message.result)
      break
    case 'replicate':
      w.u32(message.push).bytes(fromHex(message.until)).bytes(fromHex(message.key))
      writeRecords(w, message.records)
      break
    case 'error':
      w.u32(message.req).u8(RING_ERROR_CODES.indexOf(message.code))
      break
  }
  return w.finish()
}

/** Parses one ring message. Never throws; ids come out as hex, records with views into `data`. */
export function parseRingMessage(data: Uint8Array): RingParseResult {
  if (data.length === 0) return bad('empty message')
  if (data.length > MAX_RING_MESSAGE_BYTES) return bad(`message of ${data.length} bytes is too large`)
  const type = TYPE_OF_BYTE.get(data[0]!)
  if (type === undefined) return { ok: false, code: 'UNKNOWN_TYPE', reason: `unknown type ${data[0]}` }
  const r = new ByteReader(data.subarray(1))
  const message = readBody(type, r)
  if (message === undefined || !r.ok) return bad(`${type}: malformed`)
  if (r.remaining !== 0) return bad(`${type}: ${r.remaining} bytes left over`)
  return { ok: true, message }
}

/** Records that fit in one message beside `overheadBytes` of other fields, taken in order. */
export function recordsThatFit(records: SignedRecord[], overheadBytes: number): SignedRecord[] {
  const out: SignedRecord[] = []
  let bytes = overheadBytes + 2
  for (const record of records) {
    bytes += recordBytes(record)
    if (bytes > MAX_RING_MESSAGE_BYTES || out.length === 255) break
    out.push(record)
  }
  return out
}
/** Bytes of a `route` message besides its records: room to leave when filling a put. */
export const ROUTE_OVERHEAD_BYTES = 1 + 4 + ID_BYTES * 2 + 4 + 1 + 1
/** Bytes of a `route-reply` besides its records. */
export const REPLY_OVERHEAD_BYTES = 1 + 4 + 1 + ID_BYTES + 1
/** Bytes of a `replicate` besides its records. */
export const REPLICATE_OVERHEAD_BYTES = 1 + 4 + ID_BYTES * 2

function readBody(type: RingMessageType, r: ByteReader): RingMessage | undefined {
  switch (type) {
    case 'hello': {
      const version = r.u8()
      const flags = r.u8()
      const want = WANTS[r.u8() ?? -1]
      const publicKey = r.bytes(PUBLIC_KEY_BYTES)
      if (version === undefined || flags === undefined || publicKey === undefined) return undefined
      if (flags > 3 || want === undefined) return r.fail()
      return { type, version, member: (flags & 1) === 1, ask: (flags & 2) === 2, want, publicKey }
    }
    case 'refuse':
      return { type }
    case 'ping':
    case 'pong': {
      const nonce = r.u32()
      return nonce === undefined ? undefined : { type, nonce }
    }
    case 'get-neighbours':
    case 'ack': {
      const req = r.u32()
      return req === undefined ? undefined : { type, req }
    }
    case 'neighbours': {
      const req = r.u32()
      const pred = readOptionalId(r)
      const successors = readIds(r)
      if (req === undefined || pred === undefined || successors === undefined) return undefined
      return { type, req, pred, successors }
    }
    case 'notify': {
      const predecessors = readIds(r)
      return predecessors === undefined ? undefined : { type, predecessors }
    }
    case 'leave': {
      const pred = readOptionalId(r)
      const successors = readIds(r)
      if (pred === undefined || successors === undefined) return undefined
      return { type, pred, successors }
    }
    case 'route': {
      const req = r.u32()
      const origin = readId(r)
      const key = readId(r)
      const hops = r.u8()
      const hopLimit = r.u8()
      const attempt = r.u8()
      const flags = r.u8()
      const request = readOp(r)
      if (
        req === undefined ||
        origin === undefined ||
        key === undefined ||
        hops === undefined ||
        hopLimit === undefined ||
        attempt === undefined ||
        flags === undefined ||
        request === undefined
      )
        return undefined
      if (hopLimit > MAX_HOP_LIMIT || hops > hopLimit || flags > 3) return r.fail()
      const deliver = (flags & 1) === 1
      const clockwise = (flags & 2) === 2
      return { type, req, origin, key, hops, hopLimit, attempt, deliver, clockwise, request }
    }
    case 'route-reply': {
      const req = r.u32()
      const hops = r.u8()
      const from = readId(r)
      const result = readResult(r)
      if (req === undefined || hops === undefined || from === undefined || result === undefined)
        return undefined
      if (hops > MAX_HOP_LIMIT) return r.fail()
      return { type, req, hops, from, result }
    }
    case 'replicate': {
      const push = r.u32()
      const until = readId(r)
      const key = readId(r)
      const records = readRecords(r)
      if (push === undefined || until === undefined || key === undefined || records === undefined)
        return undefined
      if (records.length === 0) return r.fail()
      return { type, push, until, key, records }
    }
    case 'error': {
      const req = r.u32()
      const code = RING_ERROR_CODES[r.u8() ?? -1]
      if (req === undefined) return undefined
      return code === undefined ? r.fail() : { type, req, code }
    }
  }
}

function writeOp(w: ByteWriter, op: RouteOp): void {
  w.u8(OP_BYTE[op.op])
  if (op.op === 'find') w.u8(op.room)
  else if (op.op === 'get') w.u8(KIND_BYTE[op.kind])
  else if (op.op === 'put') writeRecords(w, op.records)
  else if (op.op === 'signal') w.text16(op.data)
}

function readOp(r: ByteReader): RouteOp | undefined {
  switch (r.u8()) {
    case OP_BYTE.find: {
      const room = r.u8()
      if (room === undefined) return undefined
      return room > MAX_ROOM_WALK ? r.fail() : { op: 'find', room }
    }
    case OP_BYTE.get: {
      const kind = r.u8()
      if (kind === KIND_BYTE.provider) return { op: 'get', kind: 'provider' }
      if (kind === KIND_BYTE.name) return { op: 'get', kind: 'name' }
      return r.fail()
    }
    case OP_BYTE.put: {
      const records = readRecords(r)
      return records && records.length > 0 ? { op: 'put', records } : r.fail()
    }
    case OP_BYTE.signal: {
      const data = r.text16()
      if (data === undefined) return undefined
      return data.length === 0 || data.length > MAX_RING_SIGNAL_BYTES ? r.fail() : { op: 'signal', data }
    }
    default:
      return r.fail()
  }
}

function writeResult(w: ByteWriter, result: RouteResult): void {
  w.u8(RESULT_BYTE[result.op])
  switch (result.op) {
    case 'found':
      writeIds(w, result.nodes)
      break
    case 'records':
      writeRecords(w, result.records)
      break
    case 'stored':
      w.u16(result.stored)
      break
    case 'failed':
      w.u8(RING_ERROR_CODES.indexOf(result.code))
      break
    case 'delivered':
      break
  }
}

function readResult(r: ByteReader): RouteResult | undefined {
  switch (r.u8()) {
    case RESULT_BYTE.found: {
      const nodes = readIds(r)
      return nodes && nodes.length > 0 ? { op: 'found', nodes } : r.fail()
    }
    case RESULT_BYTE.records: {
      const records = readRecords(r)
      return records ? { op: 'records', records } : undefined
    }
    case RESULT_BYTE.stored: {
      const stored = r.u16()
      return stored === undefined ? undefined : { op: 'stored', stored }
    }
    case RESULT_BYTE.failed: {
      const code = RING_ERROR_CODES[r.u8() ?? -1]
      return code === undefined ? r.fail() : { op: 'failed', code }
    }
    case RESULT_BYTE.delivered:
      return { op: 'delivered' }
    default:
      return r.fail()
  }
}

function writeRecords(w: ByteWriter, records: SignedRecord[]): void {
  w.u8(records.length)
  for (const record of records) writeRecord(w, record)
}

function readRecords(r: ByteReader): SignedRecord[] | undefined {
  const count = r.u8()
  if (count === undefined) return undefined
  const records: SignedRecord[] = []
  for (let i = 0; i < count; i++) {
    const record = readRecord(r)
    if (record === undefined) return undefined
    records.push(record)
  }
  return records
}

function readId(r: ByteReader): string | undefined {
  const bytes = r.bytes(ID_BYTES)
  return bytes === undefined ? undefined : toHex(bytes)
}

function writeIds(w: ByteWriter, ids: string[]): void {
  w.u8(ids.length)
  for (const id of ids) w.bytes(fromHex(id))
}

function readIds(r: ByteReader): string[] | undefined {
  const count = r.u8()
  if (count === undefined) return undefined
  if (count > MAX_LIST_IDS) return r.fail()
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const id = readId(r)
    if (id === undefined) return undefined
    ids.push(id)
  }
  return ids
}

function writeOptionalId(w: ByteWriter, id: string | null): void {
  if (id === null) w.u8(0)
  else w.u8(1).bytes(fromHex(id))
}

/** `null` for "none", `undefined` when malformed. */
function readOptionalId(r: ByteReader): string | null | undefined {
  const present = r.u8()
  if (present === 0) return null
  if (present === 1) return readId(r)
  return r.fail()
}

function bad(reason: string): RingParseResult {
  return { ok: false, code: 'BAD_MESSAGE', reason }
}
