/**
 * Chromium refuses to construct more than ~500 RTCPeerConnections in a tab's life, closed ones included
 * (Chromium issue 41378764; SPEC §8), throwing "Failed to construct 'RTCPeerConnection': Cannot create so
 * many PeerConnections". The link layer counts what it builds so as never to get there; this recognises
 * the refusal when it comes anyway (the page built connections outside the link layer), so that it is
 * reported as LINK_BUDGET_SPENT and not as a failure of the peer.
 */
import { SwarmError } from '../../shared/errors.js'

const REFUSAL = /cannot create so many peerconnections/i

/** LINK_BUDGET_SPENT for the browser's refusal to build another RTCPeerConnection; undefined otherwise. */
export function peerConnectionRefusal(error: unknown): SwarmError | undefined {
  if (error instanceof SwarmError) return error.code === 'LINK_BUDGET_SPENT' ? error : undefined
  const message = error instanceof Error ? error.message : String(error)
  if (!REFUSAL.test(message)) return undefined
  return new SwarmError('LINK_BUDGET_SPENT', `the browser builds no more RTCPeerConnections: ${message}`, {
    cause: error,
  })
}
