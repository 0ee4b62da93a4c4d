import { createHmac, randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { createRequire } from 'node:module'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLogger, silentLogger } from '../../signal/logger.js'
import {
  answerStunPacket,
  encodeBindingSuccess,
  encodeUnknownAttributeError,
  MAX_STUN_ATTRIBUTES,
  parseStunBindingRequest,
  reflexiveAddressOf,
  type StunLimits,
  type StunMappedAddress,
  type StunServer,
  startStunServer,
} from '../../signal/stun.js'
import { until } from '../support/until.js'

// The `stun` package (nodertc, CommonJS, untyped) is the independent client: only what we call is typed.
interface StunLibAddress {
  address: string
  port: number
  family: string
}
interface StunLibResponse {
  readonly transactionId: Buffer
  getXorAddress(): StunLibAddress | undefined
  getAddress(): StunLibAddress | undefined
  getSoftware(): string | undefined
}
interface StunLibServer {
  send(message: StunLibMessage, port: number, address: string): boolean
  once(event: 'bindingResponse', listener: (response: StunLibResponse) => void): void
  close(): void
}
interface StunLibMessage {
  readonly transactionId: Buffer
}
interface StunLib {
  request(
    url: string,
    options: { socket?: Socket; timeout?: number; retries?: number },
  ): Promise<StunLibResponse>
  createServer(options: { type: 'udp4' | 'udp6'; socket: Socket }): StunLibServer
  createMessage(type: number): StunLibMessage
  validateFingerprint(message: StunLibResponse): boolean
  constants: { STUN_BINDING_REQUEST: number }
}
const stun = createRequire(import.meta.url)('stun') as StunLib

