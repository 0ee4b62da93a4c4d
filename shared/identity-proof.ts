/**
 * What a peer's identity proves, and the exact bytes it signs to prove it (docs/PROTOCOL.md, "The hello"
 * and "Signed offers and answers", with test vectors). Shared by the tracker, which checks the hello, and the
 * peers, which sign the hello and check each other's offers and answers. WebCrypto only (`crypto.subtle`,
 * in browsers and in Node 20), so this file runs on both sides.
 *
 * Every signed byte string starts with its own ASCII context and a zero byte, so that a signature made for
 * one purpose (a hello, an offer, a ring record) is never valid for another.
 */
import { fromHex, toBase64, toHex } from './encoding.js'
import { sha256 } from './manifest.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './ring-records.js'

const ED25519 = { name: 'Ed25519' } as const
/** Bytes of the node id that make the peer id: 12 bytes are 16 base64url characters (PEER_ID_PATTERN). */
const PEER_ID_BYTES = 12
/** Random bytes in the tracker's challenge: never repeated, so a hello cannot be replayed. */
export const HELLO_NONCE_BYTES = 32

export const HELLO_CONTEXT = 'swarmdrop/hello/v1'
export const SIGNAL_CONTEXT = 'swarmdrop/signal/v2'
/** The hello to a CLI peer's `--listen` socket (shared/entry-protocol.ts): never valid as a tracker hello. */
export const LISTEN_HELLO_CONTEXT = 'swarmdrop/listen-hello/v1'

const encoder = new TextEncoder()

/** The node id of a raw public key: lowercase hex SHA-256. */
export async function nodeIdOf(publicKey: Uint8Array): Promise<string> {
  return toHex(await sha256(publicKey))
}

/** The peer id of a node id: its first 96 bits in base64url (16 characters, no padding). */
export function peerIdOf(nodeId: string): string {
  return toBase64(fromHex(nodeId).subarray(0, PEER_ID_BYTES)).replaceAll('+', '-').replaceAll('/', '_')
}

/** Whether `peerId` is the peer id of the raw public key `publicKey`. */
export async function keyMatchesPeerId(publicKey: Uint8Array, peerId: string): Promise<boolean> {
  return publicKey.length === PUBLIC_KEY_BYTES && peerIdOf(await nodeIdOf(publicKey)) === peerId
}

/**
 * Whether `signature` is `publicKey`'s Ed25519 signature of `message`. Never throws: a key or signature of
 * the wrong length, or a key WebCrypto refuses, is simply not a valid signature.
 */
export async function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  try {
    const key = await crypto.subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, ED25519, false, [
      'verify',
    ])
    return await crypto.subtle.verify(
      ED25519,
      key,
      signature as Uint8Array<ArrayBuffer>,
      message as Uint8Array<ArrayBuffer>,
    )
  } catch {
    return false
  }
}

/**
 * The bytes a client signs to answer the tracker's challenge: `swarmdrop/hello/v1`, a zero byte, the 32-byte
 * nonce, then the tracker's host as the client addressed it, in UTF-8: the host name in lower case or the IP
 * address (IPv6 without brackets), no port. The host binds the proof to one tracker: a tracker that passed a
 * client another tracker's challenge would get a proof naming itself, which the other refuses.
 */
export function helloSignedBytes(nonce: Uint8Array, host: string): Uint8Array {
  return concat([contextBytes(HELLO_CONTEXT), nonce, encoder.encode(host)])
}

/**
 * The bytes a client signs to answer a `--listen` socket's challenge (shared/entry-protocol.ts): the same
 * layout as `helloSignedBytes` under its own context, so that a listening peer which passed a client the
 * tracker's challenge (or the other way round) gets a proof that the other refuses, even on the same host.
 */
export function listenHelloSignedBytes(nonce: Uint8Array, host: string): Uint8Array {
  return concat([contextBytes(LISTEN_HELLO_CONTEXT), nonce, encoder.encode(host)])
}

/** What of an offer or answer its signature covers. */
export interface SignedSignalFields {
  /** The sender's peer id and the receiver's (16 characters each). */
  from: string
  to: string
  /** The attempt id the offer or answer belongs to (1–64 characters). */
  sid: string
  type: 'offer' | 'answer'
  /** The whole SDP: its `a=fingerprint` line is what DTLS checks, so no relay can sit in the middle. */
  sdp: string
}

/** What a signature covers: the signal's fields and when the sender signed them (ms since 1970, UTC). */
export interface SignalSignedFields extends SignedSignalFields {
  /** Whole milliseconds, 0 to 2^53 − 1: the receiver refuses a signal signed too long ago (a replay). */
  at: number
}

/**
 * The bytes a peer signs for an offer or an answer: `swarmdrop/signal/v2`, a zero byte, `from` and `to`
 * (16 ASCII bytes each), a u8 length then `sid` in UTF-8, `type` in ASCII and a zero byte, `at` as a u64
 * big-endian, then the SDP in UTF-8 to the end. (v1 had no `at`: a relay could replay an old offer.)
 */
export function signalSignedBytes(fields: SignalSignedFields): Uint8Array {
  const sid = encoder.encode(fields.sid)
  if (sid.length < 1 || sid.length > 255) throw new RangeError('a sid is 1 to 255 bytes')
  if (!Number.isSafeInteger(fields.at) || fields.at < 0) throw new RangeError('at is a whole number of ms')
  const at = new Uint8Array(8)
  new DataView(at.buffer).setBigUint64(0, BigInt(fields.at))
  return concat([
    contextBytes(SIGNAL_CONTEXT),
    encoder.encode(fields.from),
    encoder.encode(fields.to),
    Uint8Array.of(sid.length),
    sid,
    encoder.encode(fields.type),
    Uint8Array.of(0),
    at,
    encoder.encode(fields.sdp),
  ])
}

/** The host a client names in its hello for a tracker URL: lower case, no port, IPv6 without brackets. */
export function helloHostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
}

function contextBytes(context: string): Uint8Array {
  return concat([encoder.encode(context), Uint8Array.of(0)])
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
