/**
 * Whether this page can hash: browsers give WebCrypto (`crypto.subtle`, which hashes every chunk and
 * manifest) only to secure contexts, i.e. HTTPS or localhost. Over plain HTTP from any other name it is
 * `undefined`, and sharing or downloading would fail deep inside with a TypeError.
 */
import { SwarmError } from '../../shared/errors.js'

/** The part of `globalThis` the check reads, so that tests can pass an insecure one. */
export interface PageEnvironment {
  readonly isSecureContext?: boolean
  readonly crypto?: { readonly subtle?: unknown }
}

/** An INSECURE_CONTEXT error when the page cannot hash; undefined when it can. */
export function insecureContextError(environment: PageEnvironment): SwarmError | undefined {
  if (environment.isSecureContext === true && environment.crypto?.subtle) return undefined
  return new SwarmError(
    'INSECURE_CONTEXT',
    environment.isSecureContext === true
      ? 'this browser offers no crypto.subtle'
      : 'the page is not a secure context (plain HTTP off localhost), so crypto.subtle is withheld',
  )
}
