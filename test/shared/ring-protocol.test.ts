import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  encodeRingMessage,
  MAX_HOP_LIMIT,
  MAX_LIST_IDS,
  MAX_RING_MESSAGE_BYTES,
  parseRingMessage,
  REPLICATE_OVERHEAD_BYTES,
  RING_ERROR_CODES,
  type RingMessage,
  recordsThatFit,
} from '../../shared/ring-protocol.js'
import type { SignedRecord } from '../../shared/ring-records.js'

const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32)
const publicKey = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const provider: SignedRecord = {
  kind: 'provider',
  publisher: publicKey,
  digest: id(0xab),
  chunks: 3,
  issuedAt: 1767225600,
  expiresAt: 1767226800,
  signature: new Uint8Array(64).fill(1),
}
const name: SignedRecord = {
  kind: 'name',
  publisher: publicKey,
  digest: id(0xab),
  name: 'notes.txt',
  size: 10,
  chunkCount: 1,
  issuedAt: 1767225600,
  expiresAt: 1767226800,
  signature: new Uint8Array(64).fill(2),
}
const route = {
  type: 'route',
  req: 4_294_967_295,
  origin: id(1),
  key: id(2),
  hops: 3,
  hopLimit: 32,
  attempt: 5,
  deliver: true,
  clockwise: true,
} as const

const EVERY_MESSAGE: RingMessage[] = [
  { type: 'hello', version: 1, member: true, ask: true, want: 'finger', publicKey },
  { type: 'hello', version: 1, member: false, ask: false, want: 'none', publicKey },
  { type: 'refuse' },
  { type: 'ping', nonce: 7 },
  { type: 'pong', nonce: 4_294_967_295 },
  { type: 'get-neighbours', req: 9 },
  { type: 'neighbours', req: 9, pred: id(3), successors: Array.from({ length: 20 }, (_, i) => id(i + 10)) },
  { type: 'neighbours', req: 9, pred: null, successors: [] },
  { type: 'notify', predecessors: [id(4), id(5)] },
  { type: 'leave', pred: null, successors: [id(6)] },
  { ...route, request: { op: 'find', room: 6 } },
  { ...route, deliver: false, clockwise: false, request: { op: 'get', kind: 'name' } },
  { ...route, request: { op: 'put', records: [provider, name] } },
  { type: 'ack', req: 1 },
  { type: 'route-reply', req: 1, hops: 4, from: id(7), result: { op: 'found', nodes: [id(8)] } },
  { type: 'route-reply', req: 1, hops: 4, from: id(7), result: { op: 'records', records: [name] } },
  { type: 'route-reply', req: 1, hops: 4, from: id(7), result: { op: 'records', records: [] } },
  { type: 'route-reply', req: 1, hops: 4, from: id(7), result: { op: 'stored', stored: 2 } },
  { type: 'route-reply', req: 1, hops: 4, from: id(7), result: { op: 'failed', code: 'HOP_LIMIT' } },
  { type: 'replicate', push: 77, until: id(8), key: id(9), records: [provider] },
  { type: 'error', req: 0, code: 'BAD_MESSAGE' },
]

const codes = new Set(['BAD_MESSAGE', 'UNKNOWN_TYPE'])

/** Parses, and checks the parse is total: a message that re-encodes to the same bytes, or a typed error. */
function parseTotal(bytes: Uint8Array): RingMessage | null {
  const result = parseRingMessage(bytes)
  if (!result.ok) {
    expect(codes.has(result.code)).toBe(true)
    return null
  }
  expect(encodeRingMessage(result.message)).toEqual(bytes)
  return result.message
}

