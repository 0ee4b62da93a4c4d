/**
 * Private links (`/#<digest>.<key>`, `/#<digest>.p.<salt>`; shared/private-share.ts): what opening one does,
 * and how a held private share's link is written. Kept apart from hash-link.ts (public `/#<digest>` links),
 * whose digest-only pattern never matches a private fragment, so the two listen side by side.
 *
 * Opening a private link does not download by itself: the page shows what was opened with a Download
 * button (and a password field when the link asks for one), so a link followed from another page never
 * starts a transfer unasked.
 */
import {
  fromBase64Url,
  KEY_BYTES,
  type PrivateLink,
  parsePrivateFragment,
  privateFragment,
  SALT_BYTES,
} from '../../shared/private-share.js'
import type { StoredFile } from '../storage/file-store.js'

/** The private link a fragment holds, or undefined (other fragments are left alone). Never throws. */
export function privateLinkFromHash(hash: string): PrivateLink | undefined {
  try {
    return parsePrivateFragment(decodeURIComponent(hash.replace(/^#/, '')).trim())
  } catch {
    return undefined // not valid percent-encoding
  }
}

/**
 * Calls `open` for the private link in the page's fragment now and on every change, and clears the
 * fragment (the key should not linger in the address bar or the tab's history); returns the unsubscribe.
 */
export function followPrivateLinks(win: Window, open: (link: PrivateLink) => void): () => void {
  const check = () => {
    const link = privateLinkFromHash(win.location.hash)
    if (!link) return
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}`)
    open(link)
  }
  check()
  win.addEventListener('hashchange', check)
  return () => win.removeEventListener('hashchange', check)
}

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
