/**
 * Why a peer link could not be made, from what ICE gathered on each side (SPEC §6: "say clearly that they
 * cannot"). Pure: the link manager records the candidate types it sees in the signals going out and coming
 * in, and asks here for the error to give when the link fails before it opens.
 *
 * Candidate types (RFC 8445 §5.1.1, written ` typ X` in a candidate line, RFC 8839 §5.1):
 *   host   an address of the machine itself: reachable on the same network only
 *   srflx  server-reflexive: the NAT's public side as the STUN server saw it, what hole punching uses
 *   prflx  peer-reflexive: learnt from a connectivity check
 *   relay  an address on a TURN server, which forwards everything: works through any NAT
 */
import { SwarmError } from '../../shared/errors.js'
import type { IceServer } from '../../shared/tracker-protocol.js'

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay'

const CANDIDATE_TYPE = /\styp\s+(host|srflx|prflx|relay)(?:\s|$)/i

/** The type of an ICE candidate line (`candidate:…` or `a=candidate:…`), or undefined when it names none. */
export function candidateTypeOf(candidateLine: string): CandidateType | undefined {
  const match = CANDIDATE_TYPE.exec(candidateLine)
  return match ? (match[1]!.toLowerCase() as CandidateType) : undefined
}

/** The `a=candidate:` lines of an SDP (a non-trickle offer or answer carries its candidates there). */
export function candidateLinesOf(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((line) => line.startsWith('a=candidate:'))
}

/**
 * Whether a candidate line is a host candidate with a public address. Browsers leave out a server-reflexive
 * candidate that equals a host one, so a machine on a public address gathers host candidates only even
 * though STUN works: that is no sign of UDP being blocked. mDNS names (`….local`) hide the address: not public.
 */
export function isPublicHostCandidate(candidateLine: string): boolean {
  if (candidateTypeOf(candidateLine) !== 'host') return false
  const address = candidateAddressOf(candidateLine)
  return address !== undefined && isPublicAddress(address)
}

/** The address of a candidate line (an IP, or an mDNS `….local` name), or undefined when it has none. */
export function candidateAddressOf(candidateLine: string): string | undefined {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
  const fields = candidateLine.replace(/^a=/, '').trim().split(/\s+/)
  return fields.length >= 8 ? fields[4] : undefined
}

function isPublicAddress(address: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(address)
  if (v4) {
    const a = Number(v4[1])
    const b = Number(v4[2])
    const local =
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT (RFC 6598)
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    return !local
  }
  if (!address.includes(':')) return false // a hostname: an mDNS name, or something unknown
  const lower = address.toLowerCase()
  if (lower === '::' || lower === '::1') return false
  // link-local fe80::/10 and unique-local fc00::/7
  return !/^fe[89ab]/.test(lower) && !/^f[cd]/.test(lower)
}

/** Whether the ICE servers include a TURN server (a `turn:` or `turns:` URL). */
export function hasTurn(iceServers: readonly IceServer[]): boolean {
  return iceServers.some((server) => {
    const urls = typeof server.urls === 'string' ? [server.urls] : (server.urls ?? [])
    return urls.some((url) => /^turns?:/i.test(url))
  })
}

/**
 * Whether any ICE server sits beyond the local network: a URL whose host is a name or a public address.
 * Only such a server's answers show that UDP leaves this network: a STUN server on the same LAN (or on
 * loopback) sees the host address itself, and the browser drops the server-reflexive candidate equal to it.
 */
export function hasServerBeyondLan(iceServers: readonly IceServer[]): boolean {
  return iceServers.some((server) => {
    const urls = typeof server.urls === 'string' ? [server.urls] : (server.urls ?? [])
    return urls.some((url) => {
      // stun:host[:port], turn:host[:port]?transport=…, with [v6] in brackets (RFC 7064, RFC 7065)
      const match = /^(?:stun|stuns|turn|turns):(\[[^\]]+\]|[^:?]+)/i.exec(url)
      if (!match) return false
      const host = match[1]!.replace(/^\[|\]$/g, '')
      const isAddress = /^[\d.]+$/.test(host) || host.includes(':')
      return isAddress ? isPublicAddress(host) : host.toLowerCase() !== 'localhost'
    })
  })
}

