/**
 * The ring in the product (issue 13): one RingNode on the engine's links (session-transport.ts), and
 * everything around it that the simulator does not need —
 * - membership: a client at first; a member once the host's policy says so (membership-policy.ts: the CLI
 *   at once, a tab after two minutes online and only while visible, not frozen, not metered); back to a
 *   client (leaving the ring gracefully) when the policy changes;
 * - bootstrap: peers already linked that are ring members, the entry points' peers, the tracker's holders
 *   of a few catalog files, and recent contacts (contacts.ts) when the tracker is down;
 * - healing: a ring of one that links to another member joins the other ring (Chord does not merge rings);
 * - its own records: provider and name records re-published on a fresh node after a restart;
 * - the status snapshot (ring-status.ts) for the Network panel and the CLI's `ring` command.
 */
import type { RingErrorCode } from '../../../shared/ring-protocol.js'
import type { Clock } from '../clock.js'
import type { ProvideOptions } from '../content-routing.js'
import { type Identity, peerIdOf, webCryptoRing } from '../identity.js'
import type { IceServer } from '../peer-link.js'
import { TypedEventTarget } from '../typed-events.js'
import {
  type Contact,
  type ContactStore,
  emptyContacts,
  MAX_CONTACTS,
  MAX_ENTRY_URLS,
  parseContacts,
  type RecentContacts,
} from './contacts.js'
import { clockwise, positionOf } from './ids.js'
import { type MembershipInput, shouldBeMember } from './membership-policy.js'
import { RingNode } from './ring-node.js'
import type { RingOptions } from './ring-options.js'
import type { RingConnection, RingPeer, RingState, RingStatus } from './ring-status.js'
import { SessionRingTransport, type SessionRouter } from './session-transport.js'

/** How often the membership policy and the status are looked at again. */
const CHECK_MS = 2_000
/**
 * A peer started with nobody to join through waits this long for a bootstrap (the welcome, a link, an
 * entry point) before it starts a ring of its own.
 */
export const BOOTSTRAP_WAIT_MS = 5_000
/**
 * A ring of one linked to a member with a larger peer id waits this long for the other to join it (it
 * may be alone too) before it joins the other's ring itself.
 */
const MERGE_WAIT_MS = 5_000
/** Contacts are saved at most this often (and on destroy). */
const CONTACTS_SAVE_MS = 30_000
/** A bootstrap peer that could not be dialled is left out of the bootstrap this long. */
const DIAL_FAILED_MS = 60_000
/** The timer of a node that never joins by itself: the host calls `join` (setTimeout's longest delay). */
const NEVER_MS = 2 ** 31 - 1
/** Republishing for a grown ring happens at most this often (ring-host.ts #republishIfGrown). */
const REPUBLISH_GAP_MS = 1_000

/**
 * A peer not in a ring of several (a ring of one, or a client without a gateway) looks for a way in again
 * after this long, doubling while it stays alone, up to REBOOTSTRAP_MAX_MS: the tracker's holders asked
 * again (the welcome's answer may have come before anyone announced, or named peers whose dial failed) and
 * one bootstrap peer not linked dialled, so that a ring of one links a member and heals (#heal). Without
 * it a tab whose first bootstrap failed stayed alone for good (the ring e2e: 2 rings of 6 not formed).
 */
export const REBOOTSTRAP_MS = 5_000
const REBOOTSTRAP_MAX_MS = 60_000

/** The product's ring parameters over RING_DEFAULTS: signals must reach clients (ring-options.ts). */
const PRODUCT_RING: RingOptions = { gatewayAtOwnId: true }

export interface RingHostDeps {
  identity: Identity
  /** The engine's registrar and dialler. */
  router: SessionRouter
  clock: Clock
  random?: () => number
  options?: RingOptions
  membership: MembershipInput
  /** Where contacts are saved; `initialContacts` were loaded from it (engine.open). */
  contacts: ContactStore
  initialContacts: RecentContacts
  /** Peers with a link open now (any purpose). */
  linkedPeers(): string[]
  /** Peers reachable through an entry point (a CLI's --listen socket, a sibling tab). */
  entryPeers(): string[]
  /** A few holders of catalog files, from the tracker; [] when it is offline. */
  trackerPeers(): Promise<string[]>
  trackerOnline(): boolean
  /** How the link to a peer goes, when known. */
  connectionOf(peerId: string): RingConnection
}

