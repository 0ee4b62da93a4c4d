/**
 * The ring's view of this node's open links: who is at the other end (learnt from its verified hello),
 * whether it is a ring member, what each side wants the link for, and whether it still answers. A link is
 * a ring link when this side wants it (neighbour, finger or gateway) or admitted the other side's wish;
 * ring links are bounded (16 of the tab's 32), the other links belong to file transfers, and the ring
 * routes over every link whose far end is a member — links that already exist are the cheapest fingers.
 */
import type { LinkWant } from '../../../shared/ring-protocol.js'

export interface LinkInfo {
  readonly peerId: string
  /** From the peer's hello, checked against its public key; null until then. */
  nodeId: string | null
  publicKey: Uint8Array | null
  /** The node id's ring position (ids.ts positionOf), for routing. */
  pos: number
  remoteMember: boolean
  remoteWant: LinkWant
  /** What this side last told the peer it wants the link for. */
  localWant: LinkWant
  /** Whether this side last told the peer it is a member. */
  saidMember: boolean
  /** This side accepted the peer's want (it counts against the budget and is claimed). */
  admitted: boolean
  /** Whether the transport holds the ring's claim on this link. */
  claimed: boolean
  lastHeardMs: number
  readonly openedMs: number
  /** A ping sent and not answered yet. */
  pingNonce: number | null
  pingSentMs: number
  /** Checks (pings, requests) that got no answer in a row. */
  misses: number
}

/** Checks missed in a row after which a link is given up as dead. */
export const DEAD_AFTER_MISSES = 2

export class LinkTable {
  readonly #links = new Map<string, LinkInfo>()
  readonly #byNode = new Map<string, LinkInfo>()

  open(peerId: string, nowMs: number): LinkInfo {
    const link: LinkInfo = {
      peerId,
      nodeId: null,
      publicKey: null,
      pos: 0,
      remoteMember: false,
      remoteWant: 'none',
      localWant: 'none',
      saidMember: false,
      admitted: false,
      claimed: false,
      lastHeardMs: nowMs,
      openedMs: nowMs,
      pingNonce: null,
      pingSentMs: 0,
      misses: 0,
    }
    this.#links.set(peerId, link)
    return link
  }

  /** Records the peer's verified identity. */
  identify(link: LinkInfo, nodeId: string, publicKey: Uint8Array, pos: number): void {
    if (link.nodeId !== null && link.nodeId !== nodeId) this.#byNode.delete(link.nodeId)
    link.nodeId = nodeId
    link.publicKey = publicKey
    link.pos = pos
    this.#byNode.set(nodeId, link)
  }

  close(peerId: string): LinkInfo | undefined {
    const link = this.#links.get(peerId)
    if (!link) return undefined
    this.#links.delete(peerId)
    if (link.nodeId !== null && this.#byNode.get(link.nodeId) === link) this.#byNode.delete(link.nodeId)
    return link
  }

  get(peerId: string): LinkInfo | undefined {
    return this.#links.get(peerId)
  }

  byNode(nodeId: string): LinkInfo | undefined {
    return this.#byNode.get(nodeId)
  }

  /** A link to this node that answers: identified, and not missing its checks. */
  live(nodeId: string): LinkInfo | undefined {
    const link = this.#byNode.get(nodeId)
    return link && link.misses === 0 ? link : undefined
  }

  /** A link to this node not yet given up: it may have missed one check (a lost frame). */
  usable(nodeId: string): LinkInfo | undefined {
    const link = this.#byNode.get(nodeId)
    return link && link.misses < DEAD_AFTER_MISSES ? link : undefined
  }

  all(): IterableIterator<LinkInfo> {
    return this.#links.values()
  }

  get size(): number {
    return this.#links.size
  }

  /** Links to members that answer: where routed messages may go. */
  *routable(): Generator<LinkInfo> {
    for (const link of this.#byNode.values()) if (link.remoteMember && link.misses === 0) yield link
  }

  /** Links that count against the ring's budget. */
  ringLinkCount(): number {
    let count = 0
    for (const link of this.#links.values()) if (isRingLink(link)) count++
    return count
  }
}

export function isRingLink(link: LinkInfo): boolean {
  return link.localWant !== 'none' || (link.remoteWant !== 'none' && link.admitted)
}
