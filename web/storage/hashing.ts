/**
 * Hashing for storage. Chunks: WebCrypto's one-shot SHA-256 (`sha256Hex` in shared/manifest.ts), native
 * and ~2.5× faster than hash-wasm here (docs/BENCHMARKS.md, "Chunk hashing"). The whole file: hash-wasm's
 * incremental SHA-256, since browsers have no streaming digest of their own (SPEC §3).
 */
import { createSHA256, type IHasher } from 'hash-wasm'
/** An incremental SHA-256 of a whole file, fed chunk by chunk. */
export interface PlainHasher {
  update(bytes: Uint8Array): void
  /** Lowercase hex. */
  digest(): string
}

export async function createPlainHasher(): Promise<PlainHasher> {
  const hasher: IHasher = await createSHA256()
  hasher.init()
  return {
    update: (bytes) => {
      hasher.update(bytes)
    },
    digest: () => hasher.digest('hex'),
  }
}