/** What one failed attempt saw. */
export interface UnreachableEvidence {
  /** Types of the candidates this side gathered (sent to the peer). */
  localTypes: Iterable<CandidateType>
  /** Types of the candidates the peer sent. */
  remoteTypes: Iterable<CandidateType>
  /** Whether this side was given a TURN server. */
  turnConfigured: boolean
  /**
   * Whether this side was given a STUN or TURN server beyond its own network (hasServerBeyondLan): without
   * one, no server-reflexive candidate is expected. Default: `turnConfigured` (UDP_BLOCKED is only claimed
   * when such a server is known to be there).
   */
  serversConfigured?: boolean
  /** A host candidate of this side has a public address (see isPublicHostCandidate). Default false. */
  localPublicHost?: boolean
  peerId: string
  /** What failed, for the developer message: e.g. "no link within 15000 ms". */
  reason?: string
  /** The original failure, kept as the error's cause. */
  cause?: unknown
}

/**
 * The error to give for a link that failed before it opened:
 * - UDP_BLOCKED: this side gathered something, but no server-reflexive or relay candidate although STUN or
 *   TURN was given (and it is not simply on a public address): UDP to the server does not get through.
 * - PEER_UNREACHABLE when the peer sent no candidate at all (it may have left, or never answered).
 * - NAT_BLOCKED: both sides gathered candidates, neither has a relay one and there is no TURN server: hole
 *   punching was tried and failed, as it does between two symmetric NATs or strict firewalls.
 * - PEER_UNREACHABLE otherwise (e.g. TURN is configured and even the relay found no path).
 * The message lists what was seen: local and remote candidate types, TURN yes or no.
 */
export function explainUnreachable(evidence: UnreachableEvidence): SwarmError {
  const local = new Set(evidence.localTypes)
  const remote = new Set(evidence.remoteTypes)
  const serversConfigured = evidence.serversConfigured ?? evidence.turnConfigured
  const seen =
    `local candidates: ${list(local)}; remote candidates: ${list(remote)}; ` +
    `TURN: ${evidence.turnConfigured ? 'yes' : 'no'}`
  const make = (code: 'NAT_BLOCKED' | 'UDP_BLOCKED' | 'PEER_UNREACHABLE', why: string) =>
    new SwarmError(
      code,
      `no link to ${evidence.peerId}${evidence.reason ? ` (${evidence.reason})` : ''}: ${why} (${seen})`,
      evidence.cause === undefined ? undefined : { cause: evidence.cause },
    )

  if (
    serversConfigured &&
    local.size > 0 &&
    !local.has('srflx') &&
    !local.has('relay') &&
    !evidence.localPublicHost
  ) {
    return make(
      'UDP_BLOCKED',
      'this side gathered no server-reflexive or relay candidate although ICE servers were given: ' +
        'UDP to the STUN/TURN server seems blocked from this network',
    )
  }
  if (remote.size === 0) return make('PEER_UNREACHABLE', 'the peer sent no candidates (it may have left)')
  if (local.size > 0 && !evidence.turnConfigured && !local.has('relay') && !remote.has('relay')) {
    return make(
      'NAT_BLOCKED',
      'hole punching failed and there is no TURN relay (symmetric NAT or strict firewalls on both sides)',
    )
  }
  return make(
    'PEER_UNREACHABLE',
    evidence.turnConfigured ? 'no path was found, not even through TURN' : 'no path was found',
  )
}

function list(types: ReadonlySet<CandidateType>): string {
  return types.size === 0 ? 'none' : [...types].sort().join(', ')
}
