/**
 * A minimal TURN client over UDP (RFC 8656) for tests: enough to allocate a relay on a real coturn and ask
 * it for permissions, so a test can prove which peer addresses the server refuses to relay to. libwebrtc
 * cannot answer that question: it never shows a CreatePermission's error code.
 *
 * Scope: UDP transport, long-term credentials (RFC 8489 §9.2, MD5 key, HMAC-SHA1 MESSAGE-INTEGRITY),
 * Allocate, CreatePermission and Refresh to release. IPv4 relays and peers only: without
 * REQUESTED-ADDRESS-FAMILY the server relays over IPv4 (RFC 8656 §7.2) and answers any IPv6 peer with 443
 * (family mismatch), never with its policy. No data (Send/Data, ChannelBind), no TCP/TLS, no automatic
 * refreshing: an allocation lives 10 minutes and a permission 5, longer than any test.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { isIP, isIPv4 } from 'node:net'
import { crc32 } from 'node:zlib'

export interface TurnServerAddress {
  host: string
  port: number
}

export interface TurnClientOptions {
  /** An IP literal is best: its family picks the socket's (`udp6` for IPv6, `udp4` otherwise). */
  server: TurnServerAddress
  username: string
  password: string
  /** How long one transaction (with its retransmissions) may take before it fails; default 5000 ms. */
  timeoutMs?: number
}

export interface TransportAddress {
  address: string
  port: number
}

/** A peer to permit. TURN permissions are per IP address (RFC 8656 §9), so there is no port. */
export interface PeerAddress {
  /** An IPv4 literal. */
  address: string
}

export type PermissionResult = { ok: true } | { ok: false; code: number; reason: string }

/** The server answered with an error response, or the client could not complete the exchange. */
export class TurnError extends Error {
  constructor(
    /** The STUN error code (class × 100 + number), e.g. 401, 403, 437, 438. */
    readonly code: number,
    readonly reason: string,
    context: string,
  ) {
    super(`${context}: ${code} ${reason}`)
    this.name = 'TurnError'
  }
}

/** No answer arrived within `timeoutMs`, retransmissions included. */
export class TurnTimeoutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TurnTimeoutError'
  }
}

const DEFAULT_TIMEOUT_MS = 5000
/**
 * UDP loses datagrams, so a request is resent until answered. A fixed interval rather than RFC 8489's
 * doubling RTO: the servers under test are local, and a steady pace keeps a lost packet's cost bounded.
 */
const RETRANSMIT_INTERVAL_MS = 500
/** A server may rotate its nonce between any two requests; more stale answers in a row means a loop. */
const MAX_STALE_NONCE_RETRIES = 3

const HEADER_BYTES = 20 // type (2) + length (2) + magic cookie (4) + transaction id (12), RFC 8489 §5
const ATTRIBUTE_HEADER_BYTES = 4
const TRANSACTION_ID_BYTES = 12
const TRANSACTION_ID_OFFSET = 8
const MAGIC_COOKIE = 0x2112a442
const TOP_TWO_BITS = 0xc000
const FINGERPRINT_XOR = 0x5354554e // "STUN", so the CRC differs from one another protocol might carry
const FINGERPRINT_ATTRIBUTE_BYTES = 8
const INTEGRITY_VALUE_BYTES = 20 // HMAC-SHA1
const INTEGRITY_ATTRIBUTE_BYTES = ATTRIBUTE_HEADER_BYTES + INTEGRITY_VALUE_BYTES

// Message classes, as the bits they set in the message type (RFC 8489 §5).
const CLASS_REQUEST = 0x0000
const CLASS_SUCCESS = 0x0100 // set in both response classes: error responses add 0x0010
const CLASS_MASK = 0x0110

// Methods (RFC 8656 §17).
const METHOD_ALLOCATE = 0x003
const METHOD_REFRESH = 0x004
const METHOD_CREATE_PERMISSION = 0x008

