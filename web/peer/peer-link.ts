/**
 * One connection to one other peer, carrying every file the two exchange (SPEC §5). The swarm and the
 * wire protocol see only this interface: in browsers it is a WebRTC data channel (simple-peer-link.ts);
 * in tests it is an in-memory pair; in the Node peer it will be @roamhq/wrtc.
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { TypedEventTarget } from './typed-events.js'

/** How the link reaches the other peer, from the selected ICE candidate pair. */
export type ConnectionType = 'direct' | 'hole-punched' | 'relayed' | 'unknown'

export type PeerLinkEvents = {
  /** One binary frame from the other peer (not parsed yet: the receiver parses it). */
  frame: Uint8Array
  /** The link is gone, once; `error` says why when it failed. */
  close: { error?: Error }
}

export interface PeerLink extends TypedEventTarget<PeerLinkEvents> {
  readonly remotePeerId: string
  /** Largest frame the channel carries (its maxMessageSize). */
  readonly maxFrameBytes: number
  readonly destroyed: boolean
  /**
   * Queues one frame. Resolves once the channel's buffer is below its high-water mark again, so a sender
   * that awaits each send keeps memory flat (SPEC §5: respect bufferedAmount). Rejects if the link closes.
   */
  send(frame: Uint8Array): Promise<void>
  /** Direct (host candidates), hole-punched (server-reflexive) or relayed (TURN), once connected. */
  connectionType(): Promise<ConnectionType>
  /** Closes the link (once) and emits `close`. */
  destroy(error?: Error): void
}

/** Relays WebRTC signals to another peer: the tracker today, an overlay later (SPEC §9). */
export interface Signaller {
  send(to: string, data: Record<string, unknown>): void
  /** Subscribes to signals from other peers; returns the unsubscribe function. */
  onSignal(listener: (from: string, data: Record<string, unknown>) => void): () => void
  /**
   * Subscribes to reports that a signal sent with `send` never reached its target; returns the unsubscribe
   * function. `send` is fire-and-forget, so without this a link to a peer that already left waits out its
   * whole connect timeout before it fails. The tracker client reports `PEER_NOT_FOUND` (the target is no
   * longer connected to the tracker); a signaller that cannot tell leaves this out.
   */
  onUndeliverable?(listener: (to: string, code: ErrorCode) => void): () => void
}
