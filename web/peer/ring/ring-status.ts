/**
 * What the "Network" panel (the page) and the CLI's `ring` command show about this peer's place in the
 * ring (SPEC §9): a plain-data snapshot, taken by `engine.ringStatus()` and sent with the engine's `ring`
 * event whenever it changes.
 */

/**
 * - `joining`: linking to the ring through the peers it knows (or waiting for the membership policy);
 * - `member`: holds a ring position and stores records for others;
 * - `client`: routes its lookups through a member, stores nothing (a tab not online long enough, hidden,
 *   frozen or metered);
 * - `alone`: knows no other ring peer (nobody to join through).
 */
export type RingState = 'joining' | 'member' | 'client' | 'alone'

/** How a ring neighbour is reached now: a data channel of its own, through a relay (TURN), or not linked. */
export type RingConnection = 'direct' | 'relayed' | 'none'

export interface RingPeer {
  /** The node id (hex SHA-256 of its public key). */
  nodeId: string
  /** The peer id the tracker and the links use (derived from the node id). */
  peerId: string
  connection: RingConnection
}

export interface RingFinger extends RingPeer {
  /** The finger interval: this finger covers ids at [2^-level, 2^-(level-1)) of the ring from here. */
  level: number
}

export interface RingStatus {
  state: RingState
  nodeId: string
  peerId: string
  /** Members the ring is believed to have (from the spacing of the successor list); 1 when alone. */
  sizeEstimate: number
  predecessor: RingPeer | null
  /** Nearest first. */
  successors: readonly RingPeer[]
  fingers: readonly RingFinger[]
  /** Records stored here for others (members only). */
  recordsStored: number
  /** Routed requests this node has answered or forwarded for others since it started. */
  lookupsServed: number
  /** Whether the tracker is reachable now: when not, lookups and signalling go through the ring. */
  trackerOnline: boolean
}

/** The status of a peer that knows no other ring peer, or runs no ring at all. */
export function aloneStatus(self: { nodeId: string; peerId: string }, trackerOnline: boolean): RingStatus {
  return {
    state: 'alone',
    nodeId: self.nodeId,
    peerId: self.peerId,
    sizeEstimate: 1,
    predecessor: null,
    successors: [],
    fingers: [],
    recordsStored: 0,
    lookupsServed: 0,
    trackerOnline,
  }
}
