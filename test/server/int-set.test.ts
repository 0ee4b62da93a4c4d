import { describe, expect, it } from 'vitest'
import { Interner, IntSet } from '../../signal/int-set.js'

describe('IntSet (the registry’s packed holders and files)', () => {
  it('keeps its members sorted and distinct through adds and deletes, against a Set', () => {
    const set = new IntSet()
    const model = new Set<number>()
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % 500
    }
    for (let step = 0; step < 20_000; step++) {
      const value = random()
      if (step % 3 === 2) expect(set.delete(value)).toBe(model.delete(value))
      else {
        const fresh = !model.has(value)
        model.add(value)
        expect(set.add(value)).toBe(fresh)
      }
      if (step % 1000 === 0) expect(set.toArray()).toEqual([...model].sort((a, b) => a - b))
    }
    expect(set.size).toBe(model.size)
    expect(set.toArray()).toEqual([...model].sort((a, b) => a - b))
    for (let value = 0; value < 500; value++) expect(set.has(value)).toBe(model.has(value))
    for (let i = 0; i < set.size; i++) expect(set.at(i)).toBe(set.toArray()[i])
  })

  it('empties and fills again', () => {
    const set = new IntSet()
    for (let value = 100; value > 0; value--) set.add(value)
    for (let value = 1; value <= 100; value++) expect(set.delete(value)).toBe(true)
    expect(set.size).toBe(0)
    expect(set.delete(1)).toBe(false)
    set.add(3)
    expect(set.toArray()).toEqual([3])
  })
})

describe('Interner (peer ids as small numbers)', () => {
  it('gives each name one number, reuses a released number, and forgets the released name', () => {
    const names = new Interner()
    const a = names.intern('a')
    const b = names.intern('b')
    expect(names.intern('a')).toBe(a)
    expect(new Set([a, b]).size).toBe(2)
    names.release('a')
    expect(names.numberOf('a')).toBeUndefined()
    expect(() => names.nameOf(a)).toThrow()
    const c = names.intern('c')
    expect(c).toBe(a) // dense: the freed number is used again
    expect(names.nameOf(c)).toBe('c')
    expect([...names.names()].sort()).toEqual(['b', 'c'])
    expect(names.size).toBe(2)
  })
})