// --- Wire facts, written out here rather than imported, so the tests do not check the code with itself.
const MAGIC_COOKIE = 0x2112a442
const FINGERPRINT_XOR = 0x5354554e
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const BINDING_ERROR = 0x0111
const ATTR = {
  mappedAddress: 0x0001,
  responseAddress: 0x0002,
  changeRequest: 0x0003,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  xorMappedAddress: 0x0020,
  priority: 0x0024,
  useCandidate: 0x0025,
  software: 0x8022,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

/** RFC 5769 §2.1 "Sample Request", byte for byte. Software "STUN test client", username "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt". */
const RFC5769_REQUEST = hex(`
  00 01 00 58  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 10  53 54 55 4e  20 74 65 73  74 20 63 6c  69 65 6e 74
  00 24 00 04  6e 00 01 ff
  80 29 00 08  93 2f f9 b1  51 26 3b 36
  00 06 00 09  65 76 74 6a  3a 68 36 76  59 20 20 20
  00 08 00 14  9a ea a7 0c  bf d8 cb 56  78 1e f2 b5  b2 d3 f2 49  c1 b5 71 a2
  80 28 00 04  e5 7a 3b cf
`)
const RFC5769_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt'
const RFC5769_TRANSACTION_ID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae')
/** RFC 5769 §2.2 and §2.3: the mapped address 192.0.2.1 / 2001:db8:1234:5678:11:2233:4455:6677, port 32853. */
const RFC5769_XOR_MAPPED_IPV4 = hex('00 01 a1 47  e1 12 a6 43')
const RFC5769_XOR_MAPPED_IPV6 = hex('00 02 a1 47  01 13 a9 fa  a5 d3 f1 79  bc 25 f4 b5  be d2 b9 d9')

/** A client's SOFTWARE attribute (comprehension-optional): what makes a request big enough for a 420. */
const CLIENT_SOFTWARE = [0x8022, new TextEncoder().encode('an RFC 5389 test client, version 1.0')] as const
/** Rate limits out of the way, for tests about the content of datagrams. */
const UNLIMITED: Partial<StunLimits> = { perSecond: 1e9, burst: 1e9 }

const SOURCE_V4: StunMappedAddress = { address: '192.0.2.1', port: 32853, family: 'IPv4' }

// --- An independent reader of STUN messages -----------------------------------------------------

interface Attribute {
  type: number
  value: Uint8Array
}
interface Message {
  type: number
  transactionId: Uint8Array
  attributes: Attribute[]
}

/** Reads a STUN message and checks everything RFC 5389 asks of one we send; throws saying what is wrong. */
function readWellFormed(bytes: Uint8Array): Message {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 20) throw new Error('shorter than a header')
  const type = view.getUint16(0)
  if (type & 0xc000) throw new Error('top bits set')
  if (view.getUint32(4) !== MAGIC_COOKIE) throw new Error('bad cookie')
  if (view.getUint16(2) !== bytes.byteLength - 20 || view.getUint16(2) % 4 !== 0)
    throw new Error('bad length')
  const attributes: Attribute[] = []
  let offset = 20
  while (offset < bytes.byteLength) {
    const attributeType = view.getUint16(offset)
    const length = view.getUint16(offset + 2)
    const end = offset + 4 + length
    if (end > bytes.byteLength) throw new Error('attribute runs past the end')
    const padding = bytes.subarray(end, (end + 3) & ~3)
    if (padding.some((byte) => byte !== 0)) throw new Error('non-zero padding')
    attributes.push({ type: attributeType, value: bytes.subarray(offset + 4, end) })
    if (attributeType === ATTR.fingerprint) {
      if (length !== 4) throw new Error('fingerprint size')
      if ((crc32(bytes.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0 !== view.getUint32(offset + 4)) {
        throw new Error('fingerprint does not verify')
      }
      if (end !== bytes.byteLength) throw new Error('fingerprint is not last')
    }
    offset = (end + 3) & ~3
  }
  if (attributes.at(-1)?.type !== ATTR.fingerprint) throw new Error('no fingerprint')
  return { type, transactionId: bytes.slice(8, 20), attributes }
}

function attribute(message: Message, type: number): Uint8Array {
  const found = message.attributes.find((a) => a.type === type)
  if (!found) throw new Error(`no attribute 0x${type.toString(16)}`)
  return found.value
}

/** Decodes (XOR-)MAPPED-ADDRESS into a textual address, canonicalised the WHATWG way for IPv6. */
function decodeAddress(value: Uint8Array, transactionId: Uint8Array, xored: boolean): StunMappedAddress {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const family = view.getUint8(1)
  const mask = xored ? Uint8Array.from([0x21, 0x12, 0xa4, 0x42, ...transactionId]) : new Uint8Array(16)
  const port = view.getUint16(2) ^ (xored ? 0x2112 : 0)
  const raw = value.subarray(4).map((byte, i) => byte ^ mask[i]!)
  if (family === 0x01 && raw.byteLength === 4) return { address: raw.join('.'), port, family: 'IPv4' }
  if (family === 0x02 && raw.byteLength === 16) {
    const groups = Array.from({ length: 8 }, (_, i) => ((raw[i * 2]! << 8) | raw[i * 2 + 1]!).toString(16))
    return { address: canonicalIPv6(groups.join(':')), port, family: 'IPv6' }
  }
  throw new Error(`bad address attribute family ${family} length ${raw.byteLength}`)
}

const canonicalIPv6 = (address: string): string => new URL(`http://[${address}]/`).hostname.slice(1, -1)

/** Builds a request the way a client would, FINGERPRINT computed with zlib's CRC-32. */
function buildRequest(options: {
  transactionId?: Uint8Array
  type?: number
  attributes?: ReadonlyArray<readonly [number, Uint8Array]>
  fingerprint?: boolean
}): Uint8Array {
  const transactionId = options.transactionId ?? Uint8Array.from(randomBytes(12))
  const parts: number[] = []
  for (const [type, value] of options.attributes ?? []) {
    parts.push(type >> 8, type & 0xff, value.byteLength >> 8, value.byteLength & 0xff, ...value)
    while (parts.length % 4 !== 0) parts.push(0)
  }
  const fingerprintBytes = options.fingerprint ? 8 : 0
  const message = new Uint8Array(20 + parts.length + fingerprintBytes)
  const view = new DataView(message.buffer)
  view.setUint16(0, options.type ?? BINDING_REQUEST)
  view.setUint16(2, parts.length + fingerprintBytes)
  view.setUint32(4, MAGIC_COOKIE)
  message.set(transactionId, 8)
  message.set(parts, 20)
  if (options.fingerprint) {
    const at = 20 + parts.length
    view.setUint16(at, ATTR.fingerprint)
    view.setUint16(at + 2, 4)
    view.setUint32(at + 4, (crc32(message.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0)
  }
  return message
}

/** A Binding request header with `body` (cut to a multiple of 4) as its attributes, whatever they hold. */
function withRawBody(transactionId: Uint8Array, body: Uint8Array): Uint8Array {
  const trimmed = body.subarray(0, body.byteLength & ~3)
  const message = new Uint8Array(20 + trimmed.byteLength)
  message.set(buildRequest({ transactionId }))
  new DataView(message.buffer).setUint16(2, trimmed.byteLength)
  message.set(trimmed, 20)
  return message
}

const u32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, value)
  return bytes
}

function expectSuccessFor(reply: Uint8Array, transactionId: Uint8Array, source: StunMappedAddress): Message {
  const message = readWellFormed(reply)
  expect(message.type).toBe(BINDING_SUCCESS)
  expect(message.transactionId).toEqual(transactionId)
  expect(decodeAddress(attribute(message, ATTR.xorMappedAddress), transactionId, true)).toEqual(source)
  expect(decodeAddress(attribute(message, ATTR.mappedAddress), transactionId, false)).toEqual(source)
  expect(new TextDecoder().decode(attribute(message, ATTR.software))).toBe('swarmdrop')
  return message
}

function expectUnknownAttributeError(reply: Uint8Array, transactionId: Uint8Array, unknown: number[]): void {
  const message = readWellFormed(reply)
  expect(message.type).toBe(BINDING_ERROR)
  expect(message.transactionId).toEqual(transactionId)
  const errorCode = attribute(message, ATTR.errorCode)
  expect(errorCode[2]! * 100 + errorCode[3]!).toBe(420)
  const list = attribute(message, ATTR.unknownAttributes)
  const listed = Array.from({ length: list.byteLength / 2 }, (_, i) => (list[i * 2]! << 8) | list[i * 2 + 1]!)
  expect(listed).toEqual(unknown)
}

// --- Codec --------------------------------------------------------------------------------------

describe('STUN codec', () => {
  it('reads the RFC 5769 sample request, whose fingerprint and integrity we typed in correctly', () => {
    // The vector's own MESSAGE-INTEGRITY proves the transcription (HMAC over the message up to it).
    const integrityAt = RFC5769_REQUEST.byteLength - 8 - 24
    const signed = RFC5769_REQUEST.slice(0, integrityAt)
    new DataView(signed.buffer).setUint16(2, integrityAt + 24 - 20)
    const hmac = createHmac('sha1', RFC5769_PASSWORD).update(signed).digest()
    expect(Uint8Array.from(hmac)).toEqual(RFC5769_REQUEST.slice(integrityAt + 4, integrityAt + 24))

    const parsed = parseStunBindingRequest(RFC5769_REQUEST)
    expect(parsed).toEqual({
      ok: true,
      transactionId: RFC5769_TRANSACTION_ID,
      unknownAttributes: [],
      hasFingerprint: true,
    })
  })

  it('answers the RFC 5769 sample request with a success whose fingerprint verifies and whose address decodes back', () => {
    const answer = answerStunPacket(RFC5769_REQUEST, SOURCE_V4)
    expect(answer.ok && answer.kind).toBe('success')
    if (!answer.ok) return
    const message = expectSuccessFor(answer.reply, RFC5769_TRANSACTION_ID, SOURCE_V4)
    expect(message.attributes.map((a) => a.type)).toEqual([
      ATTR.xorMappedAddress,
      ATTR.mappedAddress,
      ATTR.software,
      ATTR.fingerprint,
    ])
  })

  it('encodes XOR-MAPPED-ADDRESS exactly as the RFC 5769 sample responses do, for IPv4 and IPv6', () => {
    const v4 = readWellFormed(encodeBindingSuccess({ transactionId: RFC5769_TRANSACTION_ID, ...SOURCE_V4 }))
    expect(attribute(v4, ATTR.xorMappedAddress)).toEqual(RFC5769_XOR_MAPPED_IPV4)

    const source6: StunMappedAddress = {
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
      family: 'IPv6',
    }
    const v6 = readWellFormed(encodeBindingSuccess({ transactionId: RFC5769_TRANSACTION_ID, ...source6 }))
    expect(attribute(v6, ATTR.xorMappedAddress)).toEqual(RFC5769_XOR_MAPPED_IPV6)
    expect(decodeAddress(attribute(v6, ATTR.mappedAddress), RFC5769_TRANSACTION_ID, false)).toEqual(source6)
  })

  it.each([
    '::',
    '::1',
    'fe80::1',
    '2001:db8::',
    '1:2:3:4:5:6:7:8',
    '::ffff:192.0.2.1',
    '64:ff9b::198.51.100.7',
  ])('round-trips the IPv6 address %s', (address) => {
    const transactionId = Uint8Array.from(randomBytes(12))
    const source: StunMappedAddress = { address, port: 1, family: 'IPv6' }
    expectSuccessFor(encodeBindingSuccess({ transactionId, ...source }), transactionId, {
      ...source,
      address: canonicalIPv6(address),
    })
  })

  it('accepts what browsers and ICE agents put in a Binding request', () => {
    const request = buildRequest({
      attributes: [
        [ATTR.username, new TextEncoder().encode('abcd:efgh')],
        [ATTR.priority, u32(0x6e0001ff)],
        [ATTR.useCandidate, new Uint8Array(0)],
        [ATTR.iceControlling, new Uint8Array(8)],
        [ATTR.iceControlled, new Uint8Array(8)],
        [ATTR.software, new TextEncoder().encode('Chromium')],
        [0xc057, new Uint8Array(4)], // Chrome's GOOG-NETWORK-INFO: comprehension-optional
        [ATTR.messageIntegrity, new Uint8Array(20)],
      ],
      fingerprint: true,
    })
    const answer = answerStunPacket(request, SOURCE_V4)
    expect(answer.ok && answer.kind).toBe('success')
  })

  it('accepts a request with no attributes at all and one without FINGERPRINT', () => {
    const bare = buildRequest({})
    expect(parseStunBindingRequest(bare)).toMatchObject({
      ok: true,
      hasFingerprint: false,
      unknownAttributes: [],
    })
    const answer = answerStunPacket(bare, SOURCE_V4)
    expect(answer.ok).toBe(true)
    if (answer.ok) expectSuccessFor(answer.reply, bare.slice(8, 20), SOURCE_V4)
  })

  it('reads a request that sits at an offset inside a larger buffer', () => {
    const request = buildRequest({ fingerprint: true })
    const pool = Buffer.alloc(request.byteLength + 13)
    pool.set(request, 13)
    expect(parseStunBindingRequest(pool.subarray(13))).toMatchObject({ ok: true, hasFingerprint: true })
  })

  it('answers an unknown comprehension-required attribute with 420 listing each such attribute once', () => {
    const transactionId = Uint8Array.from(randomBytes(12))
    const request = buildRequest({
      transactionId,
      attributes: [
        [0x0777, new Uint8Array(3)],
        [0xc0de, new Uint8Array(4)], // unknown but comprehension-optional: ignored
        [ATTR.responseAddress, hex('00 01 00 50 c0 00 02 01')], // RFC 3489: reply elsewhere — never honoured
        [0x0777, new Uint8Array(0)],
        CLIENT_SOFTWARE,
      ],
      fingerprint: true,
    })
    const answer = answerStunPacket(request, SOURCE_V4)
    expect(answer.ok && answer.kind).toBe('unknown-attribute')
    if (answer.ok) expectUnknownAttributeError(answer.reply, transactionId, [0x0777, ATTR.responseAddress])
  })

  it('never answers an unknown attribute with more bytes than the request: lists what fits, or stays silent', () => {
    // 28 bytes: no 420 (at least 64 bytes) fits, so no reply at all rather than an amplified one.
    const bare = buildRequest({ attributes: [[0x0777, new Uint8Array(4)]] })
    expect(answerStunPacket(bare, SOURCE_V4)).toEqual({ ok: false, reason: 'error-larger-than-request' })

    // Sixteen unknown types in an 84-byte request: a 420 listing all would be 92 bytes, so it lists twelve.
    const transactionId = Uint8Array.from(randomBytes(12))
    const types = Array.from({ length: 16 }, (_, i) => 0x0700 + i)
    const many = buildRequest({ transactionId, attributes: types.map((type) => [type, new Uint8Array(0)]) })
    expect(many.byteLength).toBe(84)
    const answer = answerStunPacket(many, SOURCE_V4)
    expect(answer.ok && answer.reply.byteLength).toBe(84)
    if (answer.ok) expectUnknownAttributeError(answer.reply, transactionId, types.slice(0, 12))
  })

  it(`reads at most ${MAX_STUN_ATTRIBUTES} attributes, and drops a request with more unanswered`, () => {
    const unknown = (count: number) =>
      Array.from({ length: count }, (_, i) => [0x0700 + i, new Uint8Array(0)] as const)
    const atCap = buildRequest({ attributes: unknown(MAX_STUN_ATTRIBUTES) })
    expect(answerStunPacket(atCap, SOURCE_V4)).toMatchObject({ ok: true, kind: 'unknown-attribute' })
    // The attack of issue 17: one 64 KB datagram with 16,000 unknown attributes got a 32 KB reply.
    const flood = buildRequest({ attributes: unknown(16_000) })
    expect(flood.byteLength).toBe(64_020)
    expect(answerStunPacket(flood, SOURCE_V4)).toEqual({ ok: false, reason: 'too-many-attributes' })
    // The walk stops at the cap: a malformed attribute after it is never reached.
    const broken = buildRequest({ attributes: unknown(MAX_STUN_ATTRIBUTES + 1) })
    const truncated = withRawBody(
      broken.slice(8, 20),
      Uint8Array.from([...broken.subarray(20), 0x07, 0x77, 0, 99]),
    )
    expect(parseStunBindingRequest(truncated)).toEqual({ ok: false, reason: 'too-many-attributes' })
  })

  it('honours CHANGE-REQUEST asking for no change, and answers 420 when it asks for another address or port', () => {
    const noChange = buildRequest({ attributes: [[ATTR.changeRequest, u32(0)]] })
    expect(answerStunPacket(noChange, SOURCE_V4)).toMatchObject({ ok: true, kind: 'success' })

    const transactionId = Uint8Array.from(randomBytes(12))
    const changePort = buildRequest({
      transactionId,
      attributes: [[ATTR.changeRequest, u32(0x02)], CLIENT_SOFTWARE],
    })
    const answer = answerStunPacket(changePort, SOURCE_V4)
    expect(answer.ok && answer.kind).toBe('unknown-attribute')
    if (answer.ok) expectUnknownAttributeError(answer.reply, transactionId, [ATTR.changeRequest])
  })

  it('ignores attributes after MESSAGE-INTEGRITY, known or not, except FINGERPRINT', () => {
    const request = buildRequest({
      attributes: [
        [ATTR.messageIntegrity, new Uint8Array(20)],
        [0x0777, new Uint8Array(4)],
      ],
      fingerprint: true,
    })
    expect(answerStunPacket(request, SOURCE_V4)).toMatchObject({ ok: true, kind: 'success' })
  })

  it('encodes a 420 that is itself a well-formed message', () => {
    const transactionId = Uint8Array.from(randomBytes(12))
    const reply = encodeUnknownAttributeError({ transactionId, unknownAttributes: [0x0002, 0x0003, 0x7fff] })
    expectUnknownAttributeError(reply, transactionId, [0x0002, 0x0003, 0x7fff])
  })

  describe('gives no reply to', () => {
    const valid = buildRequest({ attributes: [[ATTR.priority, u32(1)]], fingerprint: true })
    const withBytes = (edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array => {
      const bytes = valid.slice()
      edit(bytes, new DataView(bytes.buffer))
      return bytes
    }
    const cases: Array<[string, Uint8Array, string]> = [
      ['an empty datagram', new Uint8Array(0), 'too-short'],
      ['a truncated header', valid.slice(0, 19), 'too-short'],
      ['a bad magic cookie', withBytes((_, v) => v.setUint32(4, 0x2112a443)), 'not-stun'],
      ['an RFC 3489 request (no cookie)', withBytes((_, v) => v.setUint32(4, 0x12345678)), 'not-stun'],
      ['a message with the top bits set', withBytes((b) => (b[0] = 0x40)), 'not-stun'],
      ['a length not a multiple of 4', withBytes((_, v) => v.setUint16(2, v.getUint16(2) - 2)), 'bad-length'],
      [
        'a length longer than the datagram',
        withBytes((_, v) => v.setUint16(2, v.getUint16(2) + 4)),
        'bad-length',
      ],
      ['a truncated datagram', valid.slice(0, valid.byteLength - 4), 'bad-length'],
      ['trailing bytes', Uint8Array.from([...valid, 0, 0, 0, 0]), 'bad-length'],
      ['a Binding indication', buildRequest({ type: 0x0011 }), 'not-binding-request'],
      ['a Binding success response', buildRequest({ type: BINDING_SUCCESS }), 'not-binding-request'],
      ['a Binding error response', buildRequest({ type: BINDING_ERROR }), 'not-binding-request'],
      ['a TURN Allocate request', buildRequest({ type: 0x0003 }), 'not-binding-request'],
      [
        'an attribute running past the end',
        buildRequest({ attributes: [[ATTR.priority, u32(1)]], fingerprint: false }).map((byte, i) =>
          i === 23 ? 0x09 : byte,
        ),
        'malformed-attribute',
      ],
      ['a wrong fingerprint', withBytes((b) => (b[b.byteLength - 1]! ^= 0x01)), 'bad-fingerprint'],
      [
        'a request whose body changed under its fingerprint',
        withBytes((b) => (b[27]! ^= 0x80)),
        'bad-fingerprint',
      ],
      [
        'a FINGERPRINT of the wrong size',
        buildRequest({ attributes: [[ATTR.fingerprint, new Uint8Array(8)]] }),
        'malformed-attribute',
      ],
      ['a sample request with a flipped byte in USERNAME', flip(RFC5769_REQUEST, 64), 'bad-fingerprint'],
    ]
    it.each(cases)('%s', (_, packet, reason) => {
      expect(parseStunBindingRequest(packet)).toEqual({ ok: false, reason })
      expect(answerStunPacket(packet, SOURCE_V4)).toEqual({ ok: false, reason })
    })

    it('a request with an attribute after a valid FINGERPRINT', () => {
      // Rebuild the FINGERPRINT for the longer length so only its position is wrong.
      const body = buildRequest({ attributes: [[ATTR.priority, u32(1)]] })
      const total = body.byteLength + 8 + 4
      const message = new Uint8Array(total)
      message.set(body)
      const view = new DataView(message.buffer)
      view.setUint16(2, total - 20)
      view.setUint16(body.byteLength, ATTR.fingerprint)
      view.setUint16(body.byteLength + 2, 4)
      view.setUint32(
        body.byteLength + 4,
        (crc32(message.subarray(0, body.byteLength)) ^ FINGERPRINT_XOR) >>> 0,
      )
      view.setUint16(body.byteLength + 8, ATTR.software)
      expect(parseStunBindingRequest(message)).toEqual({ ok: false, reason: 'malformed-attribute' })
    })
  })

  it('refuses to encode with a transaction id of the wrong size or an address of the wrong family', () => {
    expect(() => encodeBindingSuccess({ transactionId: new Uint8Array(11), ...SOURCE_V4 })).toThrow(TypeError)
    expect(() =>
      encodeBindingSuccess({ transactionId: new Uint8Array(12), address: '::1', port: 1, family: 'IPv4' }),
    ).toThrow(TypeError)
    expect(() =>
      encodeBindingSuccess({
        transactionId: new Uint8Array(12),
        address: '127.0.0.1',
        port: 1,
        family: 'IPv6',
      }),
    ).toThrow(TypeError)
  })

  it('reports IPv4 clients of a dual-stack socket as IPv4, and drops link-local zones', () => {
    expect(reflexiveAddressOf({ address: '::ffff:127.0.0.1', port: 5, family: 'IPv6' })).toEqual({
      address: '127.0.0.1',
      port: 5,
      family: 'IPv4',
    })
    expect(reflexiveAddressOf({ address: 'fe80::1%eth0', port: 5, family: 'IPv6' })).toEqual({
      address: 'fe80::1',
      port: 5,
      family: 'IPv6',
    })
    expect(reflexiveAddressOf({ address: '10.0.0.1', port: 5, family: 'IPv4' })).toEqual({
      address: '10.0.0.1',
      port: 5,
      family: 'IPv4',
    })
  })
})

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice()
  copy[at]! ^= 0x01
  return copy
}

// --- Properties ---------------------------------------------------------------------------------

describe('STUN codec properties', () => {
  const transactionIdArb = fc.uint8Array({ minLength: 12, maxLength: 12 })
  const attributeArb = fc.tuple(
    fc.oneof(
      fc.constantFrom(...Object.values(ATTR).filter((type) => type !== ATTR.fingerprint)),
      // Any type but FINGERPRINT, which may only come last.
      fc.integer({ min: 0, max: 0xffff }).filter((type) => type !== ATTR.fingerprint),
    ),
    fc.uint8Array({ maxLength: 40 }),
  )
  const requestSpecArb = fc.record({
    transactionId: transactionIdArb,
    attributes: fc.array(attributeArb, { maxLength: 8 }),
    fingerprint: fc.boolean(),
  })
  const requestArb = requestSpecArb.map(buildRequest)
  const mutationArb = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), to: fc.nat() }),
    fc.record({
      kind: fc.constant('append' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    }),
    fc.record({
      kind: fc.constant('word' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 0xffff }),
    }),
  )
  type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never
  const mutate = (request: Uint8Array, mutations: Mutation[]): Uint8Array => {
    let bytes = request.slice()
    for (const m of mutations) {
      if (m.kind === 'flip' && bytes.byteLength > 0) bytes[m.at % bytes.byteLength]! ^= 1 << m.bit
      if (m.kind === 'truncate') bytes = bytes.slice(0, m.to % (bytes.byteLength + 1))
      if (m.kind === 'append') bytes = Uint8Array.from([...bytes, ...m.bytes])
      if (m.kind === 'word' && bytes.byteLength >= 2) {
        new DataView(bytes.buffer).setUint16(m.at % (bytes.byteLength - 1), m.value)
      }
    }
    return bytes
  }
  /** Random bytes behind a valid Binding request header: exercises the attribute walk, not just the header checks. */
  const randomBodyArb = fc
    .tuple(transactionIdArb, fc.uint8Array({ maxLength: 200 }))
    .map(([transactionId, body]) => withRawBody(transactionId, body))
  const sourceArb = fc.oneof(
    fc.record({
      address: fc.ipV4(),
      port: fc.integer({ min: 1, max: 0xffff }),
      family: fc.constant('IPv4' as const),
    }),
    fc.record({
      address: fc.ipV6(),
      port: fc.integer({ min: 1, max: 0xffff }),
      family: fc.constant('IPv6' as const),
    }),
  )

  /**
   * Whatever comes back is a well-formed success or 420 for the request's transaction, or silence; a 420
   * is never larger than the request.
   */
  const checkAnswer = (packet: Uint8Array, source: StunMappedAddress): void => {
    const answer = answerStunPacket(packet, source)
    if (!answer.ok) return
    if (answer.kind === 'unknown-attribute')
      expect(answer.reply.byteLength).toBeLessThanOrEqual(packet.byteLength)
    const message = readWellFormed(answer.reply)
    expect(message.transactionId).toEqual(packet.slice(8, 20))
    expect(message.type).toBe(answer.kind === 'success' ? BINDING_SUCCESS : BINDING_ERROR)
  }

  it('never throws on random bytes, and any reply is well-formed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), sourceArb, (bytes, source) =>
        checkAnswer(bytes, source),
      ),
      {
        numRuns: 2000,
      },
    )
  })

  it('never throws on random attributes behind a valid header, and any reply is well-formed', () => {
    fc.assert(fc.property(randomBodyArb, sourceArb, checkAnswer), { numRuns: 2000 })
  })

  it('never throws on mutated valid requests, and any reply is well-formed', () => {
    fc.assert(
      fc.property(
        requestArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        sourceArb,
        (request, m, source) => checkAnswer(mutate(request, m), source),
      ),
      { numRuns: 2000 },
    )
  })

  it('answers every valid request with the source address, or 420 listing exactly its unknown required attributes', () => {
    fc.assert(
      fc.property(requestSpecArb, sourceArb, (spec, source) => {
        const request = buildRequest(spec)
        const answer = answerStunPacket(request, source)
        const unknown = expectedUnknown(spec.attributes)
        // A 420 is 60 bytes plus the list, padded; it lists as many as fit in the request's size.
        let fits = unknown.length
        while (fits > 0 && 60 + (((fits * 2 + 3) >> 2) << 2) > request.byteLength) fits--
        if (unknown.length > 0 && fits === 0) {
          expect(answer).toEqual({ ok: false, reason: 'error-larger-than-request' })
          return
        }
        expect(answer.ok).toBe(true)
        if (!answer.ok) return
        if (unknown.length === 0) {
          expect(answer.kind).toBe('success')
          expectSuccessFor(answer.reply, spec.transactionId, { ...source, address: canonical(source) })
        } else {
          expect(answer.kind).toBe('unknown-attribute')
          expect(answer.reply.byteLength).toBeLessThanOrEqual(request.byteLength)
          expectUnknownAttributeError(answer.reply, spec.transactionId, unknown.slice(0, fits))
        }
      }),
      { numRuns: 1000 },
    )
  })
})

