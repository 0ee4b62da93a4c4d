/**
 * The embedded STUN responder (SPEC §1, §6): browsers send it an RFC 5389 Binding request and learn
 * the address and port their NAT gave them, which become their server-reflexive ICE candidates.
 *
 * Two layers: a pure codec (bytes in, bytes or a typed failure out; it never throws on a packet, so
 * it can be fuzzed) and `startStunServer`, which wires it to one UDP socket. Only Binding is
 * served: no authentication, no TURN, no RFC 5780 behaviour discovery.
 */
import { createSocket, type RemoteInfo } from 'node:dgram'
import { isIP } from 'node:net'
import { throttleLogger } from './log-throttle.js'
import type { Logger } from './logger.js'
import { type SourceBucketLimits, SourceBuckets } from './source-buckets.js'

/** What this server puts in SOFTWARE (RFC 5389 §15.10), so a packet capture says who answered. */
export const STUN_SOFTWARE = 'swarmdrop'

const HEADER_BYTES = 20 // type (2) + length (2) + magic cookie (4) + transaction id (12), RFC 5389 §6
const ATTRIBUTE_HEADER_BYTES = 4 // type (2) + length (2), RFC 5389 §15
const TRANSACTION_ID_BYTES = 12
const TRANSACTION_ID_OFFSET = 8
/** Fixed since RFC 5389; it tells STUN apart from other protocols multiplexed on the port (§6). */
const MAGIC_COOKIE = 0x2112a442
/** The two most significant bits of every STUN message are zero (RFC 5389 §6). */
const TOP_TWO_BITS = 0xc000
/** FINGERPRINT is CRC-32 XOR "STUN" in ASCII, so it differs from a CRC another protocol may carry (§15.5). */
const FINGERPRINT_XOR = 0x5354554e
const FINGERPRINT_VALUE_BYTES = 4
/** Below this, an attribute type is comprehension-required: not understanding it fails the request (§15). */
const COMPREHENSION_OPTIONAL_FROM = 0x8000

const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const BINDING_ERROR = 0x0111

const ATTR_MAPPED_ADDRESS = 0x0001
const ATTR_CHANGE_REQUEST = 0x0003
const ATTR_USERNAME = 0x0006
const ATTR_MESSAGE_INTEGRITY = 0x0008
const ATTR_ERROR_CODE = 0x0009
const ATTR_UNKNOWN_ATTRIBUTES = 0x000a
const ATTR_REALM = 0x0014
const ATTR_NONCE = 0x0015
const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c
const ATTR_PASSWORD_ALGORITHM = 0x001d
const ATTR_USERHASH = 0x001e
const ATTR_XOR_MAPPED_ADDRESS = 0x0020
const ATTR_PRIORITY = 0x0024
const ATTR_USE_CANDIDATE = 0x0025
const ATTR_SOFTWARE = 0x8022
const ATTR_FINGERPRINT = 0x8028

/**
 * Comprehension-required attributes we accept in a Binding request without acting on them.
 * Credentials (USERNAME, MESSAGE-INTEGRITY, REALM, NONCE and their RFC 8489 successors) are ignored:
 * a public Binding responder has no credentials to check them against, as with Google's and coturn's.
 * PRIORITY and USE-CANDIDATE are ICE's (RFC 8445 §16.1); a browser may reuse its connectivity-check
 * template for a server. Deliberately absent: RESPONSE-ADDRESS 0x0002 (replying elsewhere would make
 * us a reflector), SOURCE-/CHANGED-ADDRESS, PASSWORD, REFLECTED-FROM (RFC 3489, never valid in a
 * request) and RESPONSE-PORT 0x0027: a 420 tells such a client we do not do what it asks.
 * CHANGE-REQUEST is handled apart: we honour it only when it asks for no change.
 */
const UNDERSTOOD_ATTRIBUTES: ReadonlySet<number> = new Set([
  ATTR_MAPPED_ADDRESS,
  ATTR_USERNAME,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_ERROR_CODE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_REALM,
  ATTR_NONCE,
  ATTR_MESSAGE_INTEGRITY_SHA256,
  ATTR_PASSWORD_ALGORITHM,
  ATTR_USERHASH,
  ATTR_XOR_MAPPED_ADDRESS,
  ATTR_PRIORITY,
  ATTR_USE_CANDIDATE,
])
/** CHANGE-REQUEST flags (RFC 5780 §7.2): we have one address and one port, so we can change neither. */
const CHANGE_IP_AND_PORT_FLAGS = 0x06

