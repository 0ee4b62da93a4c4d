/**
 * What `get` and `peers` are given: a digest, the start of one (completed against the catalog), or a
 * link as the page shares them (`https://swarm.example.org/#<digest>`), which also names the server.
 */
import { DIGEST_PATTERN } from '../shared/manifest.js'
import { usageError } from './errors.js'

export interface Target {
  /** A whole digest, or the start of one (hex). */
  digest: string
  /** The server the link came from, if it was a link. */
  server?: string
}

const PREFIX_PATTERN = /^[0-9a-f]{4,63}$/
/** Start of a digest long enough to be worth a search: shorter ones match too much of any catalog. */
const MIN_PREFIX = 4

export function parseTarget(text: string): Target {
  const trimmed = text.trim()
  const lower = trimmed.toLowerCase()
  if (DIGEST_PATTERN.test(lower) || PREFIX_PATTERN.test(lower)) return { digest: lower }
  let url: URL | undefined
  try {
    url = new URL(trimmed)
  } catch {
    url = undefined
  }
  if (url && /^https?:$/.test(url.protocol)) {
    let fragment = ''
    try {
      fragment = decodeURIComponent(url.hash.replace(/^#/, '')).trim().toLowerCase()
    } catch {
      fragment = ''
    }
    if (DIGEST_PATTERN.test(fragment)) {
      url.hash = ''
      return { digest: fragment, server: url.href }
    }
    if (/^[0-9a-f]{64}\./.test(fragment))
      throw usageError('private links (with a key) are not supported by this version')
    throw usageError(`the link ${trimmed} names no file: it should end in #<digest>`)
  }
  throw usageError(
    `"${text}" is neither a digest (64 hex characters, or at least the first ${MIN_PREFIX}) nor a link to one`,
  )
}
