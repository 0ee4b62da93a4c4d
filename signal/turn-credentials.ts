/**
 * Short-lived TURN credentials in coturn's `use-auth-secret` scheme (the TURN REST API of
 * draft-uberti-behave-turn-rest-00 §2.2): the server and coturn share one secret, and each browser gets
 * a username that carries its own expiry and a password derived from it. coturn checks both without
 * asking us, so the long-lived secret never leaves this process and a leaked credential dies on its own.
 */
import { createHmac } from 'node:crypto'

/** coturn's default `rest-api-separator`: it reads the expiry timestamp from before the first one. */
const USERNAME_SEPARATOR = ':'
/** The draft and coturn's default: HMAC-SHA1 over the username, keyed by the shared secret, base64. */
const HMAC_ALGORITHM = 'sha1'
/** RFC 8489 §14.3: USERNAME is at most 513 bytes of UTF-8; coturn stores at most 512 of them. */
const MAX_USERNAME_BYTES = 512
const MS_PER_SECOND = 1000

export interface TurnCredentialOptions {
  /** The secret coturn is started with (`--static-auth-secret`). */
  secret: string
  /** How long the credential is valid, in whole seconds (SPEC: `TURN_TTL_S`, default 3600). */
  ttlSeconds: number
  /** Who the credential is for; it becomes the part of the username after the expiry, for coturn's logs. */
  peerId: string
  /** The current time in ms since the epoch; passed in so that minting is pure and testable. */
  nowMs: number
}

export interface TurnCredentials {
  /** `<expiry in Unix seconds>:<peerId>`. */
  username: string
  /** base64(HMAC-SHA1(secret, username)). */
  credential: string
  /** When coturn starts refusing the credential, in ms since the epoch (a whole second). */
  expiresAtMs: number
}

/** An `RTCIceServer` with the fields a TURN entry needs, ready for the welcome message. */
export interface TurnIceServer {
  urls: string[]
  username: string
  credential: string
}

/**
 * Mints a TURN credential that coturn (`--use-auth-secret --static-auth-secret=<secret>`) accepts until
 * `nowMs + ttlSeconds` (rounded down to the second). Throws a RangeError on an empty secret or peer id,
 * a peer id containing `:`, a TTL that is not a positive whole number of seconds, or a non-finite time:
 * those are configuration mistakes, never client input.
 */
export function mintTurnCredentials(options: TurnCredentialOptions): TurnCredentials {
  const { secret, ttlSeconds, peerId, nowMs } = options
  if (secret.length === 0) throw new RangeError('TURN secret must not be empty')
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`TURN TTL must be a positive whole number of seconds, got ${ttlSeconds}`)
  }
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be a finite number, got ${nowMs}`)
  // coturn splits at the first separator, so one inside the peer id would still parse; refusing it keeps
  // the username unambiguous for whoever reads coturn's logs.
  if (peerId.length === 0 || peerId.includes(USERNAME_SEPARATOR)) {
    throw new RangeError(`TURN peer id must be non-empty and contain no "${USERNAME_SEPARATOR}"`)
  }

  // Rounding down makes the credential expire up to a second early, never late.
  const expiryUnixSeconds = Math.floor(nowMs / MS_PER_SECOND) + ttlSeconds
  const username = `${expiryUnixSeconds}${USERNAME_SEPARATOR}${peerId}`
  if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) {
    throw new RangeError(`TURN username must be at most ${MAX_USERNAME_BYTES} bytes`)
  }
  const credential = createHmac(HMAC_ALGORITHM, secret).update(username, 'utf8').digest('base64')
  return { username, credential, expiresAtMs: expiryUnixSeconds * MS_PER_SECOND }
}

/** Builds the TURN entry of a peer's ICE servers, with a credential minted for that peer. */
export function turnIceServer(options: TurnCredentialOptions & { urls: string[] }): TurnIceServer {
  const { urls, ...credentialOptions } = options
  if (urls.length === 0) throw new RangeError('a TURN ICE server needs at least one URL')
  const { username, credential } = mintTurnCredentials(credentialOptions)
  // A copy, so that whoever sends or mutates this entry cannot change the configured list.
  return { urls: [...urls], username, credential }
}