// Attributes (RFC 8489 §18.3, RFC 8656 §18).
const ATTR_USERNAME = 0x0006
const ATTR_MESSAGE_INTEGRITY = 0x0008
const ATTR_ERROR_CODE = 0x0009
const ATTR_LIFETIME = 0x000d
const ATTR_XOR_PEER_ADDRESS = 0x0012
const ATTR_REALM = 0x0014
const ATTR_NONCE = 0x0015
const ATTR_XOR_RELAYED_ADDRESS = 0x0016
const ATTR_REQUESTED_TRANSPORT = 0x0019
const ATTR_FINGERPRINT = 0x8028

/** REQUESTED-TRANSPORT carries an IANA protocol number; TURN over this client relays UDP only. */
const PROTOCOL_UDP = 17
/** Refresh with LIFETIME 0 deletes the allocation at once instead of leaving it to expire (RFC 8656 §7). */
const RELEASE_LIFETIME_S = 0

const FAMILY_IPV4 = 0x01
/** An XOR-*-ADDRESS value for IPv4: reserved byte, family, port (2), address (4). */
const XOR_ADDRESS_IPV4_BYTES = 8

const ERROR_UNAUTHORIZED = 401
const ERROR_ALLOCATION_MISMATCH = 437
const ERROR_STALE_NONCE = 438

/** RFC 8489 §14.8: the class is the hundreds digit (3 bits), the number the rest (0–99). */
const ERROR_CLASS_MASK = 0x07
const ERROR_CODE_HEADER_BYTES = 4

export class TurnClient {
  /** The address and port coturn relays from: what peers see. */
  readonly relayedAddress: TransportAddress

  readonly #session: Session
  #closing: Promise<void> | undefined

  private constructor(session: Session, relayedAddress: TransportAddress) {
    this.#session = session
    this.relayedAddress = relayedAddress
  }

  /**
   * Allocates a UDP relay. The first Allocate goes without credentials, as RFC 8656 §7.2 has it, to learn
   * the realm and nonce from the 401; the second carries them. Rejects with a TurnError if the server
   * refuses (e.g. 401 for a bad or expired credential) and a TurnTimeoutError if it never answers.
   */
  static async allocate(options: TurnClientOptions): Promise<TurnClient> {
    const session = await Session.open(options)
    try {
      const response = await session.request(METHOD_ALLOCATE, [
        [ATTR_REQUESTED_TRANSPORT, new Uint8Array([PROTOCOL_UDP, 0, 0, 0])], // three RFFU bytes follow
      ])
      const relayed = response.attribute(ATTR_XOR_RELAYED_ADDRESS)
      const relayedAddress = relayed === undefined ? undefined : decodeXorAddress(relayed)
      if (relayedAddress === undefined) {
        throw new Error('Allocate success response has no IPv4 XOR-RELAYED-ADDRESS')
      }
      return new TurnClient(session, relayedAddress)
    } catch (error) {
      session.close()
      throw error
    }
  }

  /**
   * Asks the server to accept traffic from and relay to `peer`'s IP. Resolves with the server's refusal
   * rather than rejecting, since a refusal (403 for a peer coturn's policy forbids) is what tests look
   * for; rejects only when there is no verdict (timeout, closed client), and with a TypeError if
   * `peer.address` is not an IPv4 literal: that is a test's mistake, not the network's.
   */
  async createPermission(peer: PeerAddress): Promise<PermissionResult> {
    const peerAddress = encodeXorAddress(peer.address)
    try {
      await this.#session.request(METHOD_CREATE_PERMISSION, [[ATTR_XOR_PEER_ADDRESS, peerAddress]])
      return { ok: true }
    } catch (error) {
      if (error instanceof TurnError) return { ok: false, code: error.code, reason: error.reason }
      throw error
    }
  }

