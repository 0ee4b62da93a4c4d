/**
 * Identities for tests, made synchronously with Node's own Ed25519 (the same signatures WebCrypto makes), so
 * that helpers which build clients synchronously can give each one a key of its own.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { fromHex, toHex } from '../../shared/encoding.js'
import { helloHostOf, helloSignedBytes, peerIdOf } from '../../shared/identity-proof.js'
import type { Identity } from '../../web/peer/identity.js'

export interface NodeIdentity extends Identity {
  signSync(message: Uint8Array): Uint8Array
}

/** The SPKI DER prefix of an Ed25519 public key (RFC 8410): the raw 32 bytes follow it. */
const SPKI_PREFIX_BYTES = 12

export function nodeIdentity(): NodeIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX_BYTES))
  const nodeId = createHash('sha256').update(raw).digest('hex')
  return {
    publicKey: raw,
    nodeId,
    peerId: peerIdOf(nodeId),
    sign: async (message) => new Uint8Array(sign(null, message, privateKey)),
    signSync: (message) => new Uint8Array(sign(null, message, privateKey)),
  }
}

/**
 * The `hello` text answering `text` when it is the tracker's challenge (undefined otherwise), signed at once:
 * for load generators that handle thousands of connections without awaiting each one.
 */
export function helloAnswer(identity: NodeIdentity, text: string, url: string): string | undefined {
  if (!text.startsWith('{"type":"challenge"')) return undefined
  const { nonce } = JSON.parse(text) as { nonce: string }
  const signature = identity.signSync(helloSignedBytes(fromHex(nonce), helloHostOf(url)))
  return JSON.stringify({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
}