const FAMILY_IPV4 = 0x01
const FAMILY_IPV6 = 0x02
const IPV6_WORDS = 8

/**
 * Most attributes read from one request; beyond this the datagram is dropped unanswered. A browser's
 * Binding request carries none to a handful (ICE connectivity checks: USERNAME, PRIORITY, ICE-CONTROLLING,
 * USE-CANDIDATE, GOOG-NETWORK-INFO, MESSAGE-INTEGRITY, FINGERPRINT); 32 is generous. Without a cap one
 * 64 KB datagram carried 16,000 attributes (108 ms of work and a 32 KB reply before the list was a Set).
 */
export const MAX_STUN_ATTRIBUTES = 32

const UNKNOWN_ATTRIBUTE_CLASS = 4 // 420 = class 4, number 20 (RFC 5389 §15.6)
const UNKNOWN_ATTRIBUTE_NUMBER = 20
const UNKNOWN_ATTRIBUTE_REASON = 'Unknown Attribute'

// --- Codec -------------------------------------------------------------------------------------

/** Why a packet got no reply. A STUN server answers only well-formed requests; everything else is dropped. */
export type StunIgnoreReason =
  /** Fewer than the 20 bytes of a STUN header. */
  | 'too-short'
  /** The top two bits are set or the magic cookie is wrong: another protocol, or RFC 3489. */
  | 'not-stun'
  /** The length field is not a multiple of 4 or disagrees with the datagram's size. */
  | 'bad-length'
  /** A STUN message, but not a Binding request (an indication, a response, another method). */
  | 'not-binding-request'
  /** An attribute runs past the end, or FINGERPRINT is not last or not 4 bytes. */
  | 'malformed-attribute'
  /** FINGERPRINT is present and does not match the message. */
  | 'bad-fingerprint'
  /** More than MAX_STUN_ATTRIBUTES attributes: no request of ours needs them, so it is not read further. */
  | 'too-many-attributes'
  /**
   * The request needs a 420, but the 420 would be larger than the request: an unauthenticated error is
   * never bigger than what asked for it, so that nobody can use this server to amplify traffic.
   */
  | 'error-larger-than-request'

export interface StunParseFailure {
  readonly ok: false
  readonly reason: StunIgnoreReason
}

export interface StunBindingRequest {
  readonly ok: true
  /** A copy of the 12-byte transaction id, echoed in the response. */
  readonly transactionId: Uint8Array
  /**
   * Comprehension-required attribute types this server does not understand, each once, in order of
   * appearance. Non-empty means the request must be answered with 420 (RFC 5389 §7.3.1).
   */
  readonly unknownAttributes: readonly number[]
  /** Whether the request carried a FINGERPRINT (which then matched). */
  readonly hasFingerprint: boolean
}

export type StunParseResult = StunBindingRequest | StunParseFailure

export type IpFamily = 'IPv4' | 'IPv6'

/** A transport address as the client's packet arrived from it: what XOR-MAPPED-ADDRESS reports. */
export interface StunMappedAddress {
  readonly address: string
  readonly port: number
  readonly family: IpFamily
}

export interface StunAnswer {
  readonly ok: true
  /** 'success' is a Binding success response; 'unknown-attribute' a 420 error response. */
  readonly kind: 'success' | 'unknown-attribute'
  readonly reply: Uint8Array
}

/**
 * Parses a datagram as an RFC 5389 Binding request. Never throws: any bytes come out as a request
 * or as the reason to ignore them.
 */
