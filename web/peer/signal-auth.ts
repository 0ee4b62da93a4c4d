/**
 * Offers and answers signed end to end (SPEC §9, docs/PROTOCOL.md "Signed offers and answers"): whoever
 * relays signals — the tracker, a ring relay — can drop them but cannot forge one, nor alter its SDP (whose
 * `a=fingerprint` DTLS checks), nor pass one peer's offer to another, nor present it under another peer id.
 *
 * The link manager signs each offer and answer it sends and checks each it receives before it builds or
 * feeds anything: the sender's key must derive to the `from` the relay stamped, and its signature must
 * cover `from`, `to` (this peer), the attempt's `sid`, the type and the whole SDP. Contract here, WebCrypto
 * implementation beside it; tests of the link caps pass a twin that signs nothing.
 */
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  keyMatchesPeerId,
  type SignedSignalFields,
  signalSignedBytes,
  verifySignature,
} from '../../shared/identity-proof.js'
import type { Identity } from './identity.js'

/** What an offer or answer carries beside its SDP: the sender's raw public key and signature, in hex. */
export interface SignalProof {
  publicKey: string
  signature: string
}

export interface SignalAuth {
  /** The proof that this peer sends these fields (`from` is this peer's id). */
  sign(fields: SignedSignalFields): Promise<SignalProof>
  /** Whether `proof` shows that `fields.from` sent exactly these fields. Never rejects. */
  check(fields: SignedSignalFields, proof: Partial<SignalProof>): Promise<boolean>
}

const HEX_KEY = /^[0-9a-f]{64}$/
const HEX_SIGNATURE = /^[0-9a-f]{128}$/

/** Signs with `identity`'s key and checks with WebCrypto's Ed25519. */
export function signedSignals(identity: Pick<Identity, 'publicKey' | 'sign'>): SignalAuth {
  const publicKey = toHex(identity.publicKey)
  return {
    async sign(fields) {
      return { publicKey, signature: toHex(await identity.sign(signalSignedBytes(fields))) }
    },
    async check(fields, proof) {
      if (typeof proof.publicKey !== 'string' || !HEX_KEY.test(proof.publicKey)) return false
      if (typeof proof.signature !== 'string' || !HEX_SIGNATURE.test(proof.signature)) return false
      const key = fromHex(proof.publicKey)
      try {
        if (!(await keyMatchesPeerId(key, fields.from))) return false
        return await verifySignature(key, signalSignedBytes(fields), fromHex(proof.signature))
      } catch {
        return false // a sid too long to sign, say: not a signal anyone signed
      }
    },
  }
}
