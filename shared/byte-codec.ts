/**
 * Big-endian binary writing and bounds-checked reading, for the ring's compact frames and signed records.
 * The reader never throws: a read past the end returns `undefined` and marks the reader failed, so a
 * parser reads every field and checks `ok` once at the end.
 */

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Writers share one scratch buffer: writing is synchronous and `finish` copies out, so a writer is used
 * and done before the next one starts, and encoding a message allocates only its result.
 */
let scratch = new Uint8Array(64 * 1024)
let scratchView = new DataView(scratch.buffer)
let scratchOwner: ByteWriter | null = null

export class ByteWriter {
  #buffer: Uint8Array<ArrayBuffer>
  #view: DataView
  #length = 0

  constructor(initialBytes = 256) {
    if (scratchOwner === null || scratchOwner.#finished) {
      scratchOwner = this
      this.#buffer = scratch
      this.#view = scratchView
    } else {
      this.#buffer = new Uint8Array(initialBytes)
      this.#view = new DataView(this.#buffer.buffer)
    }
  }

  #finished = false

  get length(): number {
    return this.#length
  }

  u8(value: number): this {
    this.#reserve(1).setUint8(this.#length, value)
    this.#length += 1
    return this
  }

  u16(value: number): this {
    this.#reserve(2).setUint16(this.#length, value)
    this.#length += 2
    return this
  }

  u32(value: number): this {
    this.#reserve(4).setUint32(this.#length, value)
    this.#length += 4
    return this
  }

  /** An unsigned integer up to 2^53 − 1, as 8 bytes. */
  u64(value: number): this {
    this.#reserve(8)
    this.#view.setUint32(this.#length, Math.floor(value / 2 ** 32))
    this.#view.setUint32(this.#length + 4, value >>> 0)
    this.#length += 8
    return this
  }

  bytes(bytes: Uint8Array): this {
    this.#reserve(bytes.length)
    this.#buffer.set(bytes, this.#length)
    this.#length += bytes.length
    return this
  }

  /** UTF-8 text after its byte length as a u16. */
  text16(text: string): this {
    const bytes = utf8Encoder.encode(text)
    return this.u16(bytes.length).bytes(bytes)
  }

  /** The bytes written, as a fresh array of exactly that length; the writer is done after this. */
  finish(): Uint8Array<ArrayBuffer> {
    this.#finished = true
    if (scratchOwner === this) scratchOwner = null
    return this.#buffer.slice(0, this.#length)
  }

  #reserve(extra: number): DataView {
    if (this.#length + extra > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + extra))
      grown.set(this.#buffer.subarray(0, this.#length))
      if (this.#buffer === scratch) {
        scratch = grown
        scratchView = new DataView(grown.buffer)
      }
      this.#buffer = grown
      this.#view = new DataView(grown.buffer)
    }
    return this.#view
  }
}

export class ByteReader {
  readonly #data: Uint8Array
  readonly #view: DataView
  #offset = 0
  #failed = false

  constructor(data: Uint8Array) {
    this.#data = data
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  }

  /** False once any read ran past the end. */
  get ok(): boolean {
    return !this.#failed
  }

  get remaining(): number {
    return this.#data.length - this.#offset
  }

  get offset(): number {
    return this.#offset
  }

  u8(): number | undefined {
    if (!this.#take(1)) return undefined
    return this.#view.getUint8(this.#offset - 1)
  }

  u16(): number | undefined {
    if (!this.#take(2)) return undefined
    return this.#view.getUint16(this.#offset - 2)
  }

  u32(): number | undefined {
    if (!this.#take(4)) return undefined
    return this.#view.getUint32(this.#offset - 4)
  }

  /** An 8-byte unsigned integer; `undefined` (and failed) when it exceeds 2^53 − 1. */
  u64(): number | undefined {
    if (!this.#take(8)) return undefined
    const high = this.#view.getUint32(this.#offset - 8)
    const low = this.#view.getUint32(this.#offset - 4)
    if (high >= 2 ** 21) {
      this.#failed = true
      return undefined
    }
    return high * 2 ** 32 + low
  }

  /** A view of the next `length` bytes (not a copy). */
  bytes(length: number): Uint8Array | undefined {
    if (!this.#take(length)) return undefined
    return this.#data.subarray(this.#offset - length, this.#offset)
  }

  /** UTF-8 text after its u16 byte length; `undefined` (and failed) when it is not valid UTF-8. */
  text16(): string | undefined {
    const length = this.u16()
    if (length === undefined) return undefined
    const bytes = this.bytes(length)
    if (bytes === undefined) return undefined
    try {
      return utf8Decoder.decode(bytes)
    } catch {
      this.#failed = true
      return undefined
    }
  }

  /** Marks the input invalid for a reason the caller found (a value out of range). */
  fail(): undefined {
    this.#failed = true
    return undefined
  }

  #take(length: number): boolean {
    if (this.#failed || length < 0 || this.#offset + length > this.#data.length) {
      this.#failed = true
      return false
    }
    this.#offset += length
    return true
  }
}
