/**
 * SuperSeed alone (web/peer/super-seed.ts): what a whole holder offers each peer of a crowd, as plain state.
 */
import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'
import {
  ISOLATED_MS,
  OPEN_OFFERS,
  REFILL_BELOW,
  SPREAD_WAIT_MS,
  STARVED_MS,
  STARVED_OFFERS,
  SuperSeed,
} from '../../web/peer/super-seed.js'

const indices = (field: Bitfield) =>
  Array.from({ length: field.length }, (_, i) => i).filter((i) => field.has(i))

describe('SuperSeed', () => {
  it('offers each peer of a crowd different chunks until every chunk is offered once', () => {
    let now = 0
    const seed = new SuperSeed(4 * OPEN_OFFERS, () => now)
    const offers = ['a', 'b', 'c', 'd'].map((peer) => indices(seed.join(peer)))
    for (const offer of offers) expect(offer).toHaveLength(OPEN_OFFERS)
    expect(new Set(offers.flat()).size).toBe(4 * OPEN_OFFERS)
    // A fifth peer: every chunk is promised to another, who will share it. Once that has had time to
    // happen and evidently has not reached this one, it is offered a few chunks too.
    expect(indices(seed.join('e'))).toEqual([])
    now = SPREAD_WAIT_MS - 1
    expect(seed.refresh().size).toBe(0)
    now = SPREAD_WAIT_MS
    expect(seed.refresh().get('e')).toHaveLength(STARVED_OFFERS)
  })

  it('tops up the offers as a peer asks and as it gets chunks elsewhere, never offering what it holds', () => {
    const seed = new SuperSeed(3 * OPEN_OFFERS, () => 0)
    const first = indices(seed.join('a'))
    // Asking for offered chunks uses offers up; while REFILL_BELOW are still open nothing new is offered,
    // then the offers are topped up to OPEN_OFFERS at once (one message, not one per request).
    const used = OPEN_OFFERS - REFILL_BELOW
    for (const index of first.slice(0, used)) expect(seed.requested('a', index)).toEqual([])
    // A chunk that came from another peer uses an offer up too: now fewer than REFILL_BELOW are open.
    const refill = seed.heldChunk('a', first[used]!)
    expect(refill).toHaveLength(used + 1)
    expect(refill.filter((index) => first.includes(index))).toEqual([])
    expect(indices(seed.offeredTo('a')!)).toEqual([...first, ...refill].sort((a, b) => a - b))
    // What it holds by its `have` is never offered, and it is offered all it lacks in the end.
    const held = new Bitfield(3 * OPEN_OFFERS)
    for (let i = 0; i < 2 * OPEN_OFFERS; i++) held.set(i)
    expect(seed.held('a', held).every((index) => index >= 2 * OPEN_OFFERS)).toBe(true)
    const asked = new Set<number>()
    for (let round = 0; round < OPEN_OFFERS; round++) {
      const open = indices(seed.offeredTo('a')!).find((index) => !held.has(index) && !asked.has(index))
      if (open === undefined) break
      asked.add(open)
      seed.requested('a', open)
    }
    expect(asked.size).toBe(OPEN_OFFERS)
  })

  it('does not count a request withdrawn as a copy: a request-and-cancel flood holds nobody back', () => {
    const seed = new SuperSeed(OPEN_OFFERS, () => 0)
    // A peer that asks for every chunk and cancels each: none of them is on its way to it.
    seed.join('flooder')
    for (let index = 0; index < OPEN_OFFERS; index++) {
      seed.requested('flooder', index)
      seed.withdrawn('flooder', index)
    }
    seed.leave('flooder')
    // An honest newcomer is offered chunks at once, not after SPREAD_WAIT_MS.
    expect(indices(seed.join('honest'))).toHaveLength(OPEN_OFFERS)
    // And one it asked for that was never offered counts as claimed (never waits forever on a NaN time).
    const other = new SuperSeed(2, () => 0)
    other.join('x')
    other.requested('y', 0) // not joined: ignored
    expect(other.refresh().size).toBe(0)
  })

  it('forgets a peer that leaves, and never offers a peer what it holds', () => {
    const seed = new SuperSeed(2 * OPEN_OFFERS, () => 0)
    const holdsFirstHalf = new Bitfield(2 * OPEN_OFFERS)
    for (let i = 0; i < OPEN_OFFERS; i++) holdsFirstHalf.set(i)
    seed.join('a')
    seed.held('a', holdsFirstHalf) // it got them elsewhere: its offers move to the other half
    seed.leave('a')
    // With it gone, nobody holds or was offered anything: a newcomer may be offered any chunk.
    const offered = indices(seed.join('b'))
    expect(offered).toHaveLength(OPEN_OFFERS)
    seed.leave('b')
    expect(seed.peerCount).toBe(0)
    // And a peer that holds the first half is offered from the other half.
    seed.join('c')
    expect(seed.held('c', holdsFirstHalf).every((i) => i >= OPEN_OFFERS)).toBe(true)
  })

  it('offers no second copies to a peer that trades with the crowd, until it is starved or isolated', () => {
    let now = 0
    const seed = new SuperSeed(2 * OPEN_OFFERS, () => now)
    const a = indices(seed.join('a'))
    const b = indices(seed.join('b'))
    for (const index of a) seed.requested('a', index)
    for (const index of b) seed.requested('b', index)
    // Every chunk is on its way to one of them. Long after, `a` still gets chunks from `b`: it has a peer
    // to take the rest from, and the seeder sends none of them twice.
    now = 3 * SPREAD_WAIT_MS
    for (const index of a) expect(seed.heldChunk('a', index)).toEqual([])
    expect(seed.heldChunk('a', b[0]!)).toEqual([])
    now += STARVED_MS - 1
    expect(seed.refresh().get('a')).toBeUndefined()
    // Then nothing comes for STARVED_MS: `b` evidently has nothing more for it, and it is offered a few copies
    // (a trickle: it may trade again soon).
    now += 1
    expect(seed.refresh().get('a')).toHaveLength(STARVED_OFFERS)

    // A peer that gets nothing but second copies from us is not linked to the crowd: once it has had no
    // other chunk for ISOLATED_MS, it is offered as many as any peer, though it never waits STARVED_MS.
    now = 0
    const alone = new SuperSeed(3 * OPEN_OFFERS, () => now)
    const [c, d, e] = ['c', 'd', 'e'].map((peer) => indices(alone.join(peer)))
    for (const index of d!) alone.requested('d', index)
    for (const index of e!) alone.requested('e', index)
    for (const index of c!) alone.requested('c', index)
    for (const index of c!) alone.heldChunk('c', index) // first copies: the seeder's proper work
    now = STARVED_MS
    const copies = alone.refresh().get('c') ?? []
    expect(copies).toHaveLength(STARVED_OFFERS)
    // Each one it asks for is replaced while it is starved: it keeps STARVED_OFFERS open.
    for (const index of copies) expect(alone.requested('c', index)).toHaveLength(1)
    now = ISOLATED_MS - 1
    for (const index of copies) expect(alone.heldChunk('c', index)).toEqual([])
    now = ISOLATED_MS
    expect(alone.refresh().get('c')).toHaveLength(OPEN_OFFERS - STARVED_OFFERS)
  })
})
