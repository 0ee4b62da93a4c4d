/**
 * Offers and answers signed end to end (SPEC §9, docs/PROTOCOL.md "Signed offers and answers"): whoever
 * relays signals — the tracker, a ring relay — can drop them but cannot forge one, nor alter its SDP (whose
 * `a=fingerprint` DTLS checks), nor pass one peer's offer to another, nor present it under another peer id,
 * nor replay one: the signature covers when it was signed, and a receiver takes each signed offer or answer
 * once, and only within `SIGNAL_WINDOW_MS` of its time.
 *
 * The link manager signs each offer and answer it sends and checks each it receives before it builds or
 * feeds anything: the sender's key must derive to the `from` the relay stamped, and its signature must
 * cover `from`, `to` (this peer), the attempt's `sid`, the type, the time and the whole SDP. Contract here,
 * WebCrypto implementation beside it; tests of the link caps pass a twin that signs nothing.
 */
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  keyMatchesPeerId,
  type SignedSignalFields,
  signalSignedBytes,
  verifySignature,
} from '../../shared/identity-proof.js'
import type { Identity } from './identity.js'

/**
 * What an offer or answer carries beside its SDP: the sender's raw public key and signature, in hex, and
 * when it signed (ms since 1970, UTC), which the signature covers.
 */
export interface SignalProof {
  publicKey: string
  signature: string
  at: number
}

/**
 * `valid`; `forged` (the key does not derive to `from`, or the signature does not cover these fields);
 * `replayed` (a true signature, but one this peer took already, or made further than `SIGNAL_WINDOW_MS`
 * from this peer's clock).
 */
export type SignalVerdict = 'valid' | 'forged' | 'replayed'

export interface SignalAuth {
  /** The proof that this peer sends these fields (`from` is this peer's id), signed now. */
  sign(fields: SignedSignalFields): Promise<SignalProof>
  /** Whether `proof` shows that `fields.from` sent exactly these fields, once and lately. Never rejects. */
  check(fields: SignedSignalFields, proof: Partial<SignalProof>): Promise<SignalVerdict>
}

/**
 * How far a signal's time may lie from the receiver's clock, either way. An offer and its answer cross the
 * relay in well under a second; the rest is for clocks that are off (phones and laptops keep theirs within
 * seconds of true time by NTP; a few minutes off is still taken). A replay must come within this window, and
 * within it the receiver remembers every signature it took.
 */
export const SIGNAL_WINDOW_MS = 10 * 60_000
/**
 * Signatures remembered at most. A relay can only replay signatures the sender made for this peer, and a
 * peer takes at most a few hundred offers and answers in 20 minutes (its PeerConnection budget, ~500 in a
 * tab's life, is the real bound); past this the oldest are forgotten first.
 */
export const MAX_SEEN_SIGNALS = 4096

const HEX_KEY = /^[0-9a-f]{64}$/
const HEX_SIGNATURE = /^[0-9a-f]{128}$/

export interface SignedSignalsOptions {
  /** The clock signals are timed by. Default Date.now. */
  now?: () => number
  windowMs?: number
  maxSeen?: number
}

/** Signs with `identity`'s key and checks with WebCrypto's Ed25519; one per peer (it remembers what it took). */
export function signedSignals(
  identity: Pick<Identity, 'publicKey' | 'sign'>,
  options: SignedSignalsOptions = {},
): SignalAuth {
  const publicKey = toHex(identity.publicKey)
  const now = options.now ?? Date.now
  const windowMs = options.windowMs ?? SIGNAL_WINDOW_MS
  const maxSeen = options.maxSeen ?? MAX_SEEN_SIGNALS
  /** Signatures taken, by sender and signature, with when each may be forgotten (oldest first). */
  const seen = new Map<string, number>()
  const forgetOld = (time: number) => {
    for (const [key, until] of seen) {
      if (until > time) break
      seen.delete(key)
    }
  }
  return {
    async sign(fields) {
      const at = Math.floor(now())
      return { publicKey, signature: toHex(await identity.sign(signalSignedBytes({ ...fields, at }))), at }
    },
    async check(fields, proof) {
      if (typeof proof.publicKey !== 'string' || !HEX_KEY.test(proof.publicKey)) return 'forged'
      if (typeof proof.signature !== 'string' || !HEX_SIGNATURE.test(proof.signature)) return 'forged'
      const at = proof.at
      if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return 'forged'
      const key = fromHex(proof.publicKey)
      try {
        if (!(await keyMatchesPeerId(key, fields.from))) return 'forged'
        const bytes = signalSignedBytes({ ...fields, at })
        if (!(await verifySignature(key, bytes, fromHex(proof.signature)))) return 'forged'
      } catch {
        return 'forged' // a sid too long to sign, say: not a signal anyone signed
      }
      const time = now()
      if (Math.abs(time - at) > windowMs) return 'replayed'
      const id = `${fields.from}:${proof.signature}`
      forgetOld(time)
      if (seen.has(id)) return 'replayed'
      // Kept until it falls out of the window; entries go in about in time order, so the oldest are first.
      if (seen.size >= maxSeen) seen.delete(seen.keys().next().value!)
      seen.set(id, Math.max(at, time) + windowMs)
      return 'valid'
    },
  }
}
