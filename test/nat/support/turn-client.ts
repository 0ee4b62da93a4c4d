/**
 * A minimal TURN client over UDP (RFC 5766, RFC 8656) for tests: enough to allocate a relay on a real
 * coturn and ask it for permissions, so a test can prove which peer addresses the server refuses to relay
 * to. libwebrtc cannot answer that question: it never shows a CreatePermission's error code.
 *
 * Scope: UDP transport, long-term credentials (RFC 8489 §9.2, MD5 key, HMAC-SHA1 MESSAGE-INTEGRITY),
 * Allocate, CreatePermission, Send/Data indications and Refresh to release. No ChannelBind, no TCP/TLS,
 * no automatic refreshing: an allocation lives 10 minutes and a permission 5, longer than any test.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
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
  /** Address to bind the client socket to; by default the wildcard of the server's family. */
  localAddress?: string
  /** How long one transaction (with its retransmissions) may take before it fails; default 5000 ms. */
  timeoutMs?: number
  /**
   * The relayed address's family. Without it the server relays over IPv4 whatever the client's own
   * family (RFC 8656 §7.2), so coturn listening and relaying only on `::1` answers 440.
   */
  relayFamily?: 'IPv4' | 'IPv6'
}

export interface TransportAddress {
  address: string
  port: number
}

/** A peer to permit: TURN permissions are per IP address, so the port is optional (RFC 8656 §9). */
export interface PeerAddress {
  address: string
  port?: number
}

export type PermissionResult = { ok: true } | { ok: false; code: number; reason: string }

export type DataListener = (data: Uint8Array, peer: TransportAddress) => void

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
const CLASS_INDICATION = 0x0010
const CLASS_SUCCESS = 0x0100
const CLASS_MASK = 0x0110 // both class bits set: also the error response class

// Methods (RFC 8656 §17).
const METHOD_ALLOCATE = 0x003
const METHOD_REFRESH = 0x004
const METHOD_SEND = 0x006
const METHOD_DATA = 0x007
const METHOD_CREATE_PERMISSION = 0x008

// Attributes (RFC 8489 §18.3, RFC 8656 §18).
const ATTR_USERNAME = 0x0006
const ATTR_MESSAGE_INTEGRITY = 0x0008
const ATTR_ERROR_CODE = 0x0009
const ATTR_LIFETIME = 0x000d
const ATTR_XOR_PEER_ADDRESS = 0x0012
const ATTR_DATA = 0x0013
const ATTR_REALM = 0x0014
const ATTR_NONCE = 0x0015
const ATTR_XOR_RELAYED_ADDRESS = 0x0016
const ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017
const ATTR_REQUESTED_TRANSPORT = 0x0019
const ATTR_XOR_MAPPED_ADDRESS = 0x0020
const ATTR_FINGERPRINT = 0x8028

/** REQUESTED-TRANSPORT carries an IANA protocol number; TURN over this client relays UDP only. */
const PROTOCOL_UDP = 17
/** Refresh with LIFETIME 0 deletes the allocation at once instead of leaving it to expire (RFC 8656 §7). */
const RELEASE_LIFETIME_S = 0

const FAMILY_IPV4 = 0x01
const FAMILY_IPV6 = 0x02
const IPV4_BYTES = 4
const IPV6_BYTES = 16
const IPV6_WORDS = 8

const ERROR_UNAUTHORIZED = 401
const ERROR_ALLOCATION_MISMATCH = 437
const ERROR_STALE_NONCE = 438

/** RFC 8489 §14.8: the class is the hundreds digit (3 bits), the number the rest (0–99). */
const ERROR_CLASS_MASK = 0x07
const ERROR_CODE_HEADER_BYTES = 4

export class TurnClient {
  /** The address and port coturn relays from: what peers see. */
  readonly relayedAddress: TransportAddress
  /** This client's address as the server saw it (XOR-MAPPED-ADDRESS), if it sent one. */
  readonly mappedAddress: TransportAddress | undefined
  /** The allocation's lifetime in seconds as granted, if the server said. */
  readonly lifetimeSeconds: number | undefined

  readonly #session: Session
  #closing: Promise<void> | undefined

  private constructor(session: Session, allocation: StunMessage) {
    this.#session = session
    const relayed = allocation.addressOf(ATTR_XOR_RELAYED_ADDRESS)
    if (relayed === undefined) throw new Error('Allocate success response has no XOR-RELAYED-ADDRESS')
    this.relayedAddress = relayed
    this.mappedAddress = allocation.addressOf(ATTR_XOR_MAPPED_ADDRESS)
    this.lifetimeSeconds = allocation.uint32Of(ATTR_LIFETIME)
  }