  /**
   * Releases the allocation (Refresh, LIFETIME 0) and closes the socket, which is closed however the
   * Refresh ends. Resolves if the server released it, no longer knew it (437) or did not answer (the
   * allocation then expires on its own); rejects only on another error response, which means this client
   * sent something wrong. Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#release()
    return this.#closing
  }

  async #release(): Promise<void> {
    try {
      const lifetime = new Uint8Array(4)
      new DataView(lifetime.buffer).setUint32(0, RELEASE_LIFETIME_S)
      await this.#session.request(METHOD_REFRESH, [[ATTR_LIFETIME, lifetime]])
    } catch (error) {
      // 437: the allocation already expired or was deleted, which is what we wanted anyway.
      const gone = error instanceof TurnError && error.code === ERROR_ALLOCATION_MISMATCH
      if (!gone && !(error instanceof TurnTimeoutError)) throw error
    } finally {
      this.#session.close()
    }
  }
}

// --- Session: socket, transactions, credentials ------------------------------------------------

type Attribute = readonly [type: number, value: Uint8Array]

interface Pending {
  resolve(message: StunMessage): void
  reject(error: Error): void
}

class Session {
  readonly #socket: Socket
  readonly #server: TurnServerAddress
  readonly #username: string
  readonly #password: string
  readonly #timeoutMs: number
  readonly #pending = new Map<string, Pending>()
  #realm: string | undefined
  #nonce: Uint8Array | undefined
  #key: Uint8Array | undefined
  #closed = false
  /** Responses dropped for a MESSAGE-INTEGRITY that did not verify: reported if a transaction times out. */
  #forgedResponses = 0

