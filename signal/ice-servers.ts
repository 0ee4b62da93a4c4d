/** The ICE servers a peer is told in its welcome and again before its TURN credentials expire (SPEC §6). */
import { isIP } from 'node:net'
import type { IceServer } from '../shared/tracker-protocol.js'
import { isHostOrAddress } from './config.js'
import { turnIceServer } from './turn-credentials.js'

export interface IceServerSettings {
  /** The embedded STUN responder's port, or null when it is disabled. */
  stunPort: number | null
  publicHost: string | undefined
  /** Replaces the embedded STUN when set. */
  iceServers: IceServer[] | undefined
  turn: { urls: string[]; secret: string; ttlSeconds: number } | undefined
}

/**
 * When a connection's ICE servers are minted afresh and sent again, as a fraction of the TURN credential's
 * lifetime. The last fifth (about 12 minutes of the default hour) absorbs a late sweep, a slow socket, and
 * clock skew between this server and coturn, which checks the expiry against its own clock.
 */
const TURN_REFRESH_FRACTION = 0.8
/**
 * The shortest refresh period: a TTL of a second or two cannot be kept fresh anyway, and must not make the
 * server mint credentials for every connection on every sweep.
 */
const MIN_REFRESH_MS = 1000
const MS_PER_SECOND = 1000

/**
 * The embedded STUN at the public host (or the host the browser used to reach us), unless a list is
 * configured; plus TURN with credentials minted for this peer alone when TURN is configured, so no
 * long-lived TURN password ever reaches a browser. `host` is the host of the browser's Host header,
 * already checked by `hostOfHeader`.
 */
export function iceServersFor(
  settings: IceServerSettings,
  peerId: string,
  host: string | undefined,
  nowMs: number,
): IceServer[] {
  const servers: IceServer[] = []
  if (settings.iceServers) {
    servers.push(...settings.iceServers)
  } else if (settings.stunPort !== null) {
    const stunHost = settings.publicHost ?? host
    if (stunHost) {
      servers.push({ urls: `stun:${isIP(stunHost) === 6 ? `[${stunHost}]` : stunHost}:${settings.stunPort}` })
    }
  }
  if (settings.turn) {
    const { urls, secret, ttlSeconds } = settings.turn
    servers.push(turnIceServer({ urls, secret, ttlSeconds, peerId, nowMs }))
  }
  return servers
}

/**
 * How long after minting a connection's ICE servers they must be minted and sent again (the `ice-servers`
 * message), or undefined when nothing in them expires (no TURN). Minting rounds the expiry down to the
 * second, so a credential may live up to a second less than its TTL; the period is a fraction of that.
 */
export function iceServersRefreshMs(settings: Pick<IceServerSettings, 'turn'>): number | undefined {
  if (!settings.turn) return undefined
  const shortestLifetimeMs = (settings.turn.ttlSeconds - 1) * MS_PER_SECOND
  return Math.max(MIN_REFRESH_MS, Math.floor(shortestLifetimeMs * TURN_REFRESH_FRACTION))
}

/** The host part of a Host header, if it is a well-formed name or address; the header is untrusted. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header)
  const host = bracketed ? bracketed[1]! : header.replace(/:\d{1,5}$/, '')
  return isHostOrAddress(host) ? host : undefined
}
