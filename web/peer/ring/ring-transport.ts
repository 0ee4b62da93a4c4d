/**
 * How the ring reaches other peers (SPEC §5: the ring is a protocol on the frame router, not part of the
 * swarm). The ring sends and receives only its own payloads; links are shared with file transfers, and a
 * link the ring needs is claimed so the idle sweep keeps it.
 *
 * The shape follows the frame router's registrar (issue 10) so that the product's adapter is thin: its
 * `LinkProtocol` handler's onFrame / onSession / onSessionClosed become `RingLinkHandler`'s three calls,
 * `session.sendFrame(RING_FRAME_KIND, payload)` is `send`, `session.claim('ring')` is `claim` (its release
 * function is `release`), and the engine's "open a session to a peer id" is `dial`. The simulator has its
 * own implementation (test/support/ring-sim/sim-network.ts).
 */

/** What the transport calls on the ring. */
export interface RingLinkHandler {
  /** One ring payload from a linked peer (not parsed yet: the ring parses it). */
  onFrame(peerId: string, payload: Uint8Array): void
  /** A link to `peerId` is open (whoever opened it, for whatever purpose). */
  onLinkOpen(peerId: string): void
  /** The link to `peerId` closed (once per open). */
  onLinkClose(peerId: string): void
}

export interface RingTransport {
  /**
   * Starts delivering to `handler`; links already open are reported at once through `onLinkOpen`.
   * Returns the function that stops delivery.
   */
  attach(handler: RingLinkHandler): () => void
  /**
   * Queues one payload to a linked peer. Fire and forget: the router's per-peer budget and the channel's
   * backpressure apply below; nothing is sent when there is no open link.
   */
  send(peerId: string, payload: Uint8Array): void
  /**
   * Opens a link to `peerId` (signalled through the tracker or the ring, whichever is up) and claims it,
   * or claims the one already open. Rejects with a SwarmError when no link can be made.
   */
  dial(peerId: string): Promise<void>
  /** Claims an open link for the ring, so the idle sweep leaves it open. Idempotent. */
  claim(peerId: string): void
  /** Drops the ring's claim; the link stays open while anything else uses it. Idempotent. */
  release(peerId: string): void
  /** Closes the link: the peer misbehaved, or stopped answering. */
  close(peerId: string): void
}