export type RingHostEvents = {
  status: RingStatus
  /** A signal routed here through the ring, not parsed yet. */
  signal: { from: string; data: string }
}

export class RingHost extends TypedEventTarget<RingHostEvents> {
  readonly #deps: RingHostDeps
  readonly #transport: SessionRingTransport
  readonly #startedMs: number
  readonly #random: () => number
  #node: RingNode
  #membership: MembershipInput
  #joinAsked = false
  #joinAskedMs = 0
  #bootstrapSettled = false
  #trackerPeers: string[] = []
  #contacts: RecentContacts = emptyContacts()
  #contactsDirty = false
  #lastSaveMs = 0
  readonly #dialFailedUntil = new Map<string, number>()
  /** Ring-of-one merges waiting: the member linked, and when to join it. */
  readonly #mergeAt = new Map<string, number>()
  /** Files this peer publishes, for a fresh node after a restart. */
  readonly #published = new Map<string, ProvideOptions>()
  /** Routed requests served by the nodes before this one. */
  #servedBefore = 0
  #timer: unknown = null
  /** The ring size seen when this peer's records were last republished for growth, and when. */
  #publishedAtSize = 1
  #publishedAtMs = Number.NEGATIVE_INFINITY
  #lastStatus = ''
  #destroyed = false
  /** When this peer, alone, looks for a way in next, and how long it waits after that. */
  #rebootstrapAtMs: number
  #rebootstrapGapMs = REBOOTSTRAP_MS

  constructor(deps: RingHostDeps) {
    super()
    this.#deps = deps
    this.#membership = { ...deps.membership }
    this.#startedMs = deps.clock.now()
    this.#random = deps.random ?? Math.random
    this.#rebootstrapAtMs = this.#startedMs + BOOTSTRAP_WAIT_MS + REBOOTSTRAP_MS
    const router: SessionRouter = {
      handle: (protocol) => deps.router.handle(protocol),
      openSession: (peerId) =>
        deps.router.openSession(peerId).catch((error: unknown) => {
          this.#dialFailedUntil.set(peerId, deps.clock.now() + DIAL_FAILED_MS)
          throw error
        }),
    }
    this.#transport = new SessionRingTransport(router)
    this.#node = this.#newNode()
    this.#node.start()
    this.#contacts = parseContacts(deps.initialContacts)
    this.#schedule(0)
  }

  /** The node now (a new one after each restart: a merge, or a return to client). */
  get node(): RingNode {
    return this.#node
  }

  /** The ICE servers and entry points kept for a start without the tracker. */
  get contacts(): RecentContacts {
    return this.#contacts
  }

  setMembership(input: MembershipInput): void {
    this.#membership = { ...this.#membership, ...input }
    this.#check()
  }

  /** The tracker's welcome came (again): holders of catalog files become bootstrap peers. */
  trackerOnline(iceServers: IceServer[]): void {
    if (iceServers.length > 0) {
      this.#contacts = { ...this.#contacts, iceServers }
      this.#contactsDirty = true
    }
    this.#askTrackerPeers()
  }

