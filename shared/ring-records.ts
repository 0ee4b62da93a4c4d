/**
 * The ring's records (docs/DHT.md, "Records"; exact bytes in docs/PROTOCOL.md, "The ring"): a provider
 * record says "this publisher holds this many chunks of this digest", a name record says "this digest is
 * a file of this name and size", and both are signed by their publisher's Ed25519 key. A record is stored
 * under a key derived from what it is about — the digest for a provider record, each token of the name for
 * a name record — so a storer can check that it was asked to keep it in the right place.
 *
 * Only structure is checked here (lengths, ranges, a valid name); the signature, the key derivation, the
 * expiry window and quotas are checked by the storer (web/peer/ring/record-check.ts), which has crypto.
 */
import type { ByteReader, ByteWriter } from './byte-codec.js'
import { fromHex, toHex } from './encoding.js'
import { MAX_CHUNK_COUNT, MAX_FILE_BYTES } from './limits.js'
import { FileNameSchema } from './tracker-protocol.js'

export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
export const DIGEST_BYTES = 32

/** Longest a provider record may live: a holder republishes every 10 minutes, so two chances to renew. */
export const MAX_PROVIDER_TTL_S = 20 * 60
/** Longest a name record may live: names change rarely; republished every 12 hours while shared. */
export const MAX_NAME_TTL_S = 24 * 60 * 60
/** A record issued this far in the storer's future is still accepted: clocks of home computers drift. */
export const CLOCK_SKEW_S = 120

/** Tokens kept per name: each costs a record stored on k nodes. */
export const MAX_TOKENS_PER_NAME = 8
/** Shortest token: one- and two-letter tokens match too much to be worth a key each. */
export const MIN_TOKEN_CHARS = 3
/** Longest token, in code points; longer ones are cut, the same way for publishers and searchers. */
export const MAX_TOKEN_CHARS = 64
/** Words too common to index: every file would share their keys' nodes. */
// biome-ignore format: a word list reads better packed
const STOP_WORDS = new Set([
  'the', 'and', 'for', 'with', 'from', 'that', 'this', 'are', 'was', 'not', 'but', 'you', 'your', 'all',
  'der', 'die', 'das', 'und', 'les', 'des', 'una', 'con', 'por',
])

export type RecordKind = 'provider' | 'name'
const KIND_BYTE: Record<RecordKind, number> = { provider: 1, name: 2 }

export interface ProviderRecord {
  kind: 'provider'
  /** The publisher's raw Ed25519 public key: the holder, since only a holder may publish itself. */
  publisher: Uint8Array
  digest: string
  /** Chunks of the file the holder has verified and stored. */
  chunks: number
  /** Seconds since 1970. */
  issuedAt: number
  expiresAt: number
  signature: Uint8Array
}

export interface NameRecord {
  kind: 'name'
  publisher: Uint8Array
  digest: string
  name: string
  size: number
  chunkCount: number
  issuedAt: number
  expiresAt: number
  signature: Uint8Array
}

export type SignedRecord = ProviderRecord | NameRecord
export type UnsignedRecord = Omit<ProviderRecord, 'signature'> | Omit<NameRecord, 'signature'>

/** Domain separation of key inputs: a provider key and a name key can never collide on purpose. */
const PROVIDER_KEY_DOMAIN = new TextEncoder().encode('swarmdrop/prov/v1')
const NAME_KEY_DOMAIN = new TextEncoder().encode('swarmdrop/name/v1')
/** Prefixed to the record's bytes before signing, so a record signature is never valid as anything else. */
const SIGNING_DOMAIN = new TextEncoder().encode('swarmdrop/ring-record/v1\0')
const encoder = new TextEncoder()

/** What a provider record's key is the SHA-256 of: the domain, then the digest's 32 raw bytes. */
export function providerKeyInput(digest: string): Uint8Array<ArrayBuffer> {
  return concat(PROVIDER_KEY_DOMAIN, fromHex(digest))
}

/** What a name record's key is the SHA-256 of: the domain, then the token in UTF-8. */
export function nameKeyInput(token: string): Uint8Array<ArrayBuffer> {
  return concat(NAME_KEY_DOMAIN, encoder.encode(token))
}

/** The key input a record must be stored under, for each key it may be stored under. */
export function keyInputsOf(record: SignedRecord | UnsignedRecord): Uint8Array<ArrayBuffer>[] {
  return record.kind === 'provider'
    ? [providerKeyInput(record.digest)]
    : nameTokens(record.name).map(nameKeyInput)
}

/**
 * The tokens a name is indexed under: NFKC, lower case, split at anything that is not a letter or a
 * digit, at least MIN_TOKEN_CHARS code points, cut to MAX_TOKEN_CHARS, no stop words, no repeats, the
 * first MAX_TOKENS_PER_NAME. A search query is tokenised the same way.
 */