export function parseStunBindingRequest(packet: Uint8Array): StunParseResult {
  if (packet.byteLength < HEADER_BYTES) return ignore('too-short')
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const type = view.getUint16(0)
  if ((type & TOP_TWO_BITS) !== 0 || view.getUint32(4) !== MAGIC_COOKIE) return ignore('not-stun')
  const length = view.getUint16(2)
  if (length % 4 !== 0 || length !== packet.byteLength - HEADER_BYTES) return ignore('bad-length')
  if (type !== BINDING_REQUEST) return ignore('not-binding-request')

  const unknownAttributes = new Set<number>()
  let attributes = 0
  let hasFingerprint = false
  // RFC 5389 §15.4: whatever follows MESSAGE-INTEGRITY, except FINGERPRINT, is to be ignored.
  let afterIntegrity = false
  let offset = HEADER_BYTES
  while (offset < packet.byteLength) {
    // FINGERPRINT must be the last attribute (§15.5); anything after it makes the message malformed.
    if (hasFingerprint) return ignore('malformed-attribute')
    if (offset + ATTRIBUTE_HEADER_BYTES > packet.byteLength) return ignore('malformed-attribute')
    if (++attributes > MAX_STUN_ATTRIBUTES) return ignore('too-many-attributes')
    const attributeType = view.getUint16(offset)
    const valueLength = view.getUint16(offset + 2)
    const valueOffset = offset + ATTRIBUTE_HEADER_BYTES
    const next = valueOffset + padded(valueLength)
    if (next > packet.byteLength) return ignore('malformed-attribute')

    if (attributeType === ATTR_FINGERPRINT) {
      if (valueLength !== FINGERPRINT_VALUE_BYTES) return ignore('malformed-attribute')
      // The header's length already counts this attribute, as §15.5 requires, since it must be last.
      if (view.getUint32(valueOffset) !== fingerprintOf(packet, offset)) return ignore('bad-fingerprint')
      hasFingerprint = true
    } else if (afterIntegrity) {
      // Ignored, known or not.
    } else if (attributeType === ATTR_MESSAGE_INTEGRITY || attributeType === ATTR_MESSAGE_INTEGRITY_SHA256) {
      afterIntegrity = true
    } else if (
      attributeType < COMPREHENSION_OPTIONAL_FROM &&
      !understood(attributeType, view, valueOffset, valueLength)
    ) {
      unknownAttributes.add(attributeType)
    }
    offset = next
  }

  return {
    ok: true,
    transactionId: packet.slice(TRANSACTION_ID_OFFSET, HEADER_BYTES),
    unknownAttributes: [...unknownAttributes],
    hasFingerprint,
  }
}

/**
 * Encodes a Binding success response (0x0101): XOR-MAPPED-ADDRESS, MAPPED-ADDRESS (for clients that
 * read only RFC 3489's attribute), SOFTWARE, FINGERPRINT.
 * @throws TypeError if the transaction id is not 12 bytes or `address` is not an IP of `family`:
 * these come from this process, not from the network.
 */
export function encodeBindingSuccess(options: { transactionId: Uint8Array } & StunMappedAddress): Uint8Array {
  const { transactionId, address, port, family } = options
  checkTransactionId(transactionId)
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new TypeError(`bad port ${port}`)
  const addressBytes = family === 'IPv4' ? parseIPv4(address) : parseIPv6(address)
  if (addressBytes === undefined) throw new TypeError(`not an ${family} address: ${address}`)

  // XOR with the cookie (and for IPv6 the transaction id too) so that NATs rewriting every copy of
  // their public address they find in payloads leave this one alone (RFC 5389 §15.2).
  const mask = new Uint8Array(4 + TRANSACTION_ID_BYTES)
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE)
  mask.set(transactionId, 4)
  const xored = addressBytes.map((byte, i) => byte ^ mask[i]!)

  return encodeMessage(BINDING_SUCCESS, transactionId, [
    [ATTR_XOR_MAPPED_ADDRESS, addressValue(family, port ^ (MAGIC_COOKIE >>> 16), xored)],
    [ATTR_MAPPED_ADDRESS, addressValue(family, port, addressBytes)],
    [ATTR_SOFTWARE, new TextEncoder().encode(STUN_SOFTWARE)],
  ])
}

/** Bytes of a 420 listing `count` attributes: header, ERROR-CODE with its reason, the list, FINGERPRINT. */
export function unknownAttributeErrorBytes(count: number): number {
  const errorCode = 4 + new TextEncoder().encode(UNKNOWN_ATTRIBUTE_REASON).byteLength
  return (
    HEADER_BYTES +
    ATTRIBUTE_HEADER_BYTES +
    padded(errorCode) +
    ATTRIBUTE_HEADER_BYTES +
    padded(count * 2) +
    ATTRIBUTE_HEADER_BYTES +
    FINGERPRINT_VALUE_BYTES
  )
}

