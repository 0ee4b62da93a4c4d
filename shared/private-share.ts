/**
 * Private shares (SPEC §3): a file encrypted by its sharer before any byte leaves it, so that peers store,
 * verify and re-share its chunks without being able to read them, and only holders of the link's key can.
 * docs/PROTOCOL.md, "Private shares", states this format with test vectors; keep the two in step.
 *
 * The plaintext that is encrypted is a *sealed container*: a u32 big-endian header length, a UTF-8 JSON
 * header `{"v":1,"name":…,"mime":…,"size":…}`, then the file's bytes. So the name and type travel
 * encrypted inside chunk 0, covered by the digest like every other byte: no manifest field, no wire message
 * and no tracker message carries them. The container is cut into pieces of `chunkSize − 16` bytes; piece
 * `i` is sealed with AES-256-GCM under the share's key, nonce = `i` as a 96-bit big-endian integer (a key
 * seals exactly one container, so a nonce is never reused), and the fixed additional data
 * `swarmdrop-private-v1`. Each sealed piece is `chunkSize` bytes (the last one shorter): the chunks of an
 * ordinary manifest, whose digest therefore covers the ciphertext.
 *
 * WebCrypto only (`globalThis.crypto.subtle`), so browsers and Node run the same code.
 */
import { z } from 'zod'
import { SwarmError } from './errors.js'
import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_COUNT, MAX_FILE_BYTES } from './limits.js'
import { DIGEST_PATTERN } from './manifest.js'
import { FileNameSchema } from './tracker-protocol.js'

/** Bytes of a raw AES-256 key. */
export const KEY_BYTES = 32
/** Bytes of the GCM authentication tag each sealed chunk carries after its ciphertext. */
export const TAG_BYTES = 16
/** Bytes of a password link's salt. */
export const SALT_BYTES = 16
/**
 * PBKDF2-HMAC-SHA-256 iterations for a password link: OWASP's 2023 recommendation for this PRF (600,000).
 * Deriving costs ~0.3 s in Chromium on this kind of machine; fixed in version 1 of the format.
 */
export const PASSWORD_ITERATIONS = 600_000
/** Longest header JSON accepted: a 255-character name in UTF-8 and a MIME type fit many times over. */
export const MAX_HEADER_BYTES = 4096
/** Additional authenticated data of every sealed chunk: domain separation from any other use of a key. */
const AAD = new TextEncoder().encode('swarmdrop-private-v1')

/** What chunk 0's header says of the file inside. */
export interface SealedHeader {
  name: string
  mime: string
  /** The file's own size in bytes (the container is the header plus this). */
  size: number
}

const HeaderSchema = z.strictObject({
  v: z.literal(1),
  name: FileNameSchema,
  mime: z
    .string()
    .max(127)
    .regex(/^[\x21-\x7e]*$/),
  size: z.number().int().min(0).max(MAX_FILE_BYTES),
})

/** The header's bytes: u32 BE length, then the JSON. */
export function encodeHeader(header: SealedHeader): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify({ v: 1, name: header.name, mime: header.mime, size: header.size }),
  )
  if (json.length > MAX_HEADER_BYTES) throw new RangeError('the sealed header is too long')
  const bytes = new Uint8Array(4 + json.length)
  new DataView(bytes.buffer).setUint32(0, json.length)
  bytes.set(json, 4)
  return bytes
}

/**
 * Reads the header at the start of a container (the plaintext of chunk 0). Returns it with the offset where
 * the file's bytes begin; throws a SwarmError WRONG_KEY when the bytes are not a header (only a decryption
 * with the right key gives one, and GCM has already checked it by then, so this means a broken sharer).
 */
export function decodeHeader(plain: Uint8Array): { header: SealedHeader; offset: number } {
  const bad = (why: string) => new SwarmError('WRONG_KEY', `not a sealed header: ${why}`)
  if (plain.length < 4) throw bad('too short')
  const length = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0)
  if (length > MAX_HEADER_BYTES || 4 + length > plain.length) throw bad('bad length')
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain.subarray(4, 4 + length)))
  } catch {
    throw bad('not JSON')
  }
  const parsed = HeaderSchema.safeParse(value)
  if (!parsed.success) throw bad(parsed.error.issues[0]?.message ?? 'invalid')
  const { name, mime, size } = parsed.data
  return { header: { name, mime, size }, offset: 4 + length }
}

/** The layout of a sealed container of `containerSize` bytes. */
export interface SealedLayout {
  /** The manifest's chunk size (a power of two). */
  chunkSize: number
  /** Plaintext bytes per chunk: chunkSize − 16. */
  pieceSize: number
  chunkCount: number
  /** The ciphertext's size, the manifest's `size`: the container plus 16 bytes a chunk. */
  sealedSize: number
}

/**
 * 1 MiB chunks, doubled while the container needs more than MAX_CHUNK_COUNT pieces: the same rule as
 * `chunkSizeFor`, counting the 16-byte tag each chunk carries. Throws FILE_TOO_LARGE past the limit.
 */
