/**
 * Which browser pages may open the tracker. A browser sends `Origin` with every WebSocket upgrade, and
 * without a check any website a user visits could open `/ws` through that user's browser: read the
 * catalog, fetch files, and mint TURN credentials. Allowed: the site's own origin (the host the request
 * came to), the origins of `ALLOWED_ORIGINS`, and requests with no `Origin` at all, which no browser
 * sends for a WebSocket (the CLI, scripts, tests).
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { lastHeaderValue } from './forwarded.js'

export interface OriginPolicyOptions {
  /** Origins allowed besides the site's own, each in the form `URL.origin` gives (`https://host[:port]`). */
  allowedOrigins: readonly string[]
  /** Behind a trusted proxy, `X-Forwarded-Proto` and `X-Forwarded-Host` say how the browser reached it. */
  trustProxy: boolean
}

export type OriginVerdict = { allowed: true } | { allowed: false; origin: string }

/** The normalised form of an origin, or undefined when `text` is not exactly an http(s) origin. */
export function normaliseOrigin(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  // An origin has no path, query, fragment or credentials: `https://a.example/x` is a mistake, not an origin.
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    return undefined
  if (!/^https?:\/\/[^/]+\/?$/i.test(text)) return undefined
  return url.origin
}

/** Whether the page behind an upgrade request may use the tracker. */
export function checkOrigin(request: IncomingMessage, options: OriginPolicyOptions): OriginVerdict {
  const header = request.headers.origin
  if (header === undefined) return { allowed: true }
  const origin = normaliseOrigin(header)
  if (origin === undefined) return { allowed: false, origin: header.slice(0, 200) }
  if (options.allowedOrigins.includes(origin)) return { allowed: true }
  return isOwnOrigin(request, origin, options.trustProxy) ? { allowed: true } : { allowed: false, origin }
}

/**
 * The page's origin names the host this request came to, by a scheme at least as safe as the request's:
 * an `https://` page of our own host is ours whether TLS ended at a proxy or not, but an `http://` page
 * is refused when the request itself came over TLS, since plain HTTP on our name can be forged by anyone
 * on the path.
 */
function isOwnOrigin(request: IncomingMessage, origin: string, trustProxy: boolean): boolean {
  const host =
    (trustProxy ? lastHeaderValue(request.headers['x-forwarded-host']) : undefined) ?? request.headers.host
  if (!host) return false
  const originUrl = new URL(origin)
  let ownHost: string
  try {
    // Through the origin's scheme, so that a default port in the Host header (`:443`) compares equal.
    ownHost = new URL(`${originUrl.protocol}//${host}`).host
  } catch {
    return false // a Host header that is no host
  }
  if (ownHost !== originUrl.host) return false
  return originUrl.protocol === 'https:' || requestScheme(request, trustProxy) === 'http'
}

function requestScheme(request: IncomingMessage, trustProxy: boolean): 'http' | 'https' {
  if ((request.socket as Partial<TLSSocket>).encrypted) return 'https'
  if (trustProxy && lastHeaderValue(request.headers['x-forwarded-proto'])?.toLowerCase() === 'https')
    return 'https'
  return 'http'
}