/**
 * Encodes a 420 (Unknown Attribute) Binding error response (0x0111) listing `unknownAttributes`
 * in UNKNOWN-ATTRIBUTES (RFC 5389 §7.3.1, §15.9), with FINGERPRINT. No SOFTWARE: an unauthenticated
 * error is kept as small as it can be (see answerStunPacket).
 * @throws TypeError if the transaction id is not 12 bytes.
 */
export function encodeUnknownAttributeError(options: {
  transactionId: Uint8Array
  unknownAttributes: readonly number[]
}): Uint8Array {
  checkTransactionId(options.transactionId)
  const reason = new TextEncoder().encode(UNKNOWN_ATTRIBUTE_REASON)
  const errorCode = new Uint8Array(4 + reason.byteLength)
  errorCode[2] = UNKNOWN_ATTRIBUTE_CLASS
  errorCode[3] = UNKNOWN_ATTRIBUTE_NUMBER
  errorCode.set(reason, 4)

  const list = new Uint8Array(options.unknownAttributes.length * 2)
  const listView = new DataView(list.buffer)
  for (const [i, type] of options.unknownAttributes.entries()) listView.setUint16(i * 2, type)

  return encodeMessage(BINDING_ERROR, options.transactionId, [
    [ATTR_ERROR_CODE, errorCode],
    [ATTR_UNKNOWN_ATTRIBUTES, list],
  ])
}

/**
 * What the server sends back for one datagram from `source`: a success response, a 420, or the
 * reason to stay silent. A 420 is never larger than the request: it lists as many of the unknown
 * attributes as fit in the request's size, and is not sent when not even one fits. Never throws on
 * `packet`; throws TypeError only for a bad `source`.
 */
export function answerStunPacket(
  packet: Uint8Array,
  source: StunMappedAddress,
): StunAnswer | StunParseFailure {
  const request = parseStunBindingRequest(packet)
  if (!request.ok) return request
  const { transactionId, unknownAttributes } = request
  if (unknownAttributes.length > 0) {
    let listed = unknownAttributes.length
    while (listed > 0 && unknownAttributeErrorBytes(listed) > packet.byteLength) listed--
    if (listed === 0) return ignore('error-larger-than-request')
    return {
      ok: true,
      kind: 'unknown-attribute',
      reply: encodeUnknownAttributeError({
        transactionId,
        unknownAttributes: unknownAttributes.slice(0, listed),
      }),
    }
  }
  return { ok: true, kind: 'success', reply: encodeBindingSuccess({ transactionId, ...source }) }
}

/**
 * The address to report for a datagram's source. A dual-stack `udp6` socket sees IPv4 clients as
 * `::ffff:a.b.c.d`; they sent over IPv4 and must hear an IPv4 address back, or their candidate is
 * useless. A link-local zone (`%eth0`) is local to this host, so it is dropped.
 */
export function reflexiveAddressOf(remote: {
  address: string
  port: number
  family: string
}): StunMappedAddress {
  const address = remote.address.split('%')[0] ?? remote.address
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped?.[1] !== undefined) return { address: mapped[1], port: remote.port, family: 'IPv4' }
  return { address, port: remote.port, family: isIP(address) === 6 ? 'IPv6' : 'IPv4' }
}

function ignore(reason: StunIgnoreReason): StunParseFailure {
  return { ok: false, reason }
}

function understood(type: number, view: DataView, valueOffset: number, valueLength: number): boolean {
  if (type === ATTR_CHANGE_REQUEST) {
    // Classic RFC 3489 clients send CHANGE-REQUEST with no flag set in their first test: that one we
    // can honour. Asking for another address or port earns a 420, as RFC 5780 §7.2 has it.
    return valueLength === 4 && (view.getUint32(valueOffset) & CHANGE_IP_AND_PORT_FLAGS) === 0
  }
  return UNDERSTOOD_ATTRIBUTES.has(type)
}

function padded(length: number): number {
  return (length + 3) & ~3
}

function checkTransactionId(transactionId: Uint8Array): void {
  if (transactionId.byteLength !== TRANSACTION_ID_BYTES) {
    throw new TypeError(
      `a STUN transaction id has ${TRANSACTION_ID_BYTES} bytes, not ${transactionId.byteLength}`,
    )
  }
}

