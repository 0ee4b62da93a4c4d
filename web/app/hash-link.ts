/**
 * Opening a link to a file (or changing the fragment to one) downloads that file (SPEC §2): a public
 * `/#<digest>`, or a private `/#<digest>.<key>` / `/#<digest>.p.<salt>` (shared/private-share.ts). A
 * download saves the file and seeds it, so a link that came from outside the page must not start one on
 * its own: any website can open this page with a fragment of its choosing, or change the fragment of a
 * window it opened. Such links ask the user first, public and private alike, through one question
 * (services.ts `openLink`, swarmdrop-link-confirm.ts); only a link clicked on the page itself starts at
 * once, like activating a digest in the catalog. Writing a held file's link is share-link.ts.
 */
import { DIGEST_PATTERN } from '../../shared/manifest.js'
import { parsePrivateFragment, type ShareSecret } from '../../shared/private-share.js'

/**
 * Where a digest link came from: `page`, a link on this page that the user clicked; `elsewhere`, the
 * address the page was opened with (from another site, a bookmark, a pasted link) or a fragment changed
 * from outside (another window that opened this one, the address bar).
 */
export type LinkSource = 'page' | 'elsewhere'

/**
 * What a link names: a file by digest, and for a private share the secret that opens it (its key, or the
 * salt a password link derives its key with).
 */
export interface FileLink {
  readonly digest: string
  readonly secret?: ShareSecret
}

/** The digest a fragment names, or undefined when it names none (other fragments are left alone). */
export function digestFromHash(hash: string): string | undefined {
  const text = decodeURIComponent(hash.replace(/^#/, '')).trim().toLowerCase()
  return DIGEST_PATTERN.test(text) ? text : undefined
}

/** The link a fragment holds, public or private, or undefined (other fragments are left alone). Never throws. */
export function linkFromHash(hash: string): FileLink | undefined {
  try {
    const digest = digestFromHash(hash)
    if (digest) return { digest }
    return parsePrivateFragment(decodeURIComponent(hash.replace(/^#/, '')).trim())
  } catch {
    return undefined // not valid percent-encoding
  }
}

/**
 * Calls `open` for the link in the page's fragment now (as `elsewhere`: the page was opened with it) and
 * on every change (as `page` when it follows a click on a link of this page to that fragment), and clears
 * the fragment (a private link's key should not linger in the address bar or the tab's history); returns
 * the unsubscribe.
 */
export function followLinks(win: Window, open: (link: FileLink, from: LinkSource) => void): () => void {
  /** The fragment a click on one of this page's own links is about to set. */
  let clickedHash: string | undefined
  const onClick = (event: Event) => {
    clickedHash = undefined
    const anchor = event.composedPath().find((target): target is HTMLAnchorElement => isAnchor(target))
    if (!anchor || (anchor.target && anchor.target !== '_self')) return
    let url: URL
    try {
      url = new URL(anchor.href, win.location.href)
    } catch {
      return
    }
    const here = win.location
    if (url.origin === here.origin && url.pathname === here.pathname && url.search === here.search) {
      clickedHash = url.hash
    }
  }
  const check = (from: LinkSource) => {
    const link = linkFromHash(win.location.hash)
    if (!link) return
    // The fragment has done its job: cleared, a reload does not start (or save) the file again, and
    // opening the same link later changes the fragment again.
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}`)
    open(link, from)
  }
  const onHashChange = () => {
    const fromPage = clickedHash !== undefined && clickedHash === win.location.hash
    clickedHash = undefined
    check(fromPage ? 'page' : 'elsewhere')
  }
  check('elsewhere')
  // Capture: the click is seen before anything on the page can stop it, and before the fragment changes.
  win.addEventListener('click', onClick, true)
  win.addEventListener('hashchange', onHashChange)
  return () => {
    win.removeEventListener('click', onClick, true)
    win.removeEventListener('hashchange', onHashChange)
  }
}

function isAnchor(target: EventTarget): target is HTMLAnchorElement {
  return (
    (target as Partial<HTMLAnchorElement>).tagName === 'A' &&
    typeof (target as HTMLAnchorElement).href === 'string'
  )
}
