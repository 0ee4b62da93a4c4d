/**
 * What the tracker needs from the other instances when several share one swarm (cluster.ts, over Redis):
 * connection admission per address across instances, signals to peers connected elsewhere, take-over of
 * a peer id, the address's catalog budget, and the cluster's figures. Without Redis there is no cluster:
 * the tracker is the whole swarm and needs none of this.
 */
import type { ServerMessageOf } from '../shared/tracker-protocol.js'
import type { AddressBudget, RelayOutcome } from './connection.js'
import type { TokenBucket } from './token-bucket.js'
import type { CatalogBudgets } from './tracker.js'

/** What this instance offers the cluster: its peers, for signals and take-overs that arrive from others. */
export interface LocalTracker {
  deliver(to: string, message: ServerMessageOf<'signal'>): RelayOutcome
  kick(peerId: string): void
  /** Sends a holder push (holder-push.ts) to a peer of this instance, if it is here. */
  push(peerId: string, message: ServerMessageOf<'peers'>): void
  /** Open connections here by address. */
  connectionsFrom(): Map<string, number>
  localPeers(): number
  messagesPerSecond(): number
}

export interface ClusterStats {
  /** Cluster totals. */
  peersOnline: number
  files: number
  swarms: number
  messagesPerSecond: number
  cluster: {
    redis: 'up' | 'down'
    instance: string
    instances: number
    /** This instance's share. */
    local: { peersOnline: number; messagesPerSecond: number; share: number }
  }
}

export interface ClusterLink {
  attach(tracker: LocalTracker): void
  /** Counts one more connection of `address` across instances; false when it is at `limit`. */
  admit(address: string, limit: number): Promise<boolean>
  /** One connection of `address` on this instance is gone. */
  release(address: string): void
  /** Delivers a signal to a peer connected to another instance. */
  relay(to: string, message: ServerMessageOf<'signal'>): Promise<RelayOutcome>
  /**
   * Sends a holder push to peers connected to other instances: one message on each of their instances'
   * channels. A courtesy: lost when Redis is down (the peers learn of the holder at their next refresh).
   */
  push(peerIds: readonly string[], message: ServerMessageOf<'peers'>): void
  /** The address's catalog budget across instances; `local` serves while Redis is down. */
  budgetOf(address: string, budgets: CatalogBudgets, local: TokenBucket): AddressBudget
  stats(): Promise<ClusterStats>
}
