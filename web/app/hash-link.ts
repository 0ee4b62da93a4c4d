/** Opening `/#<digest>` (or changing the fragment to one) starts that download (SPEC §2). */
import { DIGEST_PATTERN } from '../../shared/manifest.js'

/** The digest a fragment names, or undefined when it names none (other fragments are left alone). */
export function digestFromHash(hash: string): string | undefined {
  const text = decodeURIComponent(hash.replace(/^#/, '')).trim().toLowerCase()
  return DIGEST_PATTERN.test(text) ? text : undefined
}

/**
 * Calls `download` for the digest in the page's fragment now and on every change, and clears the fragment;
 * returns the unsubscribe.
 */
export function followDigestLinks(win: Window, download: (digest: string) => void): () => void {
  const check = () => {
    let digest: string | undefined
    try {
      digest = digestFromHash(win.location.hash)
    } catch {
      digest = undefined // a fragment that is not valid percent-encoding names no digest
    }
    if (!digest) return
    // The fragment has done its job: cleared, a reload does not start (or save) the file again, and
    // opening the same link later changes the fragment again.
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}`)
    download(digest)
  }
  check()
  win.addEventListener('hashchange', check)
  return () => win.removeEventListener('hashchange', check)
}