  private constructor(socket: Socket, options: TurnClientOptions) {
    this.#socket = socket
    this.#server = options.server
    this.#username = options.username
    this.#password = options.password
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    socket.on('message', (packet) => this.#receive(packet))
    // After binding, an error (an ICMP unreachable some platforms surface) ends every transaction now
    // rather than at its timeout, with the cause in the message.
    socket.on('error', (error) => {
      for (const pending of this.#pending.values()) pending.reject(error)
      this.#pending.clear()
    })
  }

  static async open(options: TurnClientOptions): Promise<Session> {
    const socket = createSocket({ type: isIP(options.server.host) === 6 ? 'udp6' : 'udp4' })
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        socket.close()
        reject(error)
      }
      socket.once('error', onError)
      socket.bind(0, () => {
        socket.off('error', onError)
        resolve()
      })
    })
    return new Session(socket, options)
  }

  /**
   * Runs one request to completion: answers the authentication challenge (401 with REALM and NONCE, once)
   * and stale nonces (438, a few times) by retrying, each retry a new transaction as RFC 8489 §9.2.4 asks.
   * Resolves with the success response; rejects with a TurnError for any other error response.
   */
  async request(method: number, attributes: readonly Attribute[]): Promise<StunMessage> {
    let challenged = false
    let staleRetries = 0
    for (;;) {
      const response = await this.#transact(method, attributes)
      if (response.messageClass === CLASS_SUCCESS) return response

      const error = response.errorCode() ?? { code: 0, reason: 'error response without ERROR-CODE' }
      const canRetry =
        (error.code === ERROR_UNAUTHORIZED && !challenged && this.#key === undefined) ||
        (error.code === ERROR_STALE_NONCE && staleRetries < MAX_STALE_NONCE_RETRIES)
      if (canRetry && this.#learnChallenge(response)) {
        if (error.code === ERROR_UNAUTHORIZED) challenged = true
        else staleRetries++
        continue
      }
      throw new TurnError(error.code, error.reason, `${methodName(method)} refused`)
    }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    const error = new Error('TURN client closed')
    for (const pending of this.#pending.values()) pending.reject(error)
    this.#pending.clear()
    this.#socket.close()
  }

  /** One transaction: send, resend every RETRANSMIT_INTERVAL_MS, settle on the matching response. */
  #transact(method: number, attributes: readonly Attribute[]): Promise<StunMessage> {
    if (this.#closed) return Promise.reject(new Error('TURN client is closed'))
    const transactionId = randomBytes(TRANSACTION_ID_BYTES)
    const all = [...attributes, ...this.#credentialAttributes()]
    const packet = encodeMessage(messageType(method, CLASS_REQUEST), transactionId, all, this.#key)
    const id = hex(transactionId)
    const forgedBefore = this.#forgedResponses

    return new Promise<StunMessage>((resolvePromise, rejectPromise) => {
      const send = () => {
        this.#socket.send(packet, this.#server.port, this.#server.host, (error) => {
          if (error) settle(() => rejectPromise(error))
        })
      }
      const retransmit = setInterval(send, RETRANSMIT_INTERVAL_MS)
      const deadline = setTimeout(() => {
        const forged = this.#forgedResponses - forgedBefore
        const note = forged > 0 ? ` (${forged} responses dropped for a bad MESSAGE-INTEGRITY)` : ''
        settle(() =>
          rejectPromise(
            new TurnTimeoutError(
              `${methodName(method)}: no answer from ${this.#server.host}:${this.#server.port} within ${this.#timeoutMs} ms${note}`,
            ),
          ),
        )
      }, this.#timeoutMs)
      const settle = (finish: () => void) => {
        clearInterval(retransmit)
        clearTimeout(deadline)
        this.#pending.delete(id)
        finish()
      }
      this.#pending.set(id, {
        resolve: (message) => settle(() => resolvePromise(message)),
        reject: (error) => settle(() => rejectPromise(error)),
      })
      send()
    })
  }

  #credentialAttributes(): Attribute[] {
    if (this.#realm === undefined || this.#nonce === undefined) return []
    return [
      [ATTR_USERNAME, utf8(this.#username)],
      [ATTR_REALM, utf8(this.#realm)],
      [ATTR_NONCE, this.#nonce],
    ]
  }

  /** Takes REALM and NONCE from a 401 or 438; false if the response lacks them (nothing to retry with). */
  #learnChallenge(response: StunMessage): boolean {
    const nonce = response.attribute(ATTR_NONCE)
    const realmBytes = response.attribute(ATTR_REALM)
    const realm = realmBytes === undefined ? this.#realm : new TextDecoder().decode(realmBytes)
    if (nonce === undefined || realm === undefined) return false
    this.#nonce = nonce.slice()
    if (realm !== this.#realm || this.#key === undefined) {
      this.#realm = realm
      // RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password), without SASLprep, as coturn does.
      this.#key = createHash('md5').update(`${this.#username}:${realm}:${this.#password}`, 'utf8').digest()
    }
    return true
  }

  #receive(packet: Buffer): void {
    // A copy as a plain Uint8Array, so that every slice() below copies rather than views the Buffer.
    const message = decodeMessage(new Uint8Array(packet))
    // Only responses settle a transaction; requests and indications (a Data indication for a peer that
    // wrote to the relay) are not for this client.
    if (message === undefined || (message.type & CLASS_SUCCESS) === 0) return
    const pending = this.#pending.get(hex(message.transactionId))
    if (pending === undefined) return // a late answer to a retransmission, or not ours
    // RFC 8489 §9.2.5: a response whose integrity does not check is discarded as if never received.
    if (this.#key !== undefined && !message.integrityMatches(this.#key)) {
      this.#forgedResponses++
      return
    }
    pending.resolve(message)
  }
}

// --- Codec -------------------------------------------------------------------------------------

interface RawAttribute {
  type: number
  value: Uint8Array
  /** Where the attribute's header starts in the message, for the integrity check. */
  offset: number
}

class StunMessage {
  constructor(
    readonly type: number,
    readonly transactionId: Uint8Array,
    readonly attributes: readonly RawAttribute[],
    readonly bytes: Uint8Array,
  ) {}

  get messageClass(): number {
    return this.type & CLASS_MASK
  }

  /** The first attribute of `type`: RFC 8489 §14 says later duplicates are to be ignored. */
  attribute(type: number): Uint8Array | undefined {
    return this.attributes.find((attribute) => attribute.type === type)?.value
  }

  errorCode(): { code: number; reason: string } | undefined {
    const value = this.attribute(ATTR_ERROR_CODE)
    if (value === undefined || value.byteLength < ERROR_CODE_HEADER_BYTES) return undefined
    const code = (value[2]! & ERROR_CLASS_MASK) * 100 + value[3]!
    // coturn counts its NUL padding in the attribute's length, so the phrase would end in NULs.
    const reason = new TextDecoder().decode(value.subarray(ERROR_CODE_HEADER_BYTES)).replace(/\0+$/, '')
    return { code, reason }
  }

  /**
   * True if the message has no MESSAGE-INTEGRITY (coturn signs its success responses, not its 401s), or
   * one that matches `key`.
   */
  integrityMatches(key: Uint8Array): boolean {
    const integrity = this.attributes.find((attribute) => attribute.type === ATTR_MESSAGE_INTEGRITY)
    if (integrity === undefined) return true
    if (integrity.value.byteLength !== INTEGRITY_VALUE_BYTES) return false
    const expected = integrityOf(this.bytes.subarray(0, integrity.offset), key)
    return timingSafeEqual(expected, integrity.value)
  }
}

/** Parses a STUN message; undefined for anything malformed or not STUN (a test wants answers, not noise). */
function decodeMessage(packet: Uint8Array): StunMessage | undefined {
  if (packet.byteLength < HEADER_BYTES) return undefined
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if ((type & TOP_TWO_BITS) !== 0 || view.getUint32(4) !== MAGIC_COOKIE) return undefined
  if (length % 4 !== 0 || length !== packet.byteLength - HEADER_BYTES) return undefined

  const attributes: RawAttribute[] = []
  let offset = HEADER_BYTES
  while (offset < packet.byteLength) {
    if (offset + ATTRIBUTE_HEADER_BYTES > packet.byteLength) return undefined
    const attributeType = view.getUint16(offset)
    const valueLength = view.getUint16(offset + 2)
    const valueOffset = offset + ATTRIBUTE_HEADER_BYTES
    if (valueOffset + valueLength > packet.byteLength) return undefined
    const value = packet.subarray(valueOffset, valueOffset + valueLength)
    if (attributeType === ATTR_FINGERPRINT) {
      if (valueLength !== 4 || view.getUint32(valueOffset) !== fingerprintOf(packet.subarray(0, offset))) {
        return undefined
      }
    }
    attributes.push({ type: attributeType, value, offset })
    offset = valueOffset + padded(valueLength)
  }
  const transactionId = packet.slice(TRANSACTION_ID_OFFSET, HEADER_BYTES)
  return new StunMessage(type, transactionId, attributes, packet)
}

/**
 * Encodes a message; with `integrityKey`, appends MESSAGE-INTEGRITY. FINGERPRINT always goes last, so
 * that coturn can tell our packets from other protocols' and reject a corrupted one outright.
 */
function encodeMessage(
  type: number,
  transactionId: Uint8Array,
  attributes: readonly Attribute[],
  integrityKey?: Uint8Array,
): Uint8Array {
  const parts: Uint8Array[] = []
  for (const [attributeType, value] of attributes) parts.push(encodeAttribute(attributeType, value))
  const body = concat(parts)
  const header = new Uint8Array(HEADER_BYTES)
  const headerView = new DataView(header.buffer)
  headerView.setUint16(0, type)
  headerView.setUint16(2, body.byteLength)
  headerView.setUint32(4, MAGIC_COOKIE)
  header.set(transactionId, TRANSACTION_ID_OFFSET)

  let message = concat([header, body])
  if (integrityKey !== undefined) {
    const integrity = integrityOf(message, integrityKey)
    message = concat([message, encodeAttribute(ATTR_MESSAGE_INTEGRITY, integrity)])
  }
  const fingerprint = new Uint8Array(4)
  new DataView(fingerprint.buffer).setUint32(0, fingerprintOf(message))
  message = concat([message, encodeAttribute(ATTR_FINGERPRINT, fingerprint)])
  new DataView(message.buffer).setUint16(2, message.byteLength - HEADER_BYTES)
  return message
}

/**
 * HMAC-SHA1 over everything before MESSAGE-INTEGRITY, with the header's length counting the
 * MESSAGE-INTEGRITY attribute itself but not what follows it (RFC 8489 §14.5).
 */
function integrityOf(before: Uint8Array, key: Uint8Array): Buffer {
  const copy = new Uint8Array(before) // a copy even of a Buffer, whose slice() would be a view
  new DataView(copy.buffer).setUint16(2, copy.byteLength - HEADER_BYTES + INTEGRITY_ATTRIBUTE_BYTES)
  return createHmac('sha1', key).update(copy).digest()
}

/** CRC-32 over everything before FINGERPRINT, the header's length counting FINGERPRINT (RFC 8489 §14.7). */
function fingerprintOf(before: Uint8Array): number {
  const copy = new Uint8Array(before)
  new DataView(copy.buffer).setUint16(2, copy.byteLength - HEADER_BYTES + FINGERPRINT_ATTRIBUTE_BYTES)
  return (crc32(copy) ^ FINGERPRINT_XOR) >>> 0
}

function encodeAttribute(type: number, value: Uint8Array): Uint8Array {
  const attribute = new Uint8Array(ATTRIBUTE_HEADER_BYTES + padded(value.byteLength))
  const view = new DataView(attribute.buffer)
  view.setUint16(0, type)
  view.setUint16(2, value.byteLength)
  attribute.set(value, ATTRIBUTE_HEADER_BYTES)
  return attribute
}

/**
 * XOR-PEER-ADDRESS for an IPv4 address (RFC 8489 §14.2), port 0 (permissions ignore it). Port and address
 * are XORed with the magic cookie so that NATs rewriting their address wherever it appears leave it alone;
 * for IPv4 the transaction id plays no part.
 */
function encodeXorAddress(address: string): Uint8Array {
  if (!isIPv4(address)) throw new TypeError(`not an IPv4 address: ${address}`)
  const value = new Uint8Array(XOR_ADDRESS_IPV4_BYTES)
  const view = new DataView(value.buffer)
  view.setUint8(1, FAMILY_IPV4)
  view.setUint16(2, MAGIC_COOKIE >>> 16) // port 0 XOR the cookie's top half
  const ip = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0)
  view.setUint32(4, (ip ^ MAGIC_COOKIE) >>> 0)
  return value
}

/** The IPv4 address in an XOR-*-ADDRESS value; undefined for another family or a malformed value. */
function decodeXorAddress(value: Uint8Array): TransportAddress | undefined {
  if (value.byteLength !== XOR_ADDRESS_IPV4_BYTES || value[1] !== FAMILY_IPV4) return undefined
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const port = view.getUint16(2) ^ (MAGIC_COOKIE >>> 16)
  const ip = (view.getUint32(4) ^ MAGIC_COOKIE) >>> 0
  return { address: [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.'), port }
}

/** The method's 12 bits with the two class bits interleaved at bits 4 and 8 (RFC 8489 §5). */
function messageType(method: number, messageClass: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | messageClass
}

function methodName(method: number): string {
  const names: Record<number, string> = {
    [METHOD_ALLOCATE]: 'Allocate',
    [METHOD_REFRESH]: 'Refresh',
    [METHOD_CREATE_PERMISSION]: 'CreatePermission',
  }
  return names[method] ?? `method 0x${method.toString(16)}`
}

function padded(length: number): number {
  return Math.ceil(length / 4) * 4
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0)
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