export function nameTokens(name: string): string[] {
  const tokens: string[] = []
  for (const part of name
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)) {
    const chars = [...part]
    if (chars.length < MIN_TOKEN_CHARS) continue
    const token = chars.slice(0, MAX_TOKEN_CHARS).join('')
    if (STOP_WORDS.has(token) || tokens.includes(token)) continue
    tokens.push(token)
    if (tokens.length === MAX_TOKENS_PER_NAME) break
  }
  return tokens
}

/** The exact bytes a publisher signs (docs/PROTOCOL.md): the signing domain, then the record unsigned. */
export function recordSignedBytes(record: UnsignedRecord): Uint8Array<ArrayBuffer> {
  return concat(SIGNING_DOMAIN, encodeUnsigned(record))
}

/** Writes a signed record: its unsigned bytes, then the signature. */
export function writeRecord(writer: ByteWriter, record: SignedRecord): void {
  writer.bytes(encodeUnsigned(record)).bytes(record.signature)
}

/** The encoded size of a record, to fill frames without going over their cap. */
export function recordBytes(record: SignedRecord): number {
  const fixed = 1 + PUBLIC_KEY_BYTES + DIGEST_BYTES + 4 + 4 + SIGNATURE_BYTES
  return record.kind === 'provider' ? fixed + 4 : fixed + 8 + 4 + 2 + encoder.encode(record.name).length
}

/** Reads one signed record; `undefined` (and the reader failed) when it is not a well-formed one. */
export function readRecord(reader: ByteReader): SignedRecord | undefined {
  const kind = reader.u8()
  const publisher = reader.bytes(PUBLIC_KEY_BYTES)
  const digestBytes = reader.bytes(DIGEST_BYTES)
  if (publisher === undefined || digestBytes === undefined) return undefined
  const digest = toHex(digestBytes)
  if (kind === KIND_BYTE.provider) {
    const chunks = reader.u32()
    const issuedAt = reader.u32()
    const expiresAt = reader.u32()
    const signature = reader.bytes(SIGNATURE_BYTES)
    if (signature === undefined || chunks === undefined || issuedAt === undefined || expiresAt === undefined)
      return undefined
    if (chunks < 1 || chunks > MAX_CHUNK_COUNT || expiresAt <= issuedAt) return reader.fail()
    return { kind: 'provider', publisher, digest, chunks, issuedAt, expiresAt, signature }
  }
  if (kind === KIND_BYTE.name) {
    const size = reader.u64()
    const chunkCount = reader.u32()
    const issuedAt = reader.u32()
    const expiresAt = reader.u32()
    const name = reader.text16()
    const signature = reader.bytes(SIGNATURE_BYTES)
    if (
      signature === undefined ||
      size === undefined ||
      chunkCount === undefined ||
      issuedAt === undefined ||
      expiresAt === undefined ||
      name === undefined
    )
      return undefined
    if (size > MAX_FILE_BYTES || chunkCount > MAX_CHUNK_COUNT || expiresAt <= issuedAt) return reader.fail()
    if (!FileNameSchema.safeParse(name).success) return reader.fail()
    return { kind: 'name', publisher, digest, name, size, chunkCount, issuedAt, expiresAt, signature }
  }
  return reader.fail()
}

/** One record per publisher, kind and digest under a key: a newer one replaces it. */
export function recordSlot(record: SignedRecord): string {
  return `${record.kind}:${toHex(record.publisher)}:${record.digest}`
}

function encodeUnsigned(record: UnsignedRecord): Uint8Array<ArrayBuffer> {
  const name = record.kind === 'name' ? encoder.encode(record.name) : undefined
  const length = 1 + PUBLIC_KEY_BYTES + DIGEST_BYTES + 12 + (name ? 8 + 2 + name.length : 0)
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  out[0] = KIND_BYTE[record.kind]
  out.set(record.publisher, 1)
  out.set(fromHex(record.digest), 1 + PUBLIC_KEY_BYTES)
  let offset = 1 + PUBLIC_KEY_BYTES + DIGEST_BYTES
  if (record.kind === 'provider') {
    view.setUint32(offset, record.chunks)
    offset += 4
  } else {
    view.setUint32(offset, Math.floor(record.size / 2 ** 32))
    view.setUint32(offset + 4, record.size >>> 0)
    view.setUint32(offset + 8, record.chunkCount)
    offset += 12
  }
  view.setUint32(offset, record.issuedAt)
  view.setUint32(offset + 4, record.expiresAt)
  offset += 8
  if (name) {
    view.setUint16(offset, name.length)
    out.set(name, offset + 2)
  }
  return out
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