  /**
   * Allocates a UDP relay. The first Allocate goes without credentials, as RFC 8656 §7.2 has it, to learn
   * the realm and nonce from the 401; the second carries them. Rejects with a TurnError if the server
   * refuses (e.g. 401 for a bad or expired credential) and a TurnTimeoutError if it never answers.
   */
  static async allocate(options: TurnClientOptions): Promise<TurnClient> {
    const session = await Session.open(options)
    try {
      const attributes: AttributeSpec[] = [
        [ATTR_REQUESTED_TRANSPORT, new Uint8Array([PROTOCOL_UDP, 0, 0, 0])], // three RFFU bytes follow
      ]
      if (options.relayFamily !== undefined) {
        const family = options.relayFamily === 'IPv6' ? FAMILY_IPV6 : FAMILY_IPV4
        attributes.push([ATTR_REQUESTED_ADDRESS_FAMILY, new Uint8Array([family, 0, 0, 0])])
      }
      const response = await session.request(METHOD_ALLOCATE, attributes)
      return new TurnClient(session, response)
    } catch (error) {
      session.close()
      throw error
    }
  }

  /**
   * Asks the server to accept traffic from and relay to `peer`'s IP. Resolves with the server's refusal
   * rather than rejecting, since a refusal (403 for a peer coturn's policy forbids) is what tests look
   * for; rejects only when there is no verdict (timeout, closed client).
   */
  async createPermission(peer: PeerAddress): Promise<PermissionResult> {
    const peerAddress = { address: peer.address, port: peer.port ?? 0 }
    try {
      await this.#session.request(METHOD_CREATE_PERMISSION, [
        [ATTR_XOR_PEER_ADDRESS, (transactionId) => encodeXorAddress(peerAddress, transactionId)],
      ])
      return { ok: true }
    } catch (error) {
      if (error instanceof TurnError) return { ok: false, code: error.code, reason: error.reason }
      throw error
    }
  }

  /**
   * Sends `data` to `peer` through the relay in a Send indication. Fire and forget: indications get no
   * answer, and coturn silently drops data for a peer without a permission.
   */
  send(peer: TransportAddress, data: Uint8Array): void {
    this.#session.indicate(METHOD_SEND, [
      [ATTR_XOR_PEER_ADDRESS, (transactionId) => encodeXorAddress(peer, transactionId)],
      [ATTR_DATA, data],
    ])
  }

  /** Calls `listener` for every Data indication (a peer's datagram relayed to us). Returns an unsubscribe. */
  onData(listener: DataListener): () => void {
    return this.#session.onData(listener)
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

/** An attribute value, or a function of the transaction id for the XOR-encoded address attributes. */
type AttributeValue = Uint8Array | ((transactionId: Uint8Array) => Uint8Array)
type AttributeSpec = readonly [type: number, value: AttributeValue]

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
  readonly #dataListeners = new Set<DataListener>()
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
      socket.bind({ port: 0, address: options.localAddress }, () => {
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
  async request(method: number, attributes: readonly AttributeSpec[]): Promise<StunMessage> {
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

  indicate(method: number, attributes: readonly AttributeSpec[]): void {
    if (this.#closed) throw new Error('TURN client is closed')
    const transactionId = randomBytes(TRANSACTION_ID_BYTES)
    // Indications are never authenticated (RFC 8656 §10.1): the server matches them to the 5-tuple.
    const packet = encodeMessage(
      messageType(method, CLASS_INDICATION),
      transactionId,
      resolveAttributes(attributes, transactionId),
    )
    this.#socket.send(packet, this.#server.port, this.#server.host)
  }

  onData(listener: DataListener): () => void {
    this.#dataListeners.add(listener)
    return () => this.#dataListeners.delete(listener)
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
  #transact(method: number, attributes: readonly AttributeSpec[]): Promise<StunMessage> {
    if (this.#closed) return Promise.reject(new Error('TURN client is closed'))
    const transactionId = randomBytes(TRANSACTION_ID_BYTES)
    const all = [...resolveAttributes(attributes, transactionId), ...this.#credentialAttributes()]
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

  #credentialAttributes(): [number, Uint8Array][] {
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
    if (message === undefined) return
    if (message.messageClass === CLASS_INDICATION) {
      if (message.method === METHOD_DATA) this.#deliverData(message)
      return
    }
    if (message.messageClass === CLASS_REQUEST) return
    const pending = this.#pending.get(hex(message.transactionId))
    if (pending === undefined) return // a late answer to a retransmission, or not ours
    // RFC 8489 §9.2.5: a response whose integrity does not check is discarded as if never received.
    if (this.#key !== undefined && !message.integrityMatches(this.#key)) {
      this.#forgedResponses++
      return
    }
    pending.resolve(message)
  }

  #deliverData(message: StunMessage): void {
    const peer = message.addressOf(ATTR_XOR_PEER_ADDRESS)
    const data = message.attribute(ATTR_DATA)
    if (peer === undefined || data === undefined) return
    for (const listener of this.#dataListeners) listener(data.slice(), peer)
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

  /** The method with the class bits squeezed out (RFC 8489 §5 interleaves them). */
  get method(): number {
    const type = this.type
    return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2)
  }

  /** The first attribute of `type`: RFC 8489 §14 says later duplicates are to be ignored. */
  attribute(type: number): Uint8Array | undefined {
    return this.attributes.find((attribute) => attribute.type === type)?.value
  }

  uint32Of(type: number): number | undefined {
    const value = this.attribute(type)
    if (value === undefined || value.byteLength !== 4) return undefined
    return new DataView(value.buffer, value.byteOffset, 4).getUint32(0)
  }

  addressOf(type: number): TransportAddress | undefined {
    const value = this.attribute(type)
    return value === undefined ? undefined : decodeXorAddress(value, this.transactionId)
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
  attributes: readonly (readonly [number, Uint8Array])[],
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
 * XOR-*-ADDRESS (RFC 8489 §14.2): port XOR the cookie's top half, address XOR the cookie (and for IPv6
 * the transaction id too), so that NATs rewriting their address wherever it appears leave it alone.
 * @throws TypeError if `address` is not an IP literal: that is a test's mistake, not the network's.
 */
function encodeXorAddress(peer: TransportAddress, transactionId: Uint8Array): Uint8Array {
  const bytes = ipBytes(peer.address)
  if (bytes === undefined) throw new TypeError(`not an IP address: ${peer.address}`)
  if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) {
    throw new TypeError(`bad port ${peer.port}`)
  }
  const mask = xorMask(transactionId)
  const value = new Uint8Array(4 + bytes.byteLength)
  const view = new DataView(value.buffer)
  view.setUint8(1, bytes.byteLength === IPV4_BYTES ? FAMILY_IPV4 : FAMILY_IPV6)
  view.setUint16(2, peer.port ^ (MAGIC_COOKIE >>> 16))
  for (const [i, byte] of bytes.entries()) value[4 + i] = byte ^ mask[i]!
  return value
}

function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress | undefined {
  if (value.byteLength < 4) return undefined
  const family = value[1]
  const size = family === FAMILY_IPV4 ? IPV4_BYTES : family === FAMILY_IPV6 ? IPV6_BYTES : undefined
  if (size === undefined || value.byteLength !== 4 + size) return undefined
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const port = view.getUint16(2) ^ (MAGIC_COOKIE >>> 16)
  const mask = xorMask(transactionId)
  const bytes = value.subarray(4).map((byte, i) => byte ^ mask[i]!)
  if (size === IPV4_BYTES) return { address: bytes.join('.'), port }
  const bytesView = new DataView(bytes.buffer)
  const words = Array.from({ length: IPV6_WORDS }, (_, i) => bytesView.getUint16(i * 2).toString(16))
  return { address: compressIpv6(words), port }
}

function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(4 + TRANSACTION_ID_BYTES)
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE)
  mask.set(transactionId, 4)
  return mask
}

function ipBytes(address: string): Uint8Array | undefined {
  const family = isIP(address)
  if (family === 4) return Uint8Array.from(address.split('.').map(Number))
  if (family !== 6) return undefined
  const plain = address.split('%')[0] ?? address
  // An embedded dotted quad (::ffff:1.2.3.4) is two words written the IPv4 way.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(plain)
  let text = plain
  if (dotted?.[1] !== undefined && dotted[2] !== undefined) {
    const [a, b, c, d] = dotted[2].split('.').map(Number) as [number, number, number, number]
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const headWords = head === '' ? [] : head.split(':')
  const tailWords = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = Array.from({ length: IPV6_WORDS - headWords.length - tailWords.length }, () => '0')
  const words = tail === undefined ? headWords : [...headWords, ...zeros, ...tailWords]
  const bytes = new Uint8Array(IPV6_BYTES)
  const view = new DataView(bytes.buffer)
  for (const [i, word] of words.entries()) view.setUint16(i * 2, Number.parseInt(word, 16))
  return bytes
}

/** RFC 5952 text: the longest run (of two or more) of zero words becomes `::`, the first if tied. */
function compressIpv6(words: string[]): string {
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < words.length; ) {
    if (words[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < words.length && words[j] === '0') j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  if (bestStart < 0) return words.join(':')
  const head = words.slice(0, bestStart).join(':')
  const tail = words.slice(bestStart + bestLength).join(':')
  return `${head}::${tail}`
}

/** The method's 12 bits with the two class bits interleaved at bits 4 and 8 (RFC 8489 §5). */
function messageType(method: number, messageClass: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | messageClass
}

function resolveAttributes(
  attributes: readonly AttributeSpec[],
  transactionId: Uint8Array,
): [number, Uint8Array][] {
  return attributes.map(([type, value]) => [type, typeof value === 'function' ? value(transactionId) : value])
}

function methodName(method: number): string {
  const names: Record<number, string> = {
    [METHOD_ALLOCATE]: 'Allocate',
    [METHOD_REFRESH]: 'Refresh',
    [METHOD_SEND]: 'Send',
    [METHOD_DATA]: 'Data',
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
