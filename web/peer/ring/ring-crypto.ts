/**
 * The crypto the ring needs, behind an interface (STYLE: contracts first): SHA-256 for keys and node ids,
 * Ed25519 verification for records. Browsers and the CLI pass WebCrypto (identity.ts's `webCryptoRing`);
 * the simulator passes Node's synchronous Ed25519, which gives the same answers in a deterministic order.
 */
export interface RingCrypto {
  sha256(bytes: Uint8Array): Promise<Uint8Array>
  /** Whether `signature` is `publicKey`'s Ed25519 signature of `message`; never rejects. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
}

/** What the ring signs its own records with: this node's identity (identity.ts). */
export interface RingSigner {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** SHA-256 of the public key, lowercase hex. */
  readonly nodeId: string
  sign(message: Uint8Array): Promise<Uint8Array>
}
