/**
 * The folder's Ed25519 key pair (SPEC §9), so that a folder shared again is the same peer: the same node id
 * on the ring, the same peer id on the tracker. Kept as `DIR/.swarmdrop/identity/private.pkcs8` (PKCS #8,
 * mode 0600, in a folder of mode 0700: only its owner may read it) and `public.raw` (the raw 32-byte key).
 * Each is written to a temporary file and renamed, so a crash never leaves half a key.
 *
 * What is read back is checked like any input: a private key that does not import, a public key of the
 * wrong size, or a pair whose halves do not match is no key pair (load gives null, and a new one is made).
 */
import { randomUUID } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PUBLIC_KEY_BYTES } from '../../shared/ring-records.js'
import type { KeyStore } from '../../web/peer/identity.js'

const ED25519 = { name: 'Ed25519' } as const
/** Owner only: whoever reads the private key is this peer. */
const PRIVATE_FILE_MODE = 0o600
const IDENTITY_DIR_MODE = 0o700

export class FileKeyStore implements KeyStore {
  /** Keys are written out as bytes: they must be generated extractable. */
  readonly extractableKeys = true
  readonly #privateFile: string
  readonly #publicFile: string

  constructor(readonly dir: string) {
    this.#privateFile = join(dir, 'private.pkcs8')
    this.#publicFile = join(dir, 'public.raw')
  }

  async load(): Promise<CryptoKeyPair | null> {
    const [pkcs8, raw] = await Promise.all([readOrNull(this.#privateFile), readOrNull(this.#publicFile)])
    if (!pkcs8 || !raw || raw.length !== PUBLIC_KEY_BYTES) return null
    try {
      const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign'])
      // The halves must belong together: the private key's own public half (JWK `x`) is the stored one.
      const { x } = await crypto.subtle.exportKey('jwk', privateKey)
      if (x !== Buffer.from(raw).toString('base64url')) return null
      const publicKey = await crypto.subtle.importKey('raw', raw, ED25519, true, ['verify'])
      return { privateKey, publicKey }
    } catch {
      return null
    }
  }

  async save(keyPair: CryptoKeyPair): Promise<void> {
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keyPair.privateKey))
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey))
    await mkdir(this.dir, { recursive: true, mode: IDENTITY_DIR_MODE })
    await chmod(this.dir, IDENTITY_DIR_MODE)
    // The public half first: a crash between the two leaves a pair that does not match, which load refuses.
    await writeAtomically(this.#publicFile, raw, 0o644)
    await writeAtomically(this.#privateFile, pkcs8, PRIVATE_FILE_MODE)
  }
}

async function readOrNull(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    return new Uint8Array(await readFile(path))
  } catch {
    return null
  }
}

async function writeAtomically(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`
  await writeFile(temp, bytes, { mode, flag: 'wx' })
  await chmod(temp, mode) // the umask may have taken bits off; this is exactly what is wanted
  await rename(temp, path)
}