export function sealedLayout(containerSize: number): SealedLayout {
  let chunkSize = DEFAULT_CHUNK_BYTES
  const pieces = (size: number) => Math.max(1, Math.ceil(containerSize / (size - TAG_BYTES)))
  while (pieces(chunkSize) > MAX_CHUNK_COUNT) {
    chunkSize *= 2
    if (chunkSize > MAX_CHUNK_BYTES) throw new SwarmError('FILE_TOO_LARGE', 'too large to seal')
  }
  const chunkCount = pieces(chunkSize)
  const sealedSize = containerSize + chunkCount * TAG_BYTES
  if (sealedSize > MAX_FILE_BYTES) throw new SwarmError('FILE_TOO_LARGE', 'too large to seal')
  return { chunkSize, pieceSize: chunkSize - TAG_BYTES, chunkCount, sealedSize }
}

/** Nonce of chunk `index`: the index as a 96-bit big-endian integer. */
export function nonceOf(index: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setUint32(8, index)
  return nonce
}

/** Imports a raw 32-byte key for sealing and opening. */
export async function importKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== KEY_BYTES) throw new SwarmError('WRONG_KEY', `a key is ${KEY_BYTES} bytes`)
  return globalThis.crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ])
}

/** A fresh random key (the CSPRNG of WebCrypto). */
export function newKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES))
}

export function newSalt(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES))
}

/** Seals one piece of the container as chunk `index`. */
export async function sealChunk(key: CryptoKey, index: number, piece: Uint8Array): Promise<Uint8Array> {
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonceOf(index), additionalData: AAD, tagLength: TAG_BYTES * 8 },
    key,
    piece as Uint8Array<ArrayBuffer>,
  )
  return new Uint8Array(sealed)
}

/** Opens chunk `index`; throws WRONG_KEY when the key is not the one it was sealed with. */
export async function openChunk(key: CryptoKey, index: number, sealed: Uint8Array): Promise<Uint8Array> {
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonceOf(index), additionalData: AAD, tagLength: TAG_BYTES * 8 },
      key,
      sealed as Uint8Array<ArrayBuffer>,
    )
    return new Uint8Array(plain)
  } catch (error) {
    throw new SwarmError('WRONG_KEY', `chunk ${index} does not open with this key`, { cause: error })
  }
}

/** The key of a password link: PBKDF2-HMAC-SHA-256 of the NFC-normalised password, 600,000 iterations. */
export async function keyFromPassword(password: string, salt: Uint8Array): Promise<Uint8Array> {
  const material = await globalThis.crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(password.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveBits'],
  )
  const bits = await globalThis.crypto.subtle.deriveBits(
    {
      name: 'PBKDF2',
      hash: 'SHA-256',
      salt: salt as Uint8Array<ArrayBuffer>,
      iterations: PASSWORD_ITERATIONS,
    },
    material,
    KEY_BYTES * 8,
  )
  return new Uint8Array(bits)
}

// ---------------------------------------------------------------- links

/** What the fragment of a private link holds. */
export type ShareSecret = { kind: 'key'; key: Uint8Array } | { kind: 'password'; salt: Uint8Array }

export interface PrivateLink {
  digest: string
  secret: ShareSecret
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/** base64url without padding (RFC 4648 §5), as links carry keys. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Strict: only canonical unpadded base64url of exactly `length` bytes; undefined otherwise. */
export function fromBase64Url(text: string, length: number): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length !== Math.ceil((length * 4) / 3)) return undefined
  let binary: string
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return undefined
  }
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0))
  return bytes.length === length && toBase64Url(bytes) === text ? bytes : undefined
}

/** The fragment (without `#`) of a private link: `<digest>.<key>` or `<digest>.p.<salt>`. */
export function privateFragment(link: PrivateLink): string {
  return link.secret.kind === 'key'
    ? `${link.digest}.${toBase64Url(link.secret.key)}`
    : `${link.digest}.p.${toBase64Url(link.secret.salt)}`
}

/** Parses a fragment (with or without `#`); undefined when it is not a private link. Never throws. */
export function parsePrivateFragment(fragment: string): PrivateLink | undefined {
  const text = fragment.replace(/^#/, '')
  const parts = text.split('.')
  const digest = parts[0]?.toLowerCase() ?? ''
  if (!DIGEST_PATTERN.test(digest)) return undefined
  if (parts.length === 2) {
    const key = fromBase64Url(parts[1]!, KEY_BYTES)
    return key ? { digest, secret: { kind: 'key', key } } : undefined
  }
  if (parts.length === 3 && parts[1] === 'p') {
    const salt = fromBase64Url(parts[2]!, SALT_BYTES)
    return salt ? { digest, secret: { kind: 'password', salt } } : undefined
  }
  return undefined
}

/** Seals bytes held in memory: for tests, vectors and small files (browsers seal dropped files in slices). */
export async function sealBytes(
  rawKey: Uint8Array,
  header: Omit<SealedHeader, 'size'>,
  bytes: Uint8Array,
): Promise<{ chunks: Uint8Array[]; chunkSize: number; sealedSize: number }> {
  const head = encodeHeader({ ...header, size: bytes.length })
  const container = new Uint8Array(head.length + bytes.length)
  container.set(head, 0)
  container.set(bytes, head.length)
  const layout = sealedLayout(container.length)
  const key = await importKey(rawKey)
  const chunks: Uint8Array[] = []
  for (let index = 0; index < layout.chunkCount; index++) {
    const piece = container.subarray(index * layout.pieceSize, (index + 1) * layout.pieceSize)
    chunks.push(await sealChunk(key, index, piece))
  }
  return { chunks, chunkSize: layout.chunkSize, sealedSize: layout.sealedSize }
}
