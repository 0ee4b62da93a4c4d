import { createStore, get, set, type UseStore } from 'idb-keyval'
import type { KeyStore } from '../peer/identity.js'

export const KEY_DB_NAME = 'swarmdrop-identity'
const KEY_STORE_NAME = 'keys'
const KEY_PAIR_KEY = 'key-pair'

/**
 * This browser profile's Ed25519 key pair in IndexedDB (SPEC §9), so that its node id and peer id survive
 * reloads. The CryptoKeyPair itself is stored (CryptoKey is structured-cloneable): the private key stays
 * non-extractable, so not even the stored copy can be read by script; it can only sign.
 */
export class IdbKeyStore implements KeyStore {
  readonly #store: UseStore

  constructor(databaseName = KEY_DB_NAME) {
    this.#store = createStore(databaseName, KEY_STORE_NAME)
  }

  /** The stored key pair; null when none is stored, or what is stored is not an Ed25519 signing pair. */
  async load(): Promise<CryptoKeyPair | null> {
    return parseKeyPair(await get(KEY_PAIR_KEY, this.#store))
  }

  save(keyPair: CryptoKeyPair): Promise<void> {
    return set(KEY_PAIR_KEY, keyPair, this.#store)
  }
}

/** Storage is untrusted input like any other: only an Ed25519 pair able to sign and verify is used. */
function parseKeyPair(value: unknown): CryptoKeyPair | null {
  if (typeof value !== 'object' || value === null) return null
  const { publicKey, privateKey } = value as Partial<CryptoKeyPair>
  const isKey = (key: unknown, type: KeyType, usage: KeyUsage): key is CryptoKey =>
    key instanceof CryptoKey &&
    key.type === type &&
    key.algorithm.name === 'Ed25519' &&
    key.usages.includes(usage)
  if (!isKey(publicKey, 'public', 'verify') || !isKey(privateKey, 'private', 'sign')) return null
  return { publicKey, privateKey }
}
