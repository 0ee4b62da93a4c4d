import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromBase64, fromHex, toBase64, toHex } from '../../shared/encoding.js'

const bytes = fc.uint8Array({ maxLength: 300 })

describe('hex', () => {
  it('encodes as Node does, in lowercase', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(toHex(b)).toBe(Buffer.from(b).toString('hex'))
      }),
      { numRuns: 1000 },
    )
  })

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(fromHex(toHex(b))).toEqual(b)
      }),
      { numRuns: 1000 },
    )
  })

  it('encodes known bytes', () => {
    expect(toHex(new Uint8Array([0x00, 0x0f, 0xa0, 0xff]))).toBe('000fa0ff')
    expect(toHex(new Uint8Array())).toBe('')
  })

  it('rejects uppercase, odd lengths and non-hex characters', () => {
    for (const bad of ['AB', 'aB', 'abc', 'a', 'zz', '0x00', ' 00', '00 ', 'a\n', 'ab\n', 'éé']) {
      expect(() => fromHex(bad), bad).toThrow(RangeError)
    }
  })

  it('accepts the empty string', () => {
    expect(fromHex('')).toEqual(new Uint8Array())
  })
})

describe('base64', () => {
  it('encodes as Node does', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'))
      }),
      { numRuns: 1000 },
    )
  })

  it("decodes Node's encoding back to the same bytes", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(fromBase64(Buffer.from(b).toString('base64'))).toEqual(b)
      }),
      { numRuns: 1000 },
    )
  })

  it('encodes the RFC 4648 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ]
    for (const [text, encoded] of vectors) {
      const raw = new TextEncoder().encode(text)
      expect(toBase64(raw)).toBe(encoded)
      expect(fromBase64(encoded)).toEqual(raw)
    }
  })

  it('accepts canonical padding and rejects non-zero spare bits', () => {
    expect(fromBase64('QQ==')).toEqual(new Uint8Array([0x41]))
    expect(fromBase64('QUE=')).toEqual(new Uint8Array([0x41, 0x41]))
    // Same first byte, but the spare bits of the last sextet are set: two spellings of one byte.
    expect(() => fromBase64('QR==')).toThrow(RangeError)
    expect(() => fromBase64('QUF=')).toThrow(RangeError)
  })

  it('rejects missing padding, misplaced padding and characters outside the alphabet', () => {
    const bad = [
      'QQ',
      'QQ=',
      'QUE',
      'Q',
      'Q===',
      '====',
      '=QQ=',
      'Q=Q=',
      'QQ==QQ==',
      'QQ==Zm9v',
      'Zm9v\n',
      'Zm 9',
      'Zm9-',
      'Zm9_',
      'Zm9.',
      'Zm9é',
      'QQ==\n',
    ]
    for (const text of bad) expect(() => fromBase64(text), JSON.stringify(text)).toThrow(RangeError)
  })

  it('never throws anything but RangeError, and only accepts what it would itself encode', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 40 })), (text) => {
        let decoded: Uint8Array
        try {
          decoded = fromBase64(text)
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError)
          return
        }
        expect(toBase64(decoded)).toBe(text)
        expect(Buffer.from(decoded).toString('base64')).toBe(text)
      }),
      { numRuns: 2000 },
    )
  })
})