describe('ring protocol', () => {
  it.each(EVERY_MESSAGE.map((m, i) => [`${i} ${m.type}`, m] as const))('round-trips %s', (_, message) => {
    expect(parseRingMessage(encodeRingMessage(message))).toEqual({ ok: true, message })
  })

  it('encodes a hello as documented', () => {
    expect(toHex(encodeRingMessage(EVERY_MESSAGE[0]!))).toBe(`01010302${toHex(publicKey)}`)
  })

  it('carries a successor list of 20 ids in under 700 bytes', () => {
    expect(encodeRingMessage(EVERY_MESSAGE[6]!).length).toBeLessThan(700)
  })

  it.each([
    ['nothing', new Uint8Array()],
    ['a frame over the cap', new Uint8Array(MAX_RING_MESSAGE_BYTES + 1).fill(3)],
    ['a truncated ping', Uint8Array.of(3, 0, 0)],
    ['bytes left over', Uint8Array.of(3, 0, 0, 0, 1, 9)],
    ['a hello with unknown flags', Uint8Array.of(1, 1, 4, 1, ...publicKey)],
    ['a hello with an unknown want', Uint8Array.of(1, 1, 1, 9, ...publicKey)],
    [
      'a list of too many ids',
      Uint8Array.of(7, MAX_LIST_IDS + 1, ...new Uint8Array(32 * (MAX_LIST_IDS + 1))),
    ],
    ['an optional id flag other than 0 or 1', Uint8Array.of(8, 2, 0)],
    ['an unknown error code', Uint8Array.of(12, 0, 0, 0, 0, RING_ERROR_CODES.length)],
  ])('refuses %s as BAD_MESSAGE', (_, bytes) => {
    expect(parseRingMessage(bytes)).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
  })

  it('refuses an unknown type as UNKNOWN_TYPE', () => {
    expect(parseRingMessage(Uint8Array.of(99))).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' })
    expect(parseRingMessage(Uint8Array.of(0))).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' })
  })

  it('refuses routed messages past their hop limit, and limits above the cap', () => {
    const over = { ...route, hops: 9, hopLimit: 8, request: { op: 'find', room: 0 } } as const
    expect(parseRingMessage(encodeRingMessage(over)).ok).toBe(false)
    const tooHigh = {
      ...route,
      hops: 0,
      hopLimit: MAX_HOP_LIMIT + 1,
      request: { op: 'find', room: 0 },
    } as const
    expect(parseRingMessage(encodeRingMessage(tooHigh)).ok).toBe(false)
  })

  it('refuses a put of no records and a replicate of none', () => {
    expect(parseRingMessage(encodeRingMessage({ ...route, request: { op: 'put', records: [] } })).ok).toBe(
      false,
    )
    expect(
      parseRingMessage(
        encodeRingMessage({ type: 'replicate', push: 77, until: id(1), key: id(1), records: [] }),
      ).ok,
    ).toBe(false)
  })

  it('fills a batch of records up to the cap and no further', () => {
    const many = Array.from({ length: 300 }, () => name)
    const batch = recordsThatFit(many, REPLICATE_OVERHEAD_BYTES)
    const bytes = encodeRingMessage({ type: 'replicate', push: 77, until: id(1), key: id(1), records: batch })
    expect(bytes.length).toBeLessThanOrEqual(MAX_RING_MESSAGE_BYTES)
    expect(batch.length).toBeGreaterThan(50)
    expect(parseRingMessage(bytes).ok).toBe(true)
  })

  it('never throws on random bytes: a typed error or a message that re-encodes to them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), (bytes) => {
        parseTotal(bytes)
      }),
      { numRuns: 5000 },
    )
  })

  it('never throws on damaged valid messages (cut, changed, grown)', () => {
    const valid = EVERY_MESSAGE.map(encodeRingMessage)
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.nat(255),
        fc.constantFrom('cut', 'change', 'grow'),
        (bytes, at, value, how) => {
          const i = at % bytes.length
          const damaged =
            how === 'cut'
              ? bytes.subarray(0, i)
              : how === 'grow'
                ? Uint8Array.of(...bytes, value)
                : Uint8Array.from(bytes, (b, j) => (j === i ? value : b))
          parseTotal(damaged)
        },
      ),
      { numRuns: 20_000 },
    )
  })
})