/**
 * The comprehension-required attributes (type < 0x8000) a Binding responder may not ignore, by RFC 5389
 * §7.3.1 and §15.4: all but the ones it knows, counting none after MESSAGE-INTEGRITY(-SHA256).
 */
function expectedUnknown(attributes: ReadonlyArray<readonly [number, Uint8Array]>): number[] {
  const known = new Set([
    0x0001, 0x0006, 0x0009, 0x000a, 0x0014, 0x0015, 0x001d, 0x001e, 0x0020, 0x0024, 0x0025,
  ])
  const unknown: number[] = []
  for (const [type, value] of attributes) {
    if (type === ATTR.messageIntegrity || type === 0x001c) break
    const noChange = type === ATTR.changeRequest && value.byteLength === 4 && (value[3]! & 0x06) === 0
    if (type < 0x8000 && !known.has(type) && !noChange && !unknown.includes(type)) unknown.push(type)
  }
  return unknown
}

const canonical = (source: StunMappedAddress): string =>
  source.family === 'IPv6' ? canonicalIPv6(source.address) : source.address

// --- Server -------------------------------------------------------------------------------------

/** Whether this machine has a usable IPv6 loopback (containers often do not). */
async function loopbackIPv6Works(): Promise<boolean> {
  const socket = createSocket('udp6')
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, '::1', resolve)
    })
    return true
  } catch {
    return false
  } finally {
    socket.close()
  }
}

