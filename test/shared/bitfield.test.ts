import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'

describe('Bitfield', () => {
  it('starts empty, with one byte per eight chunks rounded up', () => {
    for (const [length, bytes] of [
      [0, 0],
      [1, 1],
      [8, 1],
      [9, 2],
      [4096, 512],
    ] as const) {
      const field = new Bitfield(length)
      expect(field.bytes.length).toBe(bytes)
      expect(field.count).toBe(0)
      expect(field.complete).toBe(length === 0)
    }
  })

  it('puts chunk 0 in the most significant bit of byte 0', () => {
    const field = new Bitfield(16)
    field.set(0)
    expect([...field.bytes]).toEqual([0x80, 0x00])
    field.set(7)
    expect([...field.bytes]).toEqual([0x81, 0x00])
    field.set(8)
    expect([...field.bytes]).toEqual([0x81, 0x80])
    field.set(15)
    expect([...field.bytes]).toEqual([0x81, 0x81])
  })

  it('encodes chunk 0 of a one-chunk file as "gA=="', () => {
    const field = new Bitfield(1)
    field.set(0)
    expect(field.toBase64()).toBe('gA==')
    expect(Bitfield.fromBase64(1, 'gA==').has(0)).toBe(true)
  })

  it('reports whether a bit was newly set, and counts each chunk once', () => {
    const field = new Bitfield(10)
    expect(field.set(3)).toBe(true)
    expect(field.set(3)).toBe(false)
    expect(field.has(3)).toBe(true)
    expect(field.has(4)).toBe(false)
    expect(field.count).toBe(1)
  })

  it('is complete once every chunk is set', () => {
    const field = new Bitfield(10)
    for (let i = 0; i < 9; i++) field.set(i)
    expect(field.complete).toBe(false)
    field.set(9)
    expect(field.complete).toBe(true)
    expect(field.count).toBe(10)
  })

  it('builds a full field whose spare bits are zero', () => {
    const field = Bitfield.full(10)
    expect(field.complete).toBe(true)
    expect([...field.bytes]).toEqual([0xff, 0xc0])
    expect(Bitfield.full(0).complete).toBe(true)
  })

  it('rejects indices outside the field', () => {
    const field = new Bitfield(10)
    for (const index of [-1, 10, 11, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => field.has(index), String(index)).toThrow(RangeError)
      expect(() => field.set(index), String(index)).toThrow(RangeError)
    }
  })

  it('rejects negative and fractional lengths', () => {
    for (const length of [-1, 1.5, Number.NaN]) expect(() => new Bitfield(length)).toThrow(RangeError)
  })

  it('rejects bytes of the wrong length', () => {
    expect(() => new Bitfield(9, new Uint8Array(1))).toThrow(RangeError)
    expect(() => new Bitfield(8, new Uint8Array(2))).toThrow(RangeError)
    expect(() => new Bitfield(0, new Uint8Array(1))).toThrow(RangeError)
  })

  it('rejects a spare bit set past its length', () => {
    // 10 chunks: byte 1 holds chunks 8 and 9 in its top two bits; 0x20 is the first spare bit.
    expect(() => new Bitfield(10, new Uint8Array([0, 0x20]))).toThrow(RangeError)
    expect(() => new Bitfield(10, new Uint8Array([0, 0x01]))).toThrow(RangeError)
    expect(new Bitfield(10, new Uint8Array([0xff, 0xc0])).complete).toBe(true)
    // 1 chunk: only 0x80 may be set.
    expect(() => Bitfield.fromBase64(1, 'wA==')).toThrow(RangeError)
    expect(() => Bitfield.fromBase64(1, 'AQ==')).toThrow(RangeError)
  })

  it('rejects base64 of the wrong length for its chunk count', () => {
    expect(() => Bitfield.fromBase64(9, 'gA==')).toThrow(RangeError) // 1 byte, 2 needed
    expect(() => Bitfield.fromBase64(8, 'gAA=')).toThrow(RangeError) // 2 bytes, 1 needed
    expect(() => Bitfield.fromBase64(0, 'AA==')).toThrow(RangeError)
    expect(Bitfield.fromBase64(0, '').count).toBe(0)
  })

  it('rejects non-canonical base64', () => {
    expect(() => Bitfield.fromBase64(1, 'gB==')).toThrow(RangeError)
    expect(() => Bitfield.fromBase64(1, 'gA')).toThrow(RangeError)
  })

  it('copies the bytes it is given', () => {
    const bytes = new Uint8Array([0])
    const field = new Bitfield(8, bytes)
    field.set(0)
    expect(bytes[0]).toBe(0)
  })

  it('round-trips any set of chunks through base64, keeping the count', () => {
    const arbitrary = fc
      .integer({ min: 0, max: 4096 })
      .chain((length) =>
        fc.tuple(
          fc.constant(length),
          length === 0 ? fc.constant([]) : fc.array(fc.nat(length - 1), { maxLength: 200 }),
        ),
      )
    fc.assert(
      fc.property(arbitrary, ([length, indices]) => {
        const field = new Bitfield(length)
        for (const index of indices) field.set(index)
        const distinct = new Set(indices)
        expect(field.count).toBe(distinct.size)
        const copy = Bitfield.fromBase64(length, field.toBase64())
        expect(copy.count).toBe(distinct.size)
        const held = Array.from({ length }, (_, i) => copy.has(i))
        expect(held).toEqual(Array.from({ length }, (_, i) => distinct.has(i)))
        expect(copy.toBase64()).toBe(Buffer.from(field.bytes).toString('base64'))
      }),
      { numRuns: 300 },
    )
  })
})
