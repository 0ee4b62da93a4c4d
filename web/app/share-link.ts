/**
 * Writing a held file's link (`/#<digest>`, or for a private share `/#<digest>.<key>` / `/#<digest>.p.<salt>`;
 * shared/private-share.ts). Reading links, and what opening one does, is hash-link.ts.
 */
import { fromBase64Url, KEY_BYTES, privateFragment, SALT_BYTES } from '../../shared/private-share.js'
import type { StoredFile } from '../storage/file-store.js'

/**
 * The fragment that opens a held file: `<digest>` for a public one; for a private share the key (or, for
 * a password link, the salt) after it. Undefined for a private share this browser has no key for.
 */
export function fragmentOf(record: StoredFile): string | undefined {
  const sealed = record.sealed
  if (!sealed) return record.digest
  const salt = sealed.salt === undefined ? undefined : fromBase64Url(sealed.salt, SALT_BYTES)
  if (salt) return privateFragment({ digest: record.digest, secret: { kind: 'password', salt } })
  const key = sealed.key === undefined ? undefined : fromBase64Url(sealed.key, KEY_BYTES)
  return key ? privateFragment({ digest: record.digest, secret: { kind: 'key', key } }) : undefined
}
