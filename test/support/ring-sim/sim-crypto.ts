/**
 * The ring's crypto in the simulator: real Ed25519 and SHA-256 from Node's synchronous API, wrapped in
 * resolved promises, so every continuation runs before the simulator's next event and a run repeats
 * exactly (WebCrypto's thread pool would finish in any order). Keys come from seeds of the run's PRNG.
 *
 * Verification is memoised on the exact (key, message, signature) bytes: a pure function's result does
 * not change, and at N = 10,000 every record is verified by each of its 8 replicas and by every reader.
 * A forged record differs in some byte, so it misses the memo and is verified for real.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { toHex } from '../../../shared/encoding.js'
import type { RingCrypto, RingSigner } from '../../../web/peer/ring/ring-crypto.js'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** A signer from a 32-byte seed; `onSign` hears each signature made (the simulation keeps them). */
export function simSigner(seed: Uint8Array, onSign: (signature: Uint8Array) => void = () => {}): RingSigner {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length))
  const nodeId = createHash('sha256').update(publicKey).digest('hex')
  return {
    publicKey,
    nodeId,
    sign: (message) => {
      const signature = new Uint8Array(sign(null, message, privateKey))
      onSign(signature)
      return Promise.resolve(signature)
    },
  }
}

export class SimCrypto implements RingCrypto {
  readonly #verified = new Map<string, boolean>()
  readonly #keys = new Map<string, ReturnType<typeof createPublicKey>>()
  /** Verifications actually computed (memo misses). */
  computed = 0

  sha256(bytes: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(createHash('sha256').update(bytes).digest()))
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const memo = `${toHex(publicKey)}${toHex(signature)}${Buffer.from(message).toString('latin1')}`
    let result = this.#verified.get(memo)
    if (result === undefined) {
      result = this.#verifyNow(publicKey, message, signature)
      this.computed++
      if (this.#verified.size > 2_000_000) this.#verified.clear()
      this.#verified.set(memo, result)
    }
    return Promise.resolve(result)
  }

  #verifyNow(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    const hex = toHex(publicKey)
    let key = this.#keys.get(hex)
    try {
      if (!key) {
        key = createPublicKey({
          key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
          format: 'der',
          type: 'spki',
        })
        this.#keys.set(hex, key)
      }
      return verify(null, message, key, signature)
    } catch {
      return false
    }
  }
}