function addressValue(family: IpFamily, port: number, address: Uint8Array): Uint8Array {
  const value = new Uint8Array(4 + address.byteLength)
  const view = new DataView(value.buffer)
  view.setUint8(1, family === 'IPv4' ? FAMILY_IPV4 : FAMILY_IPV6)
  view.setUint16(2, port)
  value.set(address, 4)
  return value
}

/** Header, attributes (each padded to 4 bytes with zeros), and FINGERPRINT last, as §15.5 requires. */
function encodeMessage(
  type: number,
  transactionId: Uint8Array,
  attributes: ReadonlyArray<readonly [type: number, value: Uint8Array]>,
): Uint8Array {
  let total = HEADER_BYTES + ATTRIBUTE_HEADER_BYTES + FINGERPRINT_VALUE_BYTES
  for (const [, value] of attributes) total += ATTRIBUTE_HEADER_BYTES + padded(value.byteLength)
  const message = new Uint8Array(total)
  const view = new DataView(message.buffer)
  view.setUint16(0, type)
  // The length counts FINGERPRINT before the CRC is computed (§15.5).
  view.setUint16(2, total - HEADER_BYTES)
  view.setUint32(4, MAGIC_COOKIE)
  message.set(transactionId, TRANSACTION_ID_OFFSET)
  let offset = HEADER_BYTES
  for (const [attributeType, value] of attributes) {
    view.setUint16(offset, attributeType)
    view.setUint16(offset + 2, value.byteLength)
    message.set(value, offset + ATTRIBUTE_HEADER_BYTES)
    offset += ATTRIBUTE_HEADER_BYTES + padded(value.byteLength)
  }
  view.setUint16(offset, ATTR_FINGERPRINT)
  view.setUint16(offset + 2, FINGERPRINT_VALUE_BYTES)
  view.setUint32(offset + ATTRIBUTE_HEADER_BYTES, fingerprintOf(message, offset))
  return message
}

/** FINGERPRINT value for the message bytes before `end` (where the FINGERPRINT attribute starts). */
function fingerprintOf(message: Uint8Array, end: number): number {
  return (crc32(message, end) ^ FINGERPRINT_XOR) >>> 0
}

/** CRC-32 of ISO 3309 / ITU-T V.42, the one §15.5 names (reflected, polynomial 0xEDB88320). */
const CRC32_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

