/** The ICE servers a new peer is told about in its welcome (SPEC §1, §6). */
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
 * The embedded STUN at the public host (or the host the browser used to reach us), unless a list is
 * configured; plus TURN with credentials minted for this peer alone when TURN is configured, so no
 * long-lived TURN password ever reaches a browser.
 */
export function iceServersFor(
  settings: IceServerSettings,
  peerId: string,
  hostHeader: string | undefined,
  nowMs: number,
): IceServer[] {
  const servers: IceServer[] = []
  if (settings.iceServers) {
    servers.push(...settings.iceServers)
  } else if (settings.stunPort !== null) {
    const host = settings.publicHost ?? hostOfHeader(hostHeader)
    if (host) servers.push({ urls: `stun:${isIP(host) === 6 ? `[${host}]` : host}:${settings.stunPort}` })
  }
  if (settings.turn) {
    const { urls, secret, ttlSeconds } = settings.turn
    servers.push(turnIceServer({ urls, secret, ttlSeconds, peerId, nowMs }))
  }
  return servers
}

/** The host part of a Host header, if it is a well-formed name or address; the header is untrusted. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header)
  const host = bracketed ? bracketed[1]! : header.replace(/:\d{1,5}$/, '')
  return isHostOrAddress(host) ? host : undefined
}
