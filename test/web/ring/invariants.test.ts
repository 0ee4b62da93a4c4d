/**
 * The simulator's incremental check of Zave's invariant must agree with recomputing it from scratch,
 * whatever order members come, go and change their lists in: otherwise "checked after every event"
 * would check nothing.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ZaveInvariants } from '../../support/ring-sim/invariants.js'

const ids = Array.from({ length: 12 }, (_, i) =>
  (i * 21 + 5).toString(16).padStart(2, '0').padEnd(64, '0'),
).sort()

describe('incremental Zave invariants', () => {
  it('agree with a full recomputation after any sequence of joins, leaves and list changes', () => {
    const operation = fc.oneof(
      fc.record({
        op: fc.constant('join' as const),
        who: fc.nat(11),
        list: fc.array(fc.nat(11), { maxLength: 4 }),
      }),
      fc.record({ op: fc.constant('leave' as const), who: fc.nat(11) }),
      fc.record({
        op: fc.constant('list' as const),
        who: fc.nat(11),
        list: fc.array(fc.nat(11), { maxLength: 4 }),
      }),
    )
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const invariants = new ZaveInvariants(3)
        for (const step of operations) {
          const who = ids[step.who]!
          const list = 'list' in step ? step.list.map((i) => ids[i]!).filter((id) => id !== who) : []
          if (step.op === 'join') invariants.join(who, list)
          else if (step.op === 'leave') invariants.leave(who)
          else invariants.setList(who, list)
          const scratch = invariants.verifyFromScratch()
          expect(scratch, JSON.stringify(step)).toMatchObject({ ok: true })
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('holds on an ideal ring, and a list that skips a member removes it from the principals', () => {
    const invariants = new ZaveInvariants(3)
    const n = ids.length
    for (const [i, id] of ids.entries())
      invariants.join(
        id,
        [1, 2, 3].map((k) => ids[(i + k) % n]!),
      )
    expect(invariants.principals).toBe(n)
    expect(invariants.check('ideal')).toBe(true)
    expect(invariants.armedAt).toBe('ideal')
    invariants.setList(ids[0]!, [ids[2]!, ids[3]!, ids[4]!])
    expect(invariants.principals).toBe(n - 1)
    expect(invariants.verifyFromScratch().ok).toBe(true)
  })

  it('reports a member whose successors are all gone', () => {
    const invariants = new ZaveInvariants(3)
    const n = ids.length
    for (const [i, id] of ids.entries())
      invariants.join(
        id,
        [1, 2, 3].map((k) => ids[(i + k) % n]!),
      )
    invariants.check('armed')
    for (const k of [1, 2, 3]) invariants.leave(ids[k]!)
    expect(invariants.membersWithoutLiveSuccessor).toBe(1)
    expect(invariants.check('after')).toBe(false)
    expect(invariants.violations[0]).toContain('without a live successor')
  })
})
