/**
 * A peer's signed identity (SPEC §9): an Ed25519 key pair through WebCrypto, which Chromium (137+),
 * Firefox (129+), Safari (17+) and Node 20's `crypto.subtle` all provide. The node id on the ring is the
 * SHA-256 of the raw 32-byte public key, so nobody can claim an id without holding its key; the peer id
 * the tracker shows is the first 96 bits of the node id, so it stays the same as long as the key does.
 *
 * In browsers the private key is generated non-extractable: script can sign with it but never read it,
 * and IndexedDB stores the CryptoKey itself (structured clone), so not even a stored copy leaks the key.
 * Where keys are kept is behind `KeyStore`; this file has its in-memory twin.
 */
import { nodeIdOf, peerIdOf, verifySignature } from '../../shared/identity-proof.js'
import { sha256 } from '../../shared/manifest.js'
import type { RingCrypto, RingSigner } from './ring/ring-crypto.js'

export { nodeIdOf, peerIdOf, verifySignature }

const ED25519 = { name: 'Ed25519' } as const

/** This peer's identity: what it signs with and the ids derived from its public key. */
export interface Identity extends RingSigner {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** SHA-256 of the public key, 64 lowercase hex characters: the position on the ring. */
  readonly nodeId: string
  /** The first 96 bits of the node id in base64url: the id the tracker and links use. */
  readonly peerId: string
  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** Where a key pair is kept between sessions: IndexedDB in browsers, a file in the CLI's folder. */
export interface KeyStore {
  /** The stored key pair, or null when none was saved yet (or what is stored is not a usable key pair). */
  load(): Promise<CryptoKeyPair | null>
  save(keyPair: CryptoKeyPair): Promise<void>
  /**
   * A store that writes keys out as bytes (the CLI's file) needs them generated extractable; IndexedDB keeps
   * the CryptoKey itself, so browsers keep theirs non-extractable. Default false.
   */
  readonly extractableKeys?: boolean
}

/** The in-memory twin of a KeyStore, for tests and for peers that keep no state. */
export class MemoryKeyStore implements KeyStore {
  #keyPair: CryptoKeyPair | null = null

  async load(): Promise<CryptoKeyPair | null> {
    return this.#keyPair
  }

  async save(keyPair: CryptoKeyPair): Promise<void> {
    this.#keyPair = keyPair
  }
}

/** A fresh key pair; the private key is non-extractable unless asked (the CLI saves its key to a file). */
export async function generateKeyPair(extractable = false): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ED25519, extractable, ['sign', 'verify'])) as CryptoKeyPair
}

/**
 * The key pair of a 32-byte Ed25519 seed (RFC 8032's private key), for test vectors and for keys kept
 * as bytes. The private key is non-extractable unless asked.
 */
export async function keyPairFromSeed(seed: Uint8Array, extractable = false): Promise<CryptoKeyPair> {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
  // PKCS#8 wrapping of an Ed25519 seed (RFC 8410 §7): a fixed 16-byte prefix, then the seed.
  const pkcs8 = new Uint8Array([...PKCS8_ED25519_PREFIX, ...seed])
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign'])
  // WebCrypto derives no public key from a private one; its JWK export carries it (`x`).
  const jwk = await crypto.subtle.exportKey('jwk', privateKey)
  const publicKey = await crypto.subtle.importKey(
    'jwk',
    { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
    ED25519,
    true,
    ['verify'],
  )
  const kept = extractable
    ? privateKey
    : await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign'])
  return { publicKey, privateKey: kept }
}
const PKCS8_ED25519_PREFIX = [
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]

/** The stored key pair's identity, generating and saving a key pair first if none is stored. */
export async function loadOrCreateIdentity(store: KeyStore): Promise<Identity> {
  let keyPair = await store.load()
  if (!keyPair) {
    keyPair = await generateKeyPair(store.extractableKeys ?? false)
    await store.save(keyPair)
  }
  return identityOf(keyPair)
}

export async function identityOf(keyPair: CryptoKeyPair): Promise<Identity> {
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey))
  const nodeId = await nodeIdOf(publicKey)
  const privateKey = keyPair.privateKey
  return {
    publicKey,
    nodeId,
    peerId: peerIdOf(nodeId),
    sign: async (message) =>
      new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, message as Uint8Array<ArrayBuffer>)),
  }
}

/** The ring's crypto through WebCrypto: what browsers and the CLI pass to the ring. */
export const webCryptoRing: RingCrypto = { sha256, verify: verifySignature }