async function bound(type: 'udp4' | 'udp6', address: string, port = 0): Promise<Socket> {
  const socket = createSocket(type)
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return socket
}

const closeSocket = (socket: Socket): Promise<void> => new Promise((resolve) => socket.close(() => resolve()))

async function withServer(
  host: string,
  run: (server: StunServer) => Promise<void>,
  limits?: Partial<StunLimits>,
): Promise<void> {
  const server = await startStunServer({ host, port: 0, logger: silentLogger, limits })
  try {
    await run(server)
  } finally {
    await server.close()
  }
}

/** Asks with the `stun` package over a socket we bound ourselves, so we know the port to expect. */
async function askWithStunPackage(
  serverPort: number,
): Promise<{ response: StunLibResponse; clientPort: number }> {
  const socket = await bound('udp4', '127.0.0.1')
  try {
    const response = await stun.request(`127.0.0.1:${serverPort}`, { socket, timeout: 200, retries: 3 })
    return { response, clientPort: socket.address().port }
  } finally {
    await closeSocket(socket)
  }
}

describe('STUN server', () => {
  it('tells a real STUN client its own address and port over IPv4', async () => {
    await withServer('127.0.0.1', async (server) => {
      expect(server.port).toBeGreaterThan(0)
      const { response, clientPort } = await askWithStunPackage(server.port)
      expect(response.getXorAddress()).toEqual({ address: '127.0.0.1', port: clientPort, family: 'IPv4' })
      expect(response.getAddress()).toEqual({ address: '127.0.0.1', port: clientPort, family: 'IPv4' })
      expect(response.getSoftware()).toBe('swarmdrop')
      expect(stun.validateFingerprint(response)).toBe(true)
      expect(server.stats()).toMatchObject({ answered: 1, ignored: 0, limited: 0 })
    })
  })

  it('tells a real STUN client its own address and port over IPv6', async (context) => {
    if (!(await loopbackIPv6Works())) context.skip('::1 is not available on this machine (no IPv6 loopback)')
    await withServer('::1', async (server) => {
      const socket = await bound('udp6', '::1')
      // The package's request() cannot parse an IPv6 URL, so drive its client socket wrapper directly.
      const client = stun.createServer({ type: 'udp6', socket })
      try {
        const message = stun.createMessage(stun.constants.STUN_BINDING_REQUEST)
        const response = new Promise<StunLibResponse>((resolve) => client.once('bindingResponse', resolve))
        client.send(message, server.port, '::1')
        const answer = await response
        expect(answer.transactionId).toEqual(message.transactionId)
        expect(answer.getXorAddress()).toEqual({
          address: '::1',
          port: socket.address().port,
          family: 'IPv6',
        })
        expect(stun.validateFingerprint(answer)).toBe(true)
      } finally {
        client.close()
        await closeSocket(socket)
      }
    })
  })

  it('answers an unknown required attribute with 420 over the wire', async () => {
    await withServer('127.0.0.1', async (server) => {
      const socket = await bound('udp4', '127.0.0.1')
      try {
        const transactionId = Uint8Array.from(randomBytes(12))
        const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve))
        const request = buildRequest({
          transactionId,
          attributes: [[0x0777, new Uint8Array(4)], CLIENT_SOFTWARE],
          fingerprint: true,
        })
        socket.send(request, server.port, '127.0.0.1')
        const received = Uint8Array.from(await reply)
        expectUnknownAttributeError(received, transactionId, [0x0777])
        expect(server.stats()).toEqual({
          answered: 1,
          ignored: 0,
          limited: 0,
          replyBytes: received.byteLength,
        })
      } finally {
        await closeSocket(socket)
      }
    })
  })

  it('keeps serving after 1000 garbage datagrams', async () => {
    await withServer(
      '127.0.0.1',
      async (server) => {
        const socket = await bound('udp4', '127.0.0.1')
        try {
          const garbage = [
            ...fc.sample(fc.uint8Array({ maxLength: 600 }), { numRuns: 500, seed: 1 }),
            // Garbage that looks like STUN: a valid header, random attributes (some of these get a 420).
            ...fc.sample(
              fc
                .tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 120 }))
                .map(([transactionId, body]) => withRawBody(transactionId, body)),
              { numRuns: 500, seed: 2 },
            ),
          ]
          expect(garbage).toHaveLength(1000)
          const BATCH = 100 // paced so the kernel's receive buffer never overflows and every datagram is counted
          for (let i = 0; i < garbage.length; i += BATCH) {
            for (const packet of garbage.slice(i, i + BATCH)) socket.send(packet, server.port, '127.0.0.1')
            const handled = i + Math.min(BATCH, garbage.length - i)
            await until(
              () => server.stats().answered + server.stats().ignored >= handled,
              `${handled} datagrams`,
            )
          }
          const afterGarbage = server.stats()
          expect(afterGarbage.answered + afterGarbage.ignored).toBe(1000)
          expect(afterGarbage.ignored).toBeGreaterThan(500)

          const { response, clientPort } = await askWithStunPackage(server.port)
          expect(response.getXorAddress()).toEqual({ address: '127.0.0.1', port: clientPort, family: 'IPv4' })
          expect(server.stats().answered).toBe(afterGarbage.answered + 1)
        } finally {
          await closeSocket(socket)
        }
      },
      UNLIMITED,
    )
  })

  it('logs nothing at info per packet', async () => {
    const lines: string[] = []
    const server = await startStunServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('info', (line) => lines.push(line)),
    })
    await askWithStunPackage(server.port)
    const socket = await bound('udp4', '127.0.0.1')
    socket.send(Buffer.from('not stun at all'), server.port, '127.0.0.1')
    await until(() => server.stats().ignored === 1, 'the garbage datagram')
    await closeSocket(socket)
    await server.close()
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['stun listening', 'stun closed'])
  })

  it('closes idempotently and releases its port', async () => {
    const server = await startStunServer({ host: '127.0.0.1', port: 0, logger: silentLogger })
    const first = server.close()
    expect(server.close()).toBe(first)
    await first
    await server.close()
    const reuse = await bound('udp4', '127.0.0.1', server.port)
    expect(reuse.address().port).toBe(server.port)
    await closeSocket(reuse)
  })

  it('fails to start, without leaking a socket, when the port is taken', async () => {
    const taken = await bound('udp4', '127.0.0.1')
    try {
      await expect(
        startStunServer({ host: '127.0.0.1', port: taken.address().port, logger: silentLogger }),
      ).rejects.toThrow(/EADDRINUSE/)
    } finally {
      await closeSocket(taken)
    }
  })
})
