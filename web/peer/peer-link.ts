/**
 * The link contracts (SPEC §5), in the manner of libp2p's `@libp2p/interface`: one connection to one other
 * peer, how such a connection is negotiated and built, and what relays its signals. The swarm, the frame
 * router and the link manager see only these interfaces: in browsers a link is a WebRTC data channel
 * (simple-peer-link.ts); in tests an in-memory pair (memory-link.ts); in the Node peer @roamhq/wrtc. The
 * implementation is chosen by the composition root (web/main.ts, the Node peer, tests) and passed in as a
 * `LinkFactory`: nothing in web/peer imports a concrete link to build one.
 *
 * No DOM type appears here: web/peer also runs in Node, where there is no `RTCIceServer`.
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { IceServer } from '../../shared/tracker-protocol.js'
import type { TypedEventTarget } from './typed-events.js'

export type { IceServer }

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
  /**
   * The other side's IP address on the selected ICE candidate pair, once connected; undefined when it is
   * not known (not connected yet, or the implementation cannot tell). It is what the other peer cannot
   * change cheaply, so abuse is remembered by it (ban-list.ts). A relayed link reports the relay's address.
   */
  remoteAddress(): Promise<string | undefined>
  /** Closes the link (once) and emits `close`. */
  destroy(error?: Error): void
}

/** What a link factory is given for each link. */
export interface LinkOptions {
  /** Whether this side makes the offer. */
  initiator: boolean
  /** This peer's id (from the tracker's welcome): who the link is built for. */
  localPeerId: string
  remotePeerId: string
  /** From the tracker's welcome (SPEC §6). */
  iceServers: IceServer[]
  /** Sends one signal of this link to the other peer. */
  sendSignal(data: Record<string, unknown>): void
}

/** A PeerLink still being negotiated: it takes the other side's signals and says when it is open. */
export interface NegotiatingLink extends PeerLink {
  /** Feeds one signal from the other peer: `{type: 'offer' | 'answer', sdp}` or `{type: 'candidate', candidate}`. */
  signal(data: Record<string, unknown>): void
  /** Resolves once frames can flow; rejects if the link closes first. */
  readonly opened: Promise<void>
}

/**
 * Builds one link, which for WebRTC means one RTCPeerConnection: a budget browsers do not give back
 * (Chromium refuses more than ~500 in a tab's life, closed ones included: SPEC §8). The link manager calls
 * it only once the other side has agreed to link (link-manager.ts, "knock"), and counts every call.
 */
export type LinkFactory = (options: LinkOptions) => NegotiatingLink

/** What a relay tells about a signal beside who sent it. */
export interface SignalMeta {
  /**
   * The sender's network origin as the relay saw it: an opaque tag, equal for peers behind one address (the
   * tracker's: signal/origin-tag.ts). Undefined when the relay cannot tell (the ring's relays).
   */
  origin?: string
}

/** Relays WebRTC signals to another peer: the tracker today, an overlay later (SPEC §9). */
export interface Signaller {
  send(to: string, data: Record<string, unknown>): void
  /** Subscribes to signals from other peers; returns the unsubscribe function. */
  onSignal(listener: (from: string, data: Record<string, unknown>, meta?: SignalMeta) => void): () => void
  /**
   * Subscribes to reports that a signal sent with `send` never reached its target; returns the unsubscribe
   * function. `send` is fire-and-forget, so without this a link to a peer that already left waits out its
   * whole connect timeout before it fails. The tracker client reports `PEER_NOT_FOUND` (the target is no
   * longer connected to the tracker); a signaller that cannot tell leaves this out.
   */
  onUndeliverable?(listener: (to: string, code: ErrorCode) => void): () => void
}
