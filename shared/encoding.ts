/** Byte encodings that work the same in browsers and Node, without Node's Buffer. */

const HEX_DIGITS = '0123456789abcdef'

/** Each byte's two hex digits: one string append a byte (ids are converted on every ring message). */
const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!)

export function toHex(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i]!]!
  return out
}

/** Lowercase hex only: a digest has one spelling, so string comparison is identity. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0) throw new RangeError('not lowercase hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const high = HEX_VALUES[hex.charCodeAt(i * 2)] ?? -1
    const low = HEX_VALUES[hex.charCodeAt(i * 2 + 1)] ?? -1
    if (high < 0 || low < 0) throw new RangeError('not lowercase hex')
    out[i] = (high << 4) | low
  }
  return out
}

/** The value of each lowercase hex digit by its char code, -1 for every other character below 128. */
const HEX_VALUES = Array.from({ length: 128 }, (_, code) => HEX_DIGITS.indexOf(String.fromCharCode(code)))

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_LOOKUP = new Map([...BASE64_ALPHABET].map((char, index) => [char, index]))

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!
    const b = bytes[i + 1]
    const c = bytes[i + 2]
    out += BASE64_ALPHABET[a >> 2]
    out += BASE64_ALPHABET[((a & 3) << 4) | ((b ?? 0) >> 4)]
    out += b === undefined ? '=' : BASE64_ALPHABET[((b & 15) << 2) | ((c ?? 0) >> 6)]
    out += c === undefined ? '=' : BASE64_ALPHABET[c & 63]
  }
  return out
}

/** Strict: rejects anything but canonical padded base64, so one byte string has one encoding. */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new RangeError('base64 length is not a multiple of 4')
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const out = new Uint8Array((text.length / 4) * 3 - padding)
  let o = 0
  for (let i = 0; i < text.length; i += 4) {
    const sextets = [0, 1, 2, 3].map((k) => {
      const char = text[i + k]!
      if (char === '=' && i + 4 === text.length && k >= 4 - padding) return 0
      const value = BASE64_LOOKUP.get(char)
      if (value === undefined) throw new RangeError('not base64')
      return value
    })
    const [s0, s1, s2, s3] = sextets as [number, number, number, number]
    const triple = (s0 << 18) | (s1 << 12) | (s2 << 6) | s3
    if (o < out.length) out[o++] = (triple >> 16) & 255
    if (o < out.length) out[o++] = (triple >> 8) & 255
    if (o < out.length) out[o++] = triple & 255
  }
  if (toBase64(out) !== text) throw new RangeError('non-canonical base64')
  return out
}
