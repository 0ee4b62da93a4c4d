/** The ring's small parts: id arithmetic, the record store's quotas, the per-source rate limit. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../shared/encoding.js'
import type { ProviderRecord } from '../../../shared/ring-records.js'
import {
  between,
  betweenRightIncl,
  clockwise,
  idAt,
  positionOf,
  predecessorsFrom,
  ringDistance,
  successorsFrom,
} from '../../../web/peer/ring/ids.js'
import { SourceRateLimiter } from '../../../web/peer/ring/rate-limit.js'
import { MemoryRecordStore } from '../../../web/peer/ring/record-store.js'

const id = (lead: string) => lead.padEnd(64, '0')
const anyId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex)

describe('ids', () => {
  it('tells whether an id lies between two others, clockwise and round the top', () => {
    expect(between(id('10'), id('20'), id('30'))).toBe(true)
    expect(between(id('30'), id('f0'), id('10'))).toBe(true)
    expect(between(id('30'), id('05'), id('10'))).toBe(true)
    expect(between(id('30'), id('20'), id('10'))).toBe(false)
    expect(between(id('10'), id('10'), id('30'))).toBe(false)
    expect(betweenRightIncl(id('10'), id('30'), id('30'))).toBe(true)
    // a = b: the whole ring but a.
    expect(between(id('10'), id('99'), id('10'))).toBe(true)
    expect(between(id('10'), id('10'), id('10'))).toBe(false)
  })

  it('agrees with BigInt arithmetic', () => {
    fc.assert(
      fc.property(anyId, anyId, anyId, (a, x, b) => {
        const ring = 1n << 256n
        const d = (from: string, to: string) => (BigInt(`0x${to}`) - BigInt(`0x${from}`) + ring) % ring
        const expected = a === b ? x !== a : d(a, x) > 0n && d(a, x) < d(a, b)
        expect(between(a, x, b)).toBe(expected)
      }),
      { numRuns: 2000 },
    )
  })

  it('measures positions and distances as fractions of the ring', () => {
    expect(positionOf(id('80'))).toBe(0.5)
    expect(clockwise(0.75, 0.25)).toBe(0.5)
    expect(ringDistance(0.9, 0.1)).toBeCloseTo(0.2)
    expect(idAt(id('f0'), 0.125)).toBe(id('10'))
  })

  it('keeps successor lists in ring order, without self or repeats, noting when they wrap', () => {
    const self = id('50')
    expect(successorsFrom(self, [id('60'), id('70'), id('60'), id('10')], 20)).toEqual({
      list: [id('60'), id('70'), id('10')],
      wrapped: false,
    })
    expect(successorsFrom(self, [id('60'), id('70'), self, id('60')], 20)).toEqual({
      list: [id('60'), id('70')],
      wrapped: true,
    })
    // Out of order past some point: the rest is stale and is not trusted.
    expect(successorsFrom(self, [id('60'), id('80'), id('70')], 20).list).toEqual([id('60'), id('80')])
    expect(successorsFrom(self, [id('60'), id('70'), id('80')], 2).list).toEqual([id('60'), id('70')])
  })

  it('keeps predecessor lists in ring order, counterclockwise', () => {
    const self = id('50')
    expect(predecessorsFrom(self, [id('40'), id('30'), id('f0'), id('60')], 8)).toEqual([
      id('40'),
      id('30'),
      id('f0'),
      id('60'),
    ])
    expect(predecessorsFrom(self, [id('40'), id('45'), id('30')], 8)).toEqual([id('40')])
    expect(predecessorsFrom(self, [id('40'), self, id('30')], 8)).toEqual([id('40')])
  })
})

describe('record store', () => {
  const record = (publisher: number, digest: number, issuedAt = 100, expiresAt = 1000): ProviderRecord => ({
    kind: 'provider',
    publisher: new Uint8Array(32).fill(publisher),
    digest: digest.toString(16).padStart(64, '0'),
    chunks: 1,
    issuedAt,
    expiresAt,
    signature: new Uint8Array(64),
  })

  it('replaces a publisher’s record by a newer one, and keeps the older one out', () => {
    const store = new MemoryRecordStore()
    expect(store.put('k', record(1, 1, 100), 100)).toBe('stored')
    expect(store.put('k', record(1, 1, 200), 200)).toBe('replaced')
    expect(store.put('k', record(1, 1, 150), 200)).toBe('unchanged')
    expect(store.get('k', 'provider', 200).map((r) => r.issuedAt)).toEqual([200])
    expect(store.size).toBe(1)
  })

  it('holds at most maxPerPublisher records of one publisher, counting only unexpired ones', () => {
    const store = new MemoryRecordStore({ maxPerPublisher: 2 })
    expect(store.put('a', record(1, 1, 100, 150), 100)).toBe('stored')
    expect(store.put('b', record(1, 2), 100)).toBe('stored')
    expect(store.put('c', record(1, 3), 100)).toBe('PUBLISHER_QUOTA')
    expect(store.put('c', record(2, 3), 100)).toBe('stored')
    // Once the first has expired, there is room again.
    expect(store.put('c', record(1, 3), 200)).toBe('stored')
  })

  it('makes room under a full key for a record that expires later than the first to go', () => {
    const store = new MemoryRecordStore({ maxPerKey: 2 })
    store.put('k', record(1, 1, 100, 500), 100)
    store.put('k', record(2, 1, 100, 900), 100)
    expect(store.put('k', record(3, 1, 100, 400), 100)).toBe('unchanged')
    expect(store.put('k', record(4, 1, 100, 950), 100)).toBe('stored')
    expect(
      store
        .get('k', 'provider', 100)
        .map((r) => r.expiresAt)
        .sort(),
    ).toEqual([900, 950])
  })

  it('drops expired records and whole keys', () => {
    const store = new MemoryRecordStore()
    store.put('a', record(1, 1, 100, 150), 100)
    store.put('b', record(1, 2), 100)
    expect(store.get('a', 'provider', 200)).toEqual([])
    expect(store.expire(200)).toBe(1)
    expect(store.keys()).toEqual(['b'])
    expect(store.delete('b')).toBe(1)
    expect(store.size).toBe(0)
  })
})

describe('per-source rate limit', () => {
  it('lets a burst through, then the rate, per source', () => {
    const limiter = new SourceRateLimiter(10, 3)
    expect([1, 2, 3, 4].map(() => limiter.take('a', 0))).toEqual([true, true, true, false])
    expect(limiter.take('b', 0)).toBe(true)
    expect(limiter.take('a', 100)).toBe(true)
    expect(limiter.take('a', 100)).toBe(false)
  })

  it('forgets the source idle longest when full, which then starts afresh', () => {
    const limiter = new SourceRateLimiter(1, 1, 2)
    limiter.take('a', 0)
    limiter.take('b', 0)
    limiter.take('c', 0)
    expect(limiter.take('a', 0)).toBe(true)
    expect(limiter.take('c', 0)).toBe(false)
  })
})