function crc32(bytes: Uint8Array, end: number): number {
  let crc = 0xffffffff
  for (let i = 0; i < end; i++) crc = CRC32_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function parseIPv4(text: string): Uint8Array | undefined {
  if (isIP(text) !== 4) return undefined
  return Uint8Array.from(text.split('.'), Number)
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (isIP(text) !== 6 || text.includes('%')) return undefined
  const gap = text.indexOf('::')
  const head = ipv6Words(gap < 0 ? text : text.slice(0, gap))
  const tail = gap < 0 ? [] : ipv6Words(text.slice(gap + 2))
  const zeros = gap < 0 ? 0 : IPV6_WORDS - head.length - tail.length
  if (zeros < 0) return undefined
  const words = [...head, ...new Array<number>(zeros).fill(0), ...tail]
  if (words.length !== IPV6_WORDS) return undefined
  const bytes = new Uint8Array(IPV6_WORDS * 2)
  const view = new DataView(bytes.buffer)
  for (const [i, word] of words.entries()) view.setUint16(i * 2, word)
  return bytes
}

/** The 16-bit groups of one side of `::`; a trailing dotted quad (`::ffff:1.2.3.4`) gives two. */
function ipv6Words(part: string): number[] {
  if (part === '') return []
  return part.split(':').flatMap((group) => {
    if (!group.includes('.')) return [Number.parseInt(group, 16)]
    const [a = 0, b = 0, c = 0, d = 0] = parseIPv4(group) ?? []
    return [(a << 8) | b, (c << 8) | d]
  })
}

// --- Server ------------------------------------------------------------------------------------

/** Requests answered per source address (by IP, whatever the port), as a token bucket. */
export type StunLimits = SourceBucketLimits

/**
 * A browser gathering candidates sends one Binding request per local address per STUN server, and
 * retransmits a few times if unanswered; each RTCPeerConnection gathers on its own, and a household or
 * office shares one address. 50 a second with a burst of 200 covers dozens of tabs connecting at once,
 * while one forged source can draw at most ~4 KB/s of replies (68-byte successes) towards its victim.
 * 10,000 sources cost about 1.5 MiB.
 */
export const DEFAULT_STUN_LIMITS: Readonly<StunLimits> = Object.freeze({
  perSecond: 50,
  burst: 200,
  maxSources: 10_000,
})

export interface StunServerOptions {
  /** Address to bind: an IPv6 literal binds a `udp6` socket (dual-stack for `::`), anything else `udp4`. */
  host: string
  /** UDP port; 0 picks a free one (see `StunServer.port`). */
  port: number
  logger: Logger
  /** Per-source rate limit (DEFAULT_STUN_LIMITS). */
  limits?: Partial<StunLimits> | undefined
  now?: () => number
}

export interface StunStats {
  /** Datagrams answered: Binding success responses and 420 errors. */
  answered: number
  /** Datagrams dropped without a reply: not STUN, not a Binding request, malformed, too many attributes. */
  ignored: number
  /** Datagrams dropped because their source address was over its rate. */
  limited: number
  /** Bytes of all replies sent. */
  replyBytes: number
}

export interface StunServer {
  /** The UDP port actually bound. */
  readonly port: number
  stats(): StunStats
  /** Stops listening and releases the port. Idempotent: later calls return the same promise. */
  close(): Promise<void>
}

/** Binds a UDP socket and answers STUN Binding requests on it until `close()`. Rejects if binding fails. */
export async function startStunServer(options: StunServerOptions): Promise<StunServer> {
  const log = options.logger.child({ component: 'stun' })
  const now = options.now ?? Date.now
  const alerts = throttleLogger(log, undefined, now)
  const sources = new SourceBuckets({ ...DEFAULT_STUN_LIMITS, ...options.limits }, now())
  // 'localhost' and other names bind udp4: browsers ask STUN over IPv4 unless given an IPv6 literal.
  const socket = createSocket({ type: isIP(options.host) === 6 ? 'udp6' : 'udp4' })
  const counts: StunStats = { answered: 0, ignored: 0, limited: 0, replyBytes: 0 }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      socket.close()
      reject(error)
    }
    socket.once('error', onError)
    socket.bind({ port: options.port, address: options.host }, () => {
      socket.off('error', onError)
      resolve()
    })
  })

  // After binding, a socket error (e.g. ICMP unreachable surfacing on some platforms) is news, not a crash.
  socket.on('error', (error) => alerts.warn('stun socket error', { error }))

  const onPacket = (packet: Buffer, remote: RemoteInfo): void => {
    const from = `${remote.address}:${remote.port}`
    try {
      // Port 0 cannot be replied to (and dgram's send would throw on it).
      if (remote.port === 0) {
        counts.ignored++
        log.debug('stun packet ignored', { from, reason: 'source-port-zero' })
        return
      }
      // Before any parsing: a source over its rate costs one map lookup.
      if (!sources.take(remote.address, now())) {
        counts.limited++
        alerts.info('stun requests dropped: a source address is over its rate', { from })
        return
      }
      const answer = answerStunPacket(packet, reflexiveAddressOf(remote))
      if (!answer.ok) {
        counts.ignored++
        log.debug('stun packet ignored', { from, reason: answer.reason, bytes: packet.byteLength })
        return
      }
      counts.answered++
      counts.replyBytes += answer.reply.byteLength
      log.debug('stun request answered', { from, kind: answer.kind })
      socket.send(answer.reply, remote.port, remote.address, (error) => {
        if (error) log.debug('stun reply not sent', { from, error })
      })
    } catch (error) {
      // Unreachable by design (the codec never throws on a packet); logged loudly if it ever happens.
      counts.ignored++
      alerts.error('stun packet handling failed', { from, error })
    }
  }
  socket.on('message', onPacket)

  const port = socket.address().port
  log.info('stun listening', { host: options.host, port })

  let closed: Promise<void> | undefined
  return {
    port,
    stats: () => ({ ...counts }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        socket.off('message', onPacket)
        socket.close(() => {
          log.info('stun closed', { port, ...counts })
          resolve()
        })
      })
      return closed
    },
  }
}
