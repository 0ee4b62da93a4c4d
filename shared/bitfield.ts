import { fromBase64, toBase64 } from './encoding.js'

/**
 * Which chunks of a file a peer holds: bit i (most significant bit first in each byte, as in
 * BitTorrent's bitfield) is chunk i. Spare bits of the last byte are always zero, so one set of chunks
 * has exactly one encoding.
 */
export class Bitfield {
  readonly bytes: Uint8Array
  #count: number

  constructor(
    readonly length: number,
    bytes?: Uint8Array,
  ) {
    if (!Number.isInteger(length) || length < 0)
      throw new RangeError('bitfield length must be a whole number')
    const byteLength = Math.ceil(length / 8)
    if (bytes && bytes.length !== byteLength) throw new RangeError('bitfield bytes do not match its length')
    this.bytes = bytes ? bytes.slice() : new Uint8Array(byteLength)
    if (bytes && length % 8 !== 0 && (this.bytes[byteLength - 1]! & (0xff >> (length % 8))) !== 0) {
      throw new RangeError('bitfield has bits set past its length')
    }
    this.#count = 0
    for (const byte of this.bytes) this.#count += popcount(byte)
  }

  static full(length: number): Bitfield {
    const field = new Bitfield(length)
    for (let i = 0; i < length; i++) field.set(i)
    return field
  }

  /** Parses the wire form; throws RangeError when it is not canonical base64 of the right length. */
  static fromBase64(length: number, text: string): Bitfield {
    return new Bitfield(length, fromBase64(text))
  }

  get count(): number {
    return this.#count
  }

  get complete(): boolean {
    return this.#count === this.length
  }

  has(index: number): boolean {
    this.#check(index)
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0
  }

  /** Returns whether the bit was newly set. */
  set(index: number): boolean {
    if (this.has(index)) return false
    this.bytes[index >> 3]! |= 0x80 >> (index & 7)
    this.#count++
    return true
  }

  /** Returns whether the bit was set before. */
  clear(index: number): boolean {
    if (!this.has(index)) return false
    this.bytes[index >> 3]! &= ~(0x80 >> (index & 7))
    this.#count--
    return true
  }

  toBase64(): string {
    return toBase64(this.bytes)
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`chunk index ${index} is outside 0..${this.length - 1}`)
    }
  }
}

function popcount(byte: number): number {
  let count = 0
  for (let b = byte; b !== 0; b &= b - 1) count++
  return count
}