  #askTrackerPeers(): void {
    void this.#deps.trackerPeers().then((peers) => {
      if (this.#destroyed) return
      this.#trackerPeers = peers
      this.#bootstrapSettled = true
      this.#check()
    })
  }

  /** A link to `peerId` opened: a client without a gateway looks again, a ring of one may merge. */
  peerLinked(_peerId: string): void {
    this.#schedule(200)
  }

  /** Remembers a `--listen` URL to rejoin through. */
  noteEntryUrl(url: string): void {
    const entryUrls = [url, ...this.#contacts.entryUrls.filter((u) => u !== url)].slice(0, MAX_ENTRY_URLS)
    this.#contacts = { ...this.#contacts, entryUrls }
    this.#contactsDirty = true
  }

  provide(digest: string, options: ProvideOptions): void {
    this.#published.set(digest, options)
    this.#publish(this.#node, digest, options)
  }

  withdraw(digest: string): void {
    this.#published.delete(digest)
    this.#node.withdraw(digest)
  }

  sendSignal(peerId: string, data: string, attempt = 0): Promise<'delivered' | 'TIMEOUT' | RingErrorCode> {
    return this.#node.sendSignal(peerId, data, attempt)
  }

  status(): RingStatus {
    const node = this.#node
    const snapshot = node.snapshot()
    const peer = (nodeId: string): RingPeer => {
      const peerId = peerIdOf(nodeId)
      const link = node.links.byNode(nodeId)
      const connection: RingConnection = link ? this.#deps.connectionOf(peerId) : 'none'
      return { nodeId, peerId, connection }
    }
    const nowS = Math.floor(this.#deps.clock.now() / 1000)
    let recordsStored = 0
    if (snapshot.member)
      for (const key of node.store.keys()) recordsStored += node.store.recordsUnder(key, nowS).length
    return {
      state: this.#state(),
      nodeId: node.id,
      peerId: node.peerId,
      sizeEstimate: sizeEstimate(node.id, snapshot.successors, node.options.successors),
      predecessor: snapshot.pred === null ? null : peer(snapshot.pred),
      successors: snapshot.successors.map(peer),
      fingers: node
        .fingers()
        .sort((a, b) => a.level - b.level)
        .map(({ level, nodeId }) => ({ ...peer(nodeId), level })),
      recordsStored,
      lookupsServed: this.#servedBefore + node.routesServed,
      trackerOnline: this.#deps.trackerOnline(),
    }
  }

  /** Leaves the ring gracefully (quit), saves the contacts, once. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#node.leave()
    this.#noteContacts()
    await this.#deps.contacts.save(this.#contacts).catch(() => {})
  }

  #newNode(): RingNode {
    const deps = this.#deps
    const node = new RingNode({
      identity: deps.identity,
      transport: this.#transport,
      crypto: webCryptoRing,
      clock: deps.clock,
      bootstrap: () => this.#bootstrap(),
      ...(deps.random ? { random: deps.random } : {}),
      // The host decides when to join (`join()`), so the node's own timer never fires.
      options: { ...PRODUCT_RING, ...deps.options, memberAfterMs: NEVER_MS },
    })
    node.on('state', () => {
      this.#republishIfGrown(node)
      this.#emitStatus()
    })
    node.on('signal', (signal) => this.emit('signal', signal))
    this.#joinAsked = false
    return node
  }

  #join(): void {
    this.#joinAsked = true
    this.#joinAskedMs = this.#deps.clock.now()
    this.#node.join()
  }

  /**
   * Republishes this peer's records when its node joined a ring of others, and again each time the ring
   * it sees has doubled since (at most once a REPUBLISH_GAP_MS): records put while the ring was smaller
   * sit with the owners of that time, and the new owners of their keys would otherwise wait for the
   * next republish (10 min for providers, 12 h for names).
   */
  #republishIfGrown(node: RingNode): void {
    if (node !== this.#node || !node.member) return
    const size = sizeEstimate(node.id, node.snapshot().successors, node.options.successors)
    const now = this.#deps.clock.now()
    if (size < 2 || size < this.#publishedAtSize * 2 || now - this.#publishedAtMs < REPUBLISH_GAP_MS) return
    this.#publishedAtSize = size
    this.#publishedAtMs = now
    for (const [digest, options] of this.#published) this.#publish(node, digest, options)
  }

  /** Replaces the node: it leaves (its neighbours patch their lists), a fresh one starts and republishes. */
  #restart(): void {
    this.#servedBefore += this.#node.routesServed
    this.#node.leave()
    this.#node = this.#newNode()
    this.#node.start()
    this.#publishedAtSize = 1
    for (const [digest, options] of this.#published) this.#publish(this.#node, digest, options)
    this.#emitStatus()
  }

  #publish(node: RingNode, digest: string, options: ProvideOptions): void {
    node.provide(digest, options.chunks).catch(() => {})
    const name = options.name
    if (name) node.publishName(digest, name.name, name.size, name.chunkCount).catch(() => {})
  }

  /**
   * Peers to join or attach through, best first: linked ring members, then peers not linked yet (entry
   * points, the tracker's holders, recent contacts) that did not fail a dial lately. Linked peers whose
   * hello said they are clients are left out: joining through them cannot work.
   */
  #bootstrap(): string[] {
    const node = this.#node
    const now = this.#deps.clock.now()
    const members = [...node.links.routable()].map((link) => link.peerId)
    const others = [
      ...this.#deps.entryPeers(),
      ...this.#deps.linkedPeers(),
      ...this.#trackerPeers,
      ...this.#contacts.contacts.map((c) => c.peerId),
    ].filter((peerId) => {
      const link = node.links.get(peerId)
      if (link && (link.nodeId !== null || now - link.openedMs > 2_000)) return false // linked, not a member
      return (this.#dialFailedUntil.get(peerId) ?? 0) <= now
    })
    return [...new Set([...members, ...others])].filter((peerId) => peerId !== node.peerId)
  }

  #state(): RingState {
    const node = this.#node
    const snapshot = node.snapshot()
    if (snapshot.member) return snapshot.successors.length === 0 ? 'alone' : 'member'
    if (node.gateway !== null) return 'client'
    return this.#joinAsked || this.#bootstrap().length > 0 ? 'joining' : 'alone'
  }

  #schedule(delayMs: number): void {
    if (this.#destroyed) return
    if (this.#timer !== null) this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = null
      this.#check()
      this.#schedule(CHECK_MS)
    }, delayMs)
  }

  /** Membership, healing, contacts and status, looked at again. */
  #check(): void {
    if (this.#destroyed) return
    const now = this.#deps.clock.now()
    if (!this.#bootstrapSettled && now - this.#startedMs >= BOOTSTRAP_WAIT_MS) this.#bootstrapSettled = true
    const node = this.#node
    const settled = this.#bootstrapSettled || this.#bootstrap().length > 0
    const member = shouldBeMember(this.#membership, now - this.#startedMs)
    if (member && settled && !this.#joinAsked && !node.member) {
      this.#join()
    } else if (this.#joinAsked && !node.member && now - this.#joinAskedMs >= BOOTSTRAP_WAIT_MS) {
      // Still joining, and nobody left to join through (every candidate failed): a ring of its own, which
      // heals into another as soon as it links a member (#heal).
      if (this.#bootstrap().length === 0) {
        this.#restart()
        this.#join()
      }
    } else if (!member && (this.#joinAsked || node.member)) {
      this.#restart() // back to a client: hidden, frozen or metered now
    } else if (!node.member && node.gateway === null) {
      node.attach()
    }
    this.#heal(now)
    this.#rebootstrap(now)
    this.#noteContacts()
    if (this.#contactsDirty && now - this.#lastSaveMs >= CONTACTS_SAVE_MS) {
      this.#contactsDirty = false
      this.#lastSaveMs = now
      this.#deps.contacts.save(this.#contacts).catch(() => {})
    }
    this.#emitStatus()
  }

  /**
   * A ring of one linked to another member joins that member's ring: at once when the other's peer id
   * is smaller, else after MERGE_WAIT_MS (a lone other with the larger id joins this one meanwhile).
   */
  #heal(now: number): void {
    const node = this.#node
    const snapshot = node.snapshot()
    // A predecessor means someone joined this ring already: its successor list fills at the next stabilise.
    if (!snapshot.member || snapshot.successors.length > 0 || snapshot.pred !== null)
      return this.#mergeAt.clear()
    // Even the smaller id waits two stabilisations: a member that has just joined this ring of one through
    // this node says so in its hello before its notify arrives, and leaving for "its" ring then (which is
    // this one) broke both (the ring e2e: this tab left as a client, a joiner stuck joining).
    const settle = 2 * node.options.stabiliseMs
    for (const link of node.links.routable()) {
      const at =
        this.#mergeAt.get(link.peerId) ??
        (link.peerId < node.peerId ? now + settle : now + MERGE_WAIT_MS + settle)
      this.#mergeAt.set(link.peerId, at)
      if (at > now) continue
      this.#mergeAt.clear()
      this.#restart()
      this.#join()
      return
    }
  }

  /**
   * Alone (a ring of one, or a client without a gateway) since the last look: asks the tracker for holders
   * again and dials one bootstrap peer this node has no link to, at REBOOTSTRAP_MS doubling to
   * REBOOTSTRAP_MAX_MS; back to REBOOTSTRAP_MS once it is in a ring of several or routes through a member.
   */
  #rebootstrap(now: number): void {
    const node = this.#node
    const snapshot = node.snapshot()
    const alone = snapshot.member ? snapshot.successors.length === 0 : node.gateway === null
    if (!alone) {
      this.#rebootstrapGapMs = REBOOTSTRAP_MS
      this.#rebootstrapAtMs = now + REBOOTSTRAP_MS
      return
    }
    if (now < this.#rebootstrapAtMs) return
    this.#rebootstrapAtMs = now + this.#rebootstrapGapMs
    this.#rebootstrapGapMs = Math.min(REBOOTSTRAP_MAX_MS, this.#rebootstrapGapMs * 2)
    if (this.#deps.trackerOnline()) this.#askTrackerPeers()
    // A member alone heals once it links a member; a joining node or a client dials by itself (join, attach).
    if (!snapshot.member) return
    const unlinked = this.#bootstrap().filter((peerId) => !node.links.get(peerId))
    const pick = unlinked[Math.floor(this.#random() * unlinked.length)]
    // Not claimed: once the hello says it is a member, #heal joins its ring (which then keeps the links it wants).
    if (pick !== undefined)
      this.#deps.router.openSession(pick).catch(() => this.#dialFailedUntil.set(pick, now + DIAL_FAILED_MS))
  }

  /** Ring peers linked now become recent contacts. */
  #noteContacts(): void {
    const now = this.#deps.clock.now()
    const seen: Contact[] = []
    for (const link of this.#node.links.routable()) seen.push({ peerId: link.peerId, lastSeenMs: now })
    if (seen.length === 0) return
    this.#contacts = mergeContacts({ ...this.#contacts, contacts: seen }, this.#contacts)
    this.#contactsDirty = true
  }

  #emitStatus(): void {
    const status = this.status()
    const key = JSON.stringify(status)
    if (key === this.#lastStatus) return
    this.#lastStatus = key
    this.emit('status', status)
  }
}

/** `first`'s contacts and entry URLs before `then`'s, one each, most recent first, within the limits. */
function mergeContacts(first: RecentContacts, then: RecentContacts): RecentContacts {
  const byPeer = new Map<string, Contact>()
  for (const contact of [...first.contacts, ...then.contacts]) {
    const known = byPeer.get(contact.peerId)
    if (!known || known.lastSeenMs < contact.lastSeenMs) byPeer.set(contact.peerId, contact)
  }
  return {
    contacts: [...byPeer.values()].sort((a, b) => b.lastSeenMs - a.lastSeenMs).slice(0, MAX_CONTACTS),
    entryUrls: [...new Set([...first.entryUrls, ...then.entryUrls])].slice(0, MAX_ENTRY_URLS),
    iceServers: first.iceServers.length > 0 ? first.iceServers : then.iceServers,
  }
}

/**
 * Members on the ring, from how much of it the successor list spans: r successors over a fraction f of
 * the ring means about r / f members. A list that wraps round (fewer than r others) counts them all.
 */
export function sizeEstimate(selfId: string, successors: readonly string[], r: number): number {
  const last = successors[successors.length - 1]
  if (last === undefined) return 1
  if (successors.length < r || successors.includes(selfId)) return new Set(successors).size + 1
  const span = clockwise(positionOf(selfId), positionOf(last))
  return span > 0 ? Math.round(successors.length / span) : successors.length + 1
}
