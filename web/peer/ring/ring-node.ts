/**
 * One node of the Chord ring (SPEC §9, docs/DHT.md): its place on the ring and the links that hold it
 * there, the requests it routes for others, the records it stores for others and publishes for itself.
 * Platform-neutral: links, clock, crypto and record storage are passed in, so the same code runs in
 * browsers, in the CLI and in the simulator (test/support/ring-sim/).
 *
 * Membership follows Zave's corrected Chord ("Reasoning about identifier spaces: how to make Chord
 * correct", 2017), as verdi-chord implements it:
 * - join: find the successor of your id through a member, fetch that successor's successor list, and only
 *   then count as a member (predecessor unknown);
 * - stabilise: ask the successor for its predecessor and list; if that predecessor lies between, ask it for
 *   its list first (Stabilize2) and adopt it only if it answers; then notify the successor;
 * - rectify (on a notify): take the notifier as predecessor if it lies between, or if the current one is
 *   dead (it missed a ping); a successor that fails is replaced by the first live entry of the list;
 * - and, to spread a change along the lists in one pass instead of one stabilise period a node: a node
 *   whose successor list changed pushes it to its predecessor (`neighbours`, req 0), which reconciles
 *   its own list from it exactly as a stabilise round would (first r of succ :: succ's list).
 *   Without it a join reaches the r lists before it in r periods (20 × 5 s); see docs/DHT.md.
 * A ring smaller than r + 1 is outside Zave's proof: there every successor list holds every other member,
 * and every member links to every other (a full mesh).
 */

import { assertNever } from '../../../shared/assert-never.js'
import { toHex } from '../../../shared/encoding.js'
import type { ErrorCode } from '../../../shared/errors.js'
import {
  encodeRingMessage,
  type LinkWant,
  parseRingMessage,
  REPLY_OVERHEAD_BYTES,
  RING_PROTOCOL_VERSION,
  type RingErrorCode,
  type RingMessage,
  type RingMessageOf,
  type RouteOp,
  type RouteResult,
  recordsThatFit,
  signalKey,
} from '../../../shared/ring-protocol.js'
import {
  type NameRecord,
  nameKeyInput,
  nameTokens,
  type ProviderRecord,
  providerKeyInput,
  type RecordKind,
  type SignedRecord,
} from '../../../shared/ring-records.js'
import type { Clock } from '../clock.js'
import { peerIdOf } from '../identity.js'
import { TypedEventTarget } from '../typed-events.js'
import {
  between,
  betweenRightIncl,
  clockwise,
  idAt,
  positionOf,
  predecessorsFrom,
  successorsFrom,
} from './ids.js'
import { DEAD_AFTER_MISSES, isRingLink, type LinkInfo, LinkTable } from './link-table.js'
import { Publisher, type PutReport } from './publisher.js'
import { SourceRateLimiter } from './rate-limit.js'
import { checkRecord, keyOf } from './record-check.js'
import { MemoryRecordStore, type RecordStore } from './record-store.js'
import { Replicator, type StoredVia } from './replication.js'
import type { RingCrypto, RingSigner } from './ring-crypto.js'
import { type ResolvedRingOptions, RING_DEFAULTS, type RingOptions } from './ring-options.js'
import type { RingTransport } from './ring-transport.js'
import { type RouteReply, Router } from './router.js'

export type RingEvents = {
  /** Membership, predecessor or successor list changed. */
  state: RingNode
  /** A record this node did not hold is stored here now (for the simulator's key-movement count). */
  'record-stored': { key: string; record: SignedRecord; via: StoredVia }
  /** A message from a peer was refused (malformed, or not allowed now), with the code sent back. */
  'bad-message': { peerId: string; code: ErrorCode }
  /** A WebRTC signal routed to this peer through the ring (`sendSignal`), not parsed yet. */
  signal: { from: string; data: string }
}

export interface RingNodeDeps {
  identity: RingSigner
  transport: RingTransport
  crypto: RingCrypto
  clock: Clock
  /** Peer ids of nodes to join through (the tracker's peers, remembered contacts); [] when there are none. */
  bootstrap: () => string[]
  store?: RecordStore
  /** Default Math.random; the simulator passes a seeded one. */
  random?: () => number
  options?: RingOptions
}

/** What a lookup found: verified records, and how it went. */
export interface LookupResult<R extends SignedRecord = SignedRecord> {
  records: R[]
  /** At least one replica answered (an empty answer from two replicas also counts: nothing is stored). */
  answered: boolean
  attempts: number
  ms: number
  /** Hops of the first answer. */
  hops: number
}

/** A read-only view of the node's ring state, for tests and the simulator's invariant checks. */
export interface RingSnapshot {
  id: string
  member: boolean
  pred: string | null
  successors: readonly string[]
  predecessors: readonly string[]
}

/**
 * Replicas that must answer "nothing" before a lookup says so: a replica that missed a push (or drops on
 * purpose) answers empty, and two attempts ask four different replicas.
 */
const EMPTY_ANSWERS_FOR_NONE = 4
/** Time given to a second replica's answer after a first answer with records. */
const SECOND_ANSWER_GRACE_MS = 150
/** A node believed dead (it stopped answering, or could not be dialled) is kept out of lists this long. */
const DEAD_MEMORY_MS = 20_000
/** First wait before dialling a node again after a failed dial; doubles up to `dialBackoffMs`. */
const DIAL_RETRY_MS = 5_000
/** Nodes a finger search looks along for one with room, from the successor of a point in the interval. */
const FINGER_ROOM_WALK = 6
/** How long a node keeps a ring link slot for the finger that found it (a dial takes about a second). */
const ROOM_RESERVED_MS = 10_000
/** A link silent this long is pinged when a routed message takes it. */
const USE_PING_MS = 5_000
/** Successors a joiner walks back through before it joins (each one's predecessor lying between). */
const JOIN_WALK = 16
/** The request number of a `neighbours` message nobody asked for: a successor's list pushed on a change. */
const PUSHED = 0
/** Stabilise rounds run back to back while the successor keeps moving closer. */
const MAX_STABILISE_ROUNDS = 8
/** The one source of the finger-connection bucket. */
const FINGER_BUDGET = 'fingers'
/** Ids a `find` answer carries: the key's successor and a few after it, for joins and fingers. */
const FOUND_IDS = 8
/** A peer's signals are answered through the node that handed them over for this long (composite-signaller.ts SAME_WAY_MS). */
const SIGNAL_VIA_MS = 30_000
/** Peers remembered for that at most; the oldest is forgotten first. */
const MAX_SIGNAL_VIA = 256

export class RingNode extends TypedEventTarget<RingEvents> {
  readonly id: string
  readonly peerId: string
  readonly options: ResolvedRingOptions
  readonly store: RecordStore
  readonly links = new LinkTable()
  readonly #deps: RingNodeDeps
  readonly #pos: number
  readonly #random: () => number
  readonly #router: Router
  readonly #replicator: Replicator
  readonly #publisher: Publisher
  #member = false
  #memberSinceMs = 0
  #pred: string | null = null
  #successors: string[] = []
  #predecessors: string[] = []
  /** Every other member is in the successor list: the ring is smaller than r + 1. */
  #smallRing = false
  #started = false
  #destroyed = false
  #joining = false
  #attaching = false
  #stabilising = false
  #detach: (() => void) | null = null
  /** True while the transport reports the links open before this node attached. */
  #replaying = false
  #tickTimer: unknown = null
  #checkTimer: unknown = null
  #memberTimer: unknown = null
  #ticks = 0
  /** Routed requests taken from other peers (answered here or sent on): the Network panel's "lookups served". */
  #routesServed = 0
  /** Fingers by interval level: the node linked for each. */
  readonly #fingers = new Map<number, string>()
  #fingerCursor = 0
  #lastFingerDialMs = Number.NEGATIVE_INFINITY
  /** New connections for finger duty, dialled or given (`fingerConnectionsPerHour`): one bucket. */
  readonly #fingerBudget: SourceRateLimiter
  /** The member a client routes through. */
  #gateway: string | null = null
  /** Dials in progress, by node id, with what the link is wanted for. */
  readonly #dialing = new Map<string, LinkWant>()
  readonly #dialFailedUntil = new Map<string, number>()
  readonly #dialFailures = new Map<string, number>()
  readonly #refusedUntil = new Map<string, number>()
  readonly #deadUntil = new Map<string, number>()
  /** Waiters for a node's hello (its link is usable once it said who it is). */
  readonly #helloWaiters = new Map<string, ((link: LinkInfo | null) => void)[]>()
  /** Direct requests (get-neighbours) waiting for their answer. */
  readonly #asks = new Map<
    number,
    { peerId: string; resolve: (reply: RingMessageOf<'neighbours'> | null) => void }
  >()
  #nextAsk: number
  /** Per peer whose signal was delivered here, the linked peer that handed it over, and when. */
  readonly #signalVias = new Map<string, { via: string; atMs: number }>()
  /** A notifier waiting to become predecessor if the current one misses its ping (rectify). */
  #rectifyCandidate: { id: string; predecessors: string[] } | null = null

  constructor(deps: RingNodeDeps) {
    super()
    this.#deps = deps
    this.id = deps.identity.nodeId
    this.peerId = peerIdOf(this.id)
    this.#pos = positionOf(this.id)
    this.options = { ...RING_DEFAULTS, ...deps.options }
    this.store = deps.store ?? new MemoryRecordStore()
    this.#random = deps.random ?? Math.random
    this.#nextAsk = Math.floor(this.#random() * 2 ** 32) >>> 0
    this.#fingerBudget = new SourceRateLimiter(
      this.options.fingerConnectionsPerHour / 3600,
      this.options.fingerConnectionBurst,
      1,
    )
    this.#router = new Router(
      {
        selfId: this.id,
        selfPeerId: this.peerId,
        options: this.options,
        clock: deps.clock,
        links: this.links,
        isMember: () => this.#member,
        successors: () => this.#successors,
        isReplica: (key) => this.replicaIndex(key) >= 0,
        towardsReplica: (key, index) => this.#towardsReplica(key, index),
        fellowReplica: (key) => this.#fellowReplica(key),
        send: (peerId, message) => this.#send(peerId, message),
        answer: (request, key, origin, lastHop) => this.#answer(request, key, origin, lastHop),
        knownFrom: (key) => this.#fromOwner(key),
        takeRoom: () => this.#takeRoom(),
        used: (link) => this.#used(link),
        spacing: () => this.#spacing(),
        suspect: (link) => {
          link.misses = Math.max(link.misses, 1)
          this.#ping(link)
        },
      },
      Math.floor(this.#random() * 2 ** 32),
    )
    this.#replicator = new Replicator({
      selfId: this.id,
      options: this.options,
      crypto: deps.crypto,
      store: this.store,
      links: this.links,
      nowMs: () => deps.clock.now(),
      random: () => this.#random(),
      successors: () => this.#successors,
      predecessor: () => this.#pred,
      predecessors: () => this.#predecessors,
      replicaIndex: (key) => this.replicaIndex(key),
      send: (peerId, message) => this.#send(peerId, message),
      handOff: (key, records) => this.#putWithRetries(key, records),
      recordStored: (key, record, via) => this.emit('record-stored', { key, record, via }),
    })
    this.#publisher = new Publisher({
      signer: deps.identity,
      crypto: deps.crypto,
      clock: deps.clock,
      options: this.options,
      put: (key, records) => this.#putWithRetries(key, records),
    })
  }

  get member(): boolean {
    return this.#member
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  snapshot(): RingSnapshot {
    return {
      id: this.id,
      member: this.#member,
      pred: this.#pred,
      successors: this.#successors,
      predecessors: this.#predecessors,
    }
  }

  /** Ring links held now (this side's and those admitted for others). */
  ringLinkCount(): number {
    return this.links.ringLinkCount()
  }

  /** Routed requests this node has taken from others since it started (answered or sent on). */
  get routesServed(): number {
    return this.#routesServed
  }

  /** Fingers held now: interval level and node id. */
  fingers(): { level: number; nodeId: string }[] {
    return [...this.#fingers].map(([level, nodeId]) => ({ level, nodeId }))
  }

  /** The member a client routes through; null for a member, or a client that has none yet. */
  get gateway(): string | null {
    return this.#gateway
  }

  /**
   * Takes a ring position now (the host's membership policy decided: the CLI at once, a tab after two
   * minutes online) instead of waiting out `memberAfterMs`. Nothing when it is a member already.
   */
  join(): void {
    if (!this.#started || this.#destroyed || this.#member) return
    if (this.#memberTimer !== null) this.#deps.clock.clearTimeout(this.#memberTimer)
    this.#memberTimer = null
    void this.#join()
  }

  /** A client without a gateway looks for one again (the host learned of new peers). */
  attach(): void {
    if (!this.#started || this.#destroyed || this.#member || this.#joining || this.#attaching) return
    if (this.#gateway === null) void this.#attachAsClient()
  }

  /**
   * Routes a WebRTC signal to the peer `peerId` through the ring (issue 13): to it, or to the member it
   * routes through. One attempt (`attempt` > 0 picks among other next hops, as a lookup's retries do):
   * resolves with `delivered`, the code of the failure (NO_ROUTE when the peer is not on the ring), or
   * TIMEOUT when no answer came in time (it may have been delivered).
   */
  sendSignal(peerId: string, data: string, attempt = 0): Promise<'delivered' | 'TIMEOUT' | RingErrorCode> {
    return new Promise((resolve) => {
      if (this.#destroyed) return resolve('NO_ROUTE')
      const clock = this.#deps.clock
      let cancel = () => {}
      const timer = clock.setTimeout(() => {
        cancel()
        resolve('TIMEOUT')
      }, this.options.lookupAttemptMs * 2)
      const key = signalKey(peerId)
      if (key === null) {
        clock.clearTimeout(timer)
        return resolve('NO_ROUTE')
      }
      const onReply = (reply: RouteReply) => {
        if (reply.result.op !== 'delivered' && reply.result.op !== 'failed') return
        clock.clearTimeout(timer)
        cancel()
        resolve(reply.result.op === 'delivered' ? 'delivered' : reply.result.code)
      }
      // The peer's last signal came through a node linked to it: back the same way first (attempt 0).
      const via = attempt === 0 ? this.#signalVia(peerId) : undefined
      cancel = via
        ? this.#router.requestVia(via, key, { op: 'signal', data }, attempt, onReply)
        : this.#router.request(key, { op: 'signal', data }, attempt, onReply)
    })
  }

  /** Starts: attaches to the transport, then joins (at once, or after `memberAfterMs` as a client). */
  start(): void {
    if (!this.#attach()) return
    if (this.options.memberAfterMs <= 0) void this.#join()
    else {
      void this.#attachAsClient()
      this.#memberTimer = this.#deps.clock.setTimeout(() => void this.#join(), this.options.memberAfterMs)
    }
  }

  /**
   * Starts as a member that has been on the ring since `memberSinceMs`, with the neighbours given, as if
   * it had joined and stabilised: it links its predecessor and linked successors, and a finger in each
   * interval at `successorOf` a random point of it (a finger that finds no room is refused and looked for
   * again as any member does). For a ring built whole in its ideal state (the simulator's benchmark at
   * N = 10,000: growing it by joins costs tens of millions of events, and the join protocol is proven at
   * N = 1,000 in the suite). `successors` holds r members and `predecessors` up to k, nearest first.
   */
  startAsMember(state: {
    successors: readonly string[]
    predecessors: readonly string[]
    memberSinceMs: number
    successorOf: (id: string) => string
  }): void {
    if (!this.#attach()) return
    this.#member = true
    this.#memberSinceMs = state.memberSinceMs
    this.#pred = state.predecessors[0] ?? null
    this.#predecessors = state.predecessors.slice(0, this.options.replicas)
    this.#successors = state.successors.slice(0, this.options.successors)
    this.#smallRing = false
    for (const level of this.#fingerLevels()) {
      const low = 2 ** -level
      const finger = state.successorOf(idAt(this.id, low + this.#random() * low))
      if (finger === this.id || !this.#inLevel(positionOf(finger), level)) continue
      // Each finger dialled is a connection of finger duty; one the bucket has no token for stays empty.
      if (!this.#fingerBudget.take(FINGER_BUDGET, this.#deps.clock.now())) break
      this.#fingers.set(level, finger)
    }
    this.#refreshWants()
    for (const finger of new Set(this.#fingers.values())) void this.#linkTo(finger, 'finger')
    this.emit('state', this)
  }

  /** Attaches to the transport and starts the periodic work; false when started or destroyed already. */
  #attach(): boolean {
    if (this.#started || this.#destroyed) return false
    this.#started = true
    // Links already open are reported during attach: their far ends greeted this peer's previous node (the
    // product host restarts the node to heal a ring of one or to become a client), so this one asks for
    // their hello again. Without it the new node knew none of them until pingIdleMs and could not join.
    this.#replaying = true
    try {
      this.#detach = this.#deps.transport.attach({
        onFrame: (peerId, payload) => this.#onFrame(peerId, payload),
        onLinkOpen: (peerId) => this.#onLinkOpen(peerId),
        onLinkClose: (peerId) => this.#onLinkClose(peerId),
      })
    } finally {
      this.#replaying = false
    }
    this.#scheduleTick(this.#random() * this.options.stabiliseMs)
    return true
  }

  /** Leaves gracefully: tells the neighbours, so they patch their lists at once, then stops. */
  leave(): void {
    if (this.#destroyed) return
    if (this.#member) {
      const message: RingMessage = { type: 'leave', pred: this.#pred, successors: this.#successors.slice() }
      const told = new Set<string>()
      for (const id of [this.#pred, ...this.#successors.slice(0, this.options.linkedSuccessors)]) {
        const link = id === null ? undefined : this.links.byNode(id)
        if (link && !told.has(link.peerId)) {
          told.add(link.peerId)
          this.#send(link.peerId, message)
        }
      }
    }
    this.destroy()
  }

  /** Stops at once (a crash, or after `leave`): timers, links and waiters go; nothing fires afterwards. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    const clock = this.#deps.clock
    for (const timer of [this.#tickTimer, this.#checkTimer, this.#memberTimer])
      if (timer !== null) clock.clearTimeout(timer)
    this.#publisher.destroy()
    this.#router.destroy()
    for (const ask of this.#asks.values()) ask.resolve(null)
    this.#asks.clear()
    for (const waiters of this.#helloWaiters.values()) for (const waiter of waiters) waiter(null)
    this.#helloWaiters.clear()
    for (const link of this.links.all()) if (link.claimed) this.#deps.transport.release(link.peerId)
    this.#detach?.()
    this.#detach = null
  }

  // ---- public API: records

  /** Publishes (and republishes) that this node holds `chunks` chunks of `digest`. */
  provide(digest: string, chunks: number): Promise<PutReport[]> {
    return this.#publisher.provide(digest, chunks)
  }

  /** Publishes (and republishes) a name record for each token of `name`. */
  publishName(digest: string, name: string, size: number, chunkCount: number): Promise<PutReport[]> {
    return this.#publisher.name(digest, name, size, chunkCount)
  }

  /** Stops republishing records about `digest`. */
  withdraw(digest: string): void {
    this.#publisher.withdraw(digest)
  }

  /** The verified provider records of `digest`. */
  async findProviders(digest: string): Promise<LookupResult<ProviderRecord>> {
    const key = await keyOf(providerKeyInput(digest), this.#deps.crypto)
    const result = await this.lookup('provider', key)
    return {
      ...result,
      records: result.records.filter(
        (r): r is ProviderRecord => r.kind === 'provider' && r.digest === digest,
      ),
    }
  }

  /** Name records under every token of `query`, keeping the files whose names hold all of them. */
  async search(query: string): Promise<NameRecord[]> {
    const tokens = nameTokens(query)
    if (tokens.length === 0) return []
    const results = await Promise.all(
      tokens.map(async (token) => {
        const result = await this.lookup('name', await keyOf(nameKeyInput(token), this.#deps.crypto))
        return result.records.filter((r): r is NameRecord => r.kind === 'name')
      }),
    )
    const [first, ...rest] = results
    return (first ?? []).filter((record) =>
      rest.every((records) => records.some((other) => other.digest === record.digest)),
    )
  }

  /**
   * Looks up the records of `kind` under `key`: asks two replicas, keeps only records that verify, and
   * tries other paths until an answer comes or the attempts run out.
   */
  lookup(kind: RecordKind, key: string): Promise<LookupResult> {
    const started = this.#deps.clock.now()
    const records = new Map<string, SignedRecord>()
    const answeredBy = new Set<string>()
    let hops = -1
    let grace: unknown = null
    return this.#attempts(key, { op: 'get', kind }, (reply, finish) => {
      if (reply.result.op !== 'records') return
      if (hops < 0) hops = reply.hops
      const fresh = reply.result.records
      void this.#verified(key, fresh).then((valid) => {
        for (const record of valid) records.set(`${toHex(record.publisher)}:${record.digest}`, record)
        // An answer of forged records is no answer: it does not count towards "nobody has any".
        if (fresh.length > 0 && valid.length === 0) return
        answeredBy.add(reply.from)
        if (records.size > 0) {
          if (answeredBy.size >= 2) finish()
          else grace ??= this.#deps.clock.setTimeout(finish, SECOND_ANSWER_GRACE_MS)
        } else if (answeredBy.size >= EMPTY_ANSWERS_FOR_NONE) finish()
      })
    }).then(({ attempts }) => {
      if (grace !== null) this.#deps.clock.clearTimeout(grace)
      return {
        records: [...records.values()],
        answered: answeredBy.size > 0,
        attempts,
        ms: this.#deps.clock.now() - started,
        hops,
      }
    })
  }

  /**
   * The successor of `key` and a few nodes after it, as the ring knows them; with `room` > 0, the first
   * node from there (at most `room` on) with room for another ring link. Null when none answered.
   */
  async findSuccessor(key: string, room = 0): Promise<{ nodes: string[]; hops: number } | null> {
    let found: { nodes: string[]; hops: number } | null = null
    await this.#attempts(key, { op: 'find', room }, (reply, finish) => {
      if (reply.result.op === 'failed' && reply.result.code === 'RING_FULL') return finish()
      if (reply.result.op !== 'found') return
      found = { nodes: reply.result.nodes, hops: reply.hops }
      finish()
    })
    return found
  }

  /** This node's place among the replicas of `key` (0: the owner), or -1 when it is not one. */
  replicaIndex(key: string): number {
    if (!this.#member) return -1
    const preds = this.#predecessors
    const k = this.options.replicas
    if (preds.length === 0) return this.#successors.length === 0 ? 0 : -1
    // Members in [key, self) are the replicas before this one.
    let before = 0
    for (const p of preds) {
      if (p !== key && !between(key, p, this.id)) return before < k ? before : -1
      before++
    }
    // Every predecessor it knows lies in [key, self): only a ring it knows whole tells where the key is.
    return this.#knowsWholeRing() && before < k ? before : -1
  }

  // ---- the transport

  #onLinkOpen(peerId: string): void {
    if (this.#destroyed) return
    // A new link to a peer whose old link's close has not been reported yet: the old one is gone.
    if (this.links.get(peerId)) this.#onLinkClose(peerId)
    const link = this.links.open(peerId, this.#deps.clock.now())
    const dialed = [...this.#dialing].find(([nodeId]) => peerIdOf(nodeId) === peerId)
    link.localWant = dialed ? dialed[1] : 'none'
    this.#sendHello(link, this.#replaying)
    this.#updateClaim(link)
  }

  #onLinkClose(peerId: string): void {
    if (this.#destroyed) return
    const link = this.links.close(peerId)
    if (!link) return
    for (const [req, ask] of this.#asks) {
      if (ask.peerId !== peerId) continue
      this.#asks.delete(req)
      ask.resolve(null)
    }
    if (link.nodeId !== null) this.#forgetNode(link.nodeId, false)
  }

  #onFrame(peerId: string, payload: Uint8Array): void {
    if (this.#destroyed) return
    const link = this.links.get(peerId)
    if (!link) return
    link.lastHeardMs = this.#deps.clock.now()
    link.misses = 0
    link.pingNonce = null
    const parsed = parseRingMessage(payload)
    if (!parsed.ok) return this.#refuse(link, 0, parsed.code)
    const message = parsed.message
    if (message.type !== 'hello' && link.nodeId === null) return this.#refuse(link, 0, 'BAD_MESSAGE')
    this.#dispatch(link, message)
  }

  #dispatch(link: LinkInfo, message: RingMessage): void {
    switch (message.type) {
      case 'hello':
        return void this.#onHello(link, message)
      case 'refuse':
        return this.#onRefuse(link)
      case 'ping':
        return this.#send(link.peerId, { type: 'pong', nonce: message.nonce })
      case 'pong':
        return
      case 'get-neighbours':
        if (!this.#member) return this.#refuse(link, message.req, 'NOT_MEMBER')
        return this.#send(link.peerId, {
          type: 'neighbours',
          req: message.req,
          pred: this.#pred,
          successors: this.#successors.slice(),
        })
      case 'neighbours':
        return this.#onNeighbours(link, message)
      case 'notify':
        return this.#onNotify(link, message)
      case 'leave':
        return this.#onLeave(link, message)
      case 'route':
        this.#routesServed++
        return this.#router.onRoute(link, message)
      case 'ack':
        return this.#router.onAck(link, message.req)
      case 'route-reply':
        return this.#router.onReply(message)
      case 'replicate':
        return void this.#replicator.onReplicate(message)
      case 'error':
        return this.#onError(link, message)
      default:
        return assertNever(message)
    }
  }

  #send(peerId: string, message: RingMessage): void {
    if (!this.#destroyed) this.#deps.transport.send(peerId, encodeRingMessage(message))
  }

  /** Answers a message this node will not take with a typed error (routed requests get a failed reply). */
  #refuse(link: LinkInfo, req: number, code: RingErrorCode): void {
    this.emit('bad-message', { peerId: link.peerId, code })
    this.#send(link.peerId, { type: 'error', req, code })
  }

  #onError(link: LinkInfo, message: RingMessageOf<'error'>): void {
    const ask = this.#asks.get(message.req)
    if (ask && ask.peerId === link.peerId) {
      this.#asks.delete(message.req)
      ask.resolve(null)
    }
  }

  // ---- links: hello, wants, admission

  #sendHello(link: LinkInfo, ask = false): void {
    link.saidMember = this.#member
    this.#send(link.peerId, {
      type: 'hello',
      version: RING_PROTOCOL_VERSION,
      member: this.#member,
      ask,
      want: link.localWant,
      publicKey: this.#deps.identity.publicKey,
    })
  }

  async #onHello(link: LinkInfo, message: RingMessageOf<'hello'>): Promise<void> {
    if (message.version !== RING_PROTOCOL_VERSION) return
    const nodeId = toHex(await this.#deps.crypto.sha256(message.publicKey))
    if (this.#destroyed || this.links.get(link.peerId) !== link) return
    if (peerIdOf(nodeId) !== link.peerId || nodeId === this.id) {
      // A key that is not the peer's: someone claims an identity it cannot prove.
      this.#refuse(link, 0, 'BAD_MESSAGE')
      return this.#deps.transport.close(link.peerId)
    }
    const known = link.nodeId === nodeId
    this.links.identify(link, nodeId, message.publicKey, positionOf(nodeId))
    if (message.ask) this.#sendHello(link)
    link.remoteMember = message.member
    link.remoteWant = message.want
    if (message.want === 'none') link.admitted = false
    else if (!link.admitted) {
      // A finger that found this node through a find for room holds a reserved slot: it uses it now.
      if (message.want === 'finger' && this.#reserved.length > 0) this.#reserved.shift()
      if (message.want === 'neighbour' || this.links.ringLinkCount() < this.#linkCap()) link.admitted = true
      else this.#send(link.peerId, { type: 'refuse' })
    }
    if (!known) {
      const wanted = this.#desiredWant(nodeId)
      if (wanted !== link.localWant) {
        link.localWant = wanted
        this.#sendHello(link)
      }
    }
    this.#updateClaim(link)
    this.#enforceBudget()
    const waiters = this.#helloWaiters.get(nodeId)
    this.#helloWaiters.delete(nodeId)
    for (const waiter of waiters ?? []) waiter(link)
    if (!known) this.#refreshWants()
  }

  #onRefuse(link: LinkInfo): void {
    const nodeId = link.nodeId!
    this.#refusedUntil.set(nodeId, this.#deps.clock.now() + this.options.refusedBackoffMs)
    for (const [level, id] of this.#fingers) if (id === nodeId) this.#fingers.delete(level)
    if (this.#gateway === nodeId) this.#gateway = null
    this.#refreshWants()
    if (!this.#member && this.#gateway === null) void this.#attachAsClient()
  }

  /** Slots promised to fingers on their way (a find for room found this node), until when. */
  readonly #reserved: number[] = []

  #takeRoom(): boolean {
    const now = this.#deps.clock.now()
    while (this.#reserved.length > 0 && this.#reserved[0]! <= now) this.#reserved.shift()
    // Sessions have a decreasing hazard (Weibull, DHT.md §1.4): a member that has lasted will likely
    // last, so young members leave finger duty to older ones and fingers are re-dialled less often.
    if (!this.#member || now - this.#memberSinceMs < this.options.fingerMinAgeMs) return false
    if (this.links.ringLinkCount() + this.#reserved.length >= this.#linkCap()) return false
    // The finger's dial costs this node a PeerConnection too: it comes out of the same budget.
    if (!this.#fingerBudget.take(FINGER_BUDGET, now)) return false
    this.#reserved.push(now + ROOM_RESERVED_MS)
    return true
  }

  #linkCap(): number {
    return this.#smallRing
      ? Math.max(this.options.maxRingLinks, this.options.successors)
      : this.options.maxRingLinks
  }

  /** What this node wants a link to `nodeId` for, from its ring state. */
  #desiredWant(nodeId: string): LinkWant {
    if (this.#member) {
      if (nodeId === this.#pred) return 'neighbour'
      const linkedSuccessors = this.#smallRing ? this.#successors.length : this.options.linkedSuccessors
      const index = this.#successors.indexOf(nodeId)
      if (index >= 0 && index < linkedSuccessors) return 'neighbour'
    }
    for (const id of this.#fingers.values()) if (id === nodeId) return 'finger'
    if (nodeId === this.#gateway) return 'client'
    return this.#dialing.get(nodeId) ?? 'none'
  }

  /** Brings every link's want in line with the ring state, dials missing neighbours, keeps the budget. */
  #refreshWants(): void {
    if (this.#destroyed) return
    for (const link of this.links.all()) {
      if (link.nodeId === null) continue
      const want = this.#desiredWant(link.nodeId)
      if (want !== link.localWant || link.saidMember !== this.#member) {
        link.localWant = want
        this.#sendHello(link)
      }
      this.#updateClaim(link)
    }
    if (this.#member) {
      const linkedSuccessors = this.#smallRing ? this.#successors.length : this.options.linkedSuccessors
      for (const id of [this.#pred, ...this.#successors.slice(0, linkedSuccessors)]) {
        if (id !== null && !this.links.byNode(id)) void this.#linkTo(id, 'neighbour')
      }
    }
    this.#enforceBudget()
  }

  #updateClaim(link: LinkInfo): void {
    const claim = isRingLink(link)
    if (claim === link.claimed) return
    link.claimed = claim
    if (claim) this.#deps.transport.claim(link.peerId)
    else this.#deps.transport.release(link.peerId)
  }

  /** Gives up fingers (others' first, then its own) while the ring holds more links than it may. */
  #enforceBudget(): void {
    let over = this.links.ringLinkCount() - this.#linkCap()
    if (over <= 0) return
    for (const link of this.links.all()) {
      if (over <= 0) break
      if (link.admitted && link.remoteWant !== 'neighbour' && link.localWant === 'none') {
        link.admitted = false
        this.#send(link.peerId, { type: 'refuse' })
        this.#updateClaim(link)
        over--
      }
    }
    for (const [level, id] of this.#fingers) {
      if (over <= 0) break
      const link = this.links.byNode(id)
      if (link && link.localWant === 'finger' && !(link.admitted && link.remoteWant !== 'none')) {
        this.#fingers.delete(level)
        link.localWant = 'none'
        this.#sendHello(link)
        this.#updateClaim(link)
        over--
      }
    }
  }

  /**
   * A usable link to `nodeId` (identified by its hello), dialling it when there is none. Null when it
   * cannot be had (dial failed, or the peer never said hello).
   */
  async #linkTo(nodeId: string, want: LinkWant): Promise<LinkInfo | null> {
    const existing = this.links.byNode(nodeId)
    if (existing) return existing.misses < DEAD_AFTER_MISSES ? existing : null
    if (nodeId === this.id || this.#destroyed) return null
    const now = this.#deps.clock.now()
    if ((this.#dialFailedUntil.get(nodeId) ?? 0) > now) return null
    const hello = new Promise<LinkInfo | null>((resolve) => {
      const waiters = this.#helloWaiters.get(nodeId) ?? []
      waiters.push(resolve)
      this.#helloWaiters.set(nodeId, waiters)
    })
    if (!this.#dialing.has(nodeId)) {
      this.#dialing.set(nodeId, want)
      const peerId = peerIdOf(nodeId)
      this.#deps.transport.dial(peerId).then(
        () => {
          this.#dialing.delete(nodeId)
          this.#dialFailures.delete(nodeId)
          // The link is open; its hello settles the waiters. One that never comes leaves them to the timeout.
          const timer = this.#deps.clock.setTimeout(
            () => this.#settleHello(nodeId, null),
            this.options.requestTimeoutMs * 3,
          )
          void hello.then(() => this.#deps.clock.clearTimeout(timer))
        },
        () => {
          this.#dialing.delete(nodeId)
          // A failed dial says little about the node (ICE fails one time in ten): back off, doubling.
          const failures = (this.#dialFailures.get(nodeId) ?? 0) + 1
          this.#dialFailures.set(nodeId, failures)
          const backoff = Math.min(this.options.dialBackoffMs, DIAL_RETRY_MS * 2 ** (failures - 1))
          this.#dialFailedUntil.set(nodeId, this.#deps.clock.now() + backoff)
          this.#settleHello(nodeId, null)
        },
      )
    }
    return hello
  }

  #settleHello(nodeId: string, link: LinkInfo | null): void {
    const waiters = this.#helloWaiters.get(nodeId)
    this.#helloWaiters.delete(nodeId)
    for (const waiter of waiters ?? []) waiter(link)
  }

  // ---- membership: join, stabilise, rectify, leave

  /** A client (not on the ring yet) routes through one member: its gateway. */
  async #attachAsClient(): Promise<void> {
    if (this.#attaching) return
    this.#attaching = true
    try {
      await this.#attachLoop()
    } finally {
      this.#attaching = false
    }
  }

  async #attachLoop(): Promise<void> {
    while (!this.#destroyed && !this.#member && this.#gateway === null) {
      const routable = [...this.links.routable()]
      if (routable.length > 0) {
        this.#gateway = routable[0]!.nodeId
        this.#refreshWants()
        void this.#gatewayAtOwnPlace()
        return
      }
      const peerId = this.#pickBootstrap()
      if (peerId === null) return
      await this.#dialPeer(peerId, 'client')
      if (this.#gateway === null) await this.#sleep(this.options.stabiliseMs)
    }
  }

  /** Dials a peer known only by its peer id (a bootstrap), waiting for its hello. */
  async #dialPeer(peerId: string, want: LinkWant): Promise<LinkInfo | null> {
    try {
      await this.#deps.transport.dial(peerId)
    } catch {
      return null
    }
    const link = this.links.get(peerId)
    if (!link) return null
    if (link.nodeId === null) await this.#sleep(this.options.requestTimeoutMs)
    if (link.nodeId === null || !link.remoteMember) {
      if (!isRingLink(link)) this.#deps.transport.release(peerId)
      return null
    }
    if (want === 'client' && !this.#member && this.#gateway === null) {
      this.#gateway = link.nodeId
      void this.#gatewayAtOwnPlace()
    }
    this.#refreshWants()
    return link
  }

  /**
   * Moves a client's gateway to the member that follows its own id: signals routed to this peer end at
   * the successor of its id (signalKey), which hands them over only when it is linked to it.
   */
  async #gatewayAtOwnPlace(): Promise<void> {
    if (!this.options.gatewayAtOwnId) return
    const found = await this.findSuccessor(this.id)
    const owner = found?.nodes.find((id) => id !== this.id)
    if (!owner || owner === this.#gateway || this.#member || this.#destroyed) return
    const link = await this.#linkTo(owner, 'client')
    if (!link?.remoteMember || this.#member || this.#destroyed) return
    this.#gateway = owner
    this.#refreshWants()
  }

  #pickBootstrap(): string | null {
    const candidates = this.#deps.bootstrap().filter((peerId) => peerId !== this.peerId)
    if (candidates.length === 0) return null
    return candidates[Math.floor(this.#random() * candidates.length)]!
  }

  async #join(): Promise<void> {
    if (this.#joining || this.#member || this.#destroyed) return
    this.#joining = true
    try {
      for (let attempt = 0; !this.#destroyed && !this.#member; attempt++) {
        if ([...this.links.routable()].length === 0) {
          const peerId = this.#pickBootstrap()
          if (peerId === null) {
            if (attempt === 0 || this.links.size === 0) return this.#becomeMember([], false)
          } else await this.#dialPeer(peerId, 'client')
        }
        const found = await this.findSuccessor(this.id)
        let owner = found?.nodes.find((id) => id !== this.id)
        if (owner) {
          let reply = await this.#askNeighbours(owner, 'neighbour')
          // The answer came from one node's lists, which may lag behind joins beside this id: the
          // successor's own predecessor, if it lies between, is the nearer successor. Nothing changes
          // for anyone while this node walks back; it joins at the end.
          for (
            let step = 0;
            reply?.pred && step < JOIN_WALK && between(this.id, reply.pred, owner!);
            step++
          ) {
            const nearer: string = reply.pred
            const answer = await this.#askNeighbours(nearer, 'neighbour')
            if (!answer) break
            owner = nearer
            reply = answer
          }
          if (reply && !this.#member) {
            const { list, wrapped } = successorsFrom(
              this.id,
              [owner, ...reply.successors],
              this.options.successors,
            )
            if (list.length > 0) return this.#becomeMember(list, wrapped)
          }
        }
        await this.#sleep(this.options.stabiliseMs)
      }
    } finally {
      this.#joining = false
    }
  }

  #becomeMember(list: string[], wrapped: boolean): void {
    if (this.#destroyed) return
    this.#member = true
    this.#memberSinceMs = this.#deps.clock.now()
    this.#gateway = null
    this.#pred = null
    this.#predecessors = []
    this.#adoptSuccessors(list, wrapped)
    this.#refreshWants()
    this.emit('state', this)
    void this.#stabilise()
  }

  /** Drops out of the ring to join afresh (every successor is gone: DHT.md, never reuse a stale list). */
  #rejoin(): void {
    this.#member = false
    this.#pred = null
    this.#predecessors = []
    this.#successors = []
    this.#smallRing = false
    this.emit('state', this)
    this.#refreshWants()
    void this.#join()
  }

  /**
   * Stabilises, and again at once while each round moves the successor closer (a joiner that was told
   * a successor too far on, by a node that had not heard of the nodes joining beside it, walks back in
   * one go instead of one node a period).
   */
  async #stabilise(): Promise<void> {
    if (!this.#member || this.#stabilising || this.#destroyed) return
    this.#stabilising = true
    try {
      for (let round = 0; round < MAX_STABILISE_ROUNDS; round++) if (!(await this.#stabiliseOnce())) break
    } finally {
      this.#stabilising = false
    }
  }

  /** One round of Zave's stabilise; true when the successor moved to a node between (worth another). */
  async #stabiliseOnce(): Promise<boolean> {
    if (!this.#member || this.#destroyed) return false
    if (this.#successors.length === 0) {
      // Alone, until someone notifies: then that one is the successor too (a ring of two).
      if (this.#pred === null) return false
      this.#adoptSuccessors([this.#pred], true)
    }
    const successor = this.#successors[0]!
    const reply = await this.#askNeighbours(successor, 'neighbour')
    if (!this.#member || this.#successors[0] !== successor) return false
    if (!reply) {
      // One unanswered request may be a lost frame: the next round asks again. A second in a row on an
      // open link is a death; no link at all may be a failed dial, tried again later.
      const link = this.links.byNode(successor)
      if (!link || link.misses >= DEAD_AFTER_MISSES) this.#successorFailed(successor, link !== undefined)
      return false
    }
    let adopted = successorsFrom(
      this.id,
      [successor, ...this.#alive(reply.successors)],
      this.options.successors,
    )
    let moved = false
    const candidate = reply.pred
    if (
      candidate !== null &&
      candidate !== this.id &&
      between(this.id, candidate, successor) &&
      !this.#isDead(candidate)
    ) {
      // Stabilize2: adopt the successor's predecessor only once it answers with its own list.
      const second = await this.#askNeighbours(candidate, 'neighbour')
      if (!this.#member || this.#successors[0] !== successor) return false
      if (second) {
        adopted = successorsFrom(
          this.id,
          [candidate, ...this.#alive(second.successors)],
          this.options.successors,
        )
        moved = true
      }
    }
    this.#adoptSuccessors(adopted.list, adopted.wrapped)
    const next = this.#successors[0]
    const link = next === undefined ? undefined : this.links.byNode(next)
    if (link) this.#send(link.peerId, { type: 'notify', predecessors: this.#notifyList() })
    return moved
  }

  /** Zave: a successor that fails is replaced by the first live entry of the list. */
  #successorFailed(successor: string, dead: boolean): void {
    if (dead) this.#deadUntil.set(successor, this.#deps.clock.now() + DEAD_MEMORY_MS)
    const rest = this.#successors.filter((id) => id !== successor)
    if (rest.length === 0) return this.#rejoin()
    this.#adoptSuccessors(rest, this.#smallRing)
  }

  #adoptSuccessors(list: string[], wrapped: boolean): void {
    const before = { pred: this.#pred, successors: this.#successors }
    // Only a list that came back round to this node (or none: alone) shows a small ring; a short list
    // may just be stale.
    const smallRing = wrapped || list.length === 0
    if (sameList(list, this.#successors) && smallRing === this.#smallRing) return
    this.#successors = list
    this.#smallRing = smallRing
    this.#afterChange(before)
  }

  /** What a notify carries: this node's own predecessors, so the successor learns its k predecessors. */
  #notifyList(): string[] {
    return this.#predecessors.slice(0, this.options.replicas - 1)
  }

  #onNotify(link: LinkInfo, message: RingMessageOf<'notify'>): void {
    if (!this.#member) return
    const notifier = link.nodeId!
    const pred = this.#pred
    if (pred === null || pred === notifier || between(pred, notifier, this.id)) {
      this.#rectifyCandidate = null
      return this.#setPredecessor(notifier, message.predecessors)
    }
    // Rectify: keep the current predecessor unless it is dead; a ping settles it at the next check.
    const predLink = this.links.byNode(pred)
    if (!predLink || predLink.misses >= DEAD_AFTER_MISSES)
      return this.#setPredecessor(notifier, message.predecessors)
    this.#rectifyCandidate = { id: notifier, predecessors: message.predecessors }
    this.#ping(predLink)
  }

  #setPredecessor(pred: string | null, theirPredecessors: readonly string[]): void {
    const before = { pred: this.#pred, successors: this.#successors }
    const predecessors =
      pred === null ? [] : predecessorsFrom(this.id, [pred, ...theirPredecessors], this.options.replicas)
    const changed = pred !== this.#pred || !sameList(predecessors, this.#predecessors)
    if (!changed) return
    this.#pred = pred
    this.#predecessors = predecessors
    if (pred !== before.pred) this.#afterChange(before)
    else this.emit('state', this)
  }

  /** Zave: a predecessor that fails is cleared; the next notify fills it. Its range is this node's now. */
  #dropPredecessor(dead: string): void {
    const before = { pred: this.#pred, successors: this.#successors }
    this.#pred = null
    this.#predecessors = this.#predecessors.filter((id) => id !== dead)
    this.#afterChange(before)
  }

  #onLeave(link: LinkInfo, message: RingMessageOf<'leave'>): void {
    const leaver = link.nodeId!
    this.#deadUntil.set(leaver, this.#deps.clock.now() + DEAD_MEMORY_MS)
    if (!this.#member) return
    if (leaver === this.#pred) {
      const pred = message.pred !== null && message.pred !== this.id ? message.pred : null
      this.#setPredecessor(pred, this.#predecessors.slice(2))
    }
    const index = this.#successors.indexOf(leaver)
    if (index === 0) {
      const { list, wrapped } = successorsFrom(
        this.id,
        this.#alive(message.successors),
        this.options.successors,
      )
      if (list.length > 0) this.#adoptSuccessors(list, wrapped)
      else this.#successorFailed(leaver, true)
    } else if (index > 0)
      this.#adoptSuccessors(
        this.#successors.filter((id) => id !== leaver),
        this.#smallRing,
      )
    this.#forgetNode(leaver, true)
  }

  /** A node is gone (its link closed, or it left): out of fingers, and of the neighbours if it was one. */
  #forgetNode(nodeId: string, left: boolean): void {
    for (const [level, id] of this.#fingers) if (id === nodeId) this.#fingers.delete(level)
    if (this.#gateway === nodeId) {
      this.#gateway = null
      if (!this.#member) void this.#attachAsClient()
    }
    if (this.#member && !left) {
      if (nodeId === this.#pred) this.#dropPredecessor(nodeId)
      if (this.#successors[0] === nodeId) this.#successorFailed(nodeId, true)
      else if (
        this.#successors.indexOf(nodeId) > 0 &&
        this.#successors.indexOf(nodeId) < this.options.linkedSuccessors
      ) {
        this.#deadUntil.set(nodeId, this.#deps.clock.now() + DEAD_MEMORY_MS)
        this.#adoptSuccessors(
          this.#successors.filter((id) => id !== nodeId),
          this.#smallRing,
        )
      }
    }
    this.#refreshWants()
  }

  /**
   * After the predecessor or the successor list changed: links, replicas, listeners; and the news to the
   * predecessor (a new list), or to the old predecessor (a node joined between it and this one).
   */
  #afterChange(before: { pred: string | null; successors: readonly string[] }): void {
    this.#refreshWants()
    if (this.#member) {
      if (!sameList(before.successors, this.#successors)) this.#pushNeighbours(this.#pred)
      if (
        before.pred !== null &&
        this.#pred !== null &&
        before.pred !== this.#pred &&
        between(before.pred, this.#pred, this.id)
      )
        this.#pushNeighbours(before.pred)
    }
    this.#replicator.onNeighboursChanged(before.successors)
    this.emit('state', this)
  }

  #onNeighbours(link: LinkInfo, message: RingMessageOf<'neighbours'>): void {
    if (message.req === PUSHED) return this.#onPushedNeighbours(link, message)
    const ask = this.#asks.get(message.req)
    if (!ask || ask.peerId !== link.peerId) return
    this.#asks.delete(message.req)
    ask.resolve(message)
  }

  /**
   * The successor's list, pushed because it changed: reconciled as a stabilise round would, without the
   * round trip. A predecessor of the successor's that lies between is left to a stabilise round (Zave's
   * Stabilize2 asks that node first), run now rather than at the next period.
   */
  #onPushedNeighbours(link: LinkInfo, message: RingMessageOf<'neighbours'>): void {
    const successor = this.#successors[0]
    if (!this.#member || successor === undefined || link.nodeId !== successor) return
    const candidate = message.pred
    if (candidate !== null && candidate !== this.id && between(this.id, candidate, successor)) {
      return void this.#stabilise()
    }
    const adopted = successorsFrom(
      this.id,
      [successor, ...this.#alive(message.successors)],
      this.options.successors,
    )
    this.#adoptSuccessors(adopted.list, adopted.wrapped)
  }

  /** Tells `nodeId`, when linked, this node's predecessor and successor list (a push: req 0). */
  #pushNeighbours(nodeId: string | null): void {
    const link = nodeId === null ? undefined : this.links.live(nodeId)
    if (!link?.remoteMember) return
    this.#send(link.peerId, {
      type: 'neighbours',
      req: PUSHED,
      pred: this.#pred,
      successors: this.#successors.slice(),
    })
  }

  /** Asks `nodeId` for its predecessor and successor list; null when it cannot be reached or does not answer. */
  async #askNeighbours(nodeId: string, want: LinkWant): Promise<RingMessageOf<'neighbours'> | null> {
    const link = await this.#linkTo(nodeId, want)
    if (!link || this.#destroyed) return null
    // Request 0 is a push, never an ask.
    if (this.#nextAsk === PUSHED) this.#nextAsk++
    const req = this.#nextAsk
    this.#nextAsk = (this.#nextAsk + 1) >>> 0
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => {
        if (!this.#asks.delete(req)) return
        link.misses++
        resolve(null)
      }, this.options.requestTimeoutMs)
      this.#asks.set(req, {
        peerId: link.peerId,
        resolve: (reply) => {
          this.#deps.clock.clearTimeout(timer)
          resolve(reply)
        },
      })
      this.#send(link.peerId, { type: 'get-neighbours', req })
    })
  }

  #isDead(nodeId: string): boolean {
    const until = this.#deadUntil.get(nodeId)
    if (until === undefined) return false
    if (until > this.#deps.clock.now()) return true
    this.#deadUntil.delete(nodeId)
    return false
  }

  /** Ids without the ones this node saw die lately (others' lists lag behind). */
  #alive(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.#isDead(id))
  }

  // ---- periodic work

  #scheduleTick(delayMs: number): void {
    this.#tickTimer = this.#deps.clock.setTimeout(() => this.#tick(), delayMs)
  }

  #tick(): void {
    if (this.#destroyed) return
    const jitter = 0.8 + 0.4 * this.#random()
    this.#scheduleTick(this.options.stabiliseMs * jitter)
    this.#ticks++
    const now = this.#deps.clock.now()
    if (this.#member) void this.#stabilise()
    for (const link of this.links.all()) {
      // No hello from the far end after a while: ask for it again.
      if (link.nodeId === null && now - link.openedMs >= this.options.pingIdleMs) this.#sendHello(link, true)
      if (link.nodeId === null || link.pingNonce !== null) continue
      if (isRingLink(link) && now - link.lastHeardMs >= this.options.pingIdleMs) this.#ping(link)
    }
    this.#scheduleCheck()
    const fingerEvery = Math.max(1, Math.round(this.options.fingerFixMs / this.options.stabiliseMs))
    if (this.#member && this.#ticks % fingerEvery === 0) void this.#fixFinger()
    this.#router.sweep(now)
    this.#replicator.tick()
  }

  #ping(link: LinkInfo): void {
    if (link.pingNonce !== null) return
    link.pingNonce = Math.floor(this.#random() * 2 ** 32) >>> 0
    link.pingSentMs = this.#deps.clock.now()
    this.#send(link.peerId, { type: 'ping', nonce: link.pingNonce })
    this.#scheduleCheck()
  }

  /** Pings are judged `requestTimeoutMs` after they leave: one check timer at a time. */
  #scheduleCheck(): void {
    if (this.#checkTimer === null) {
      this.#checkTimer = this.#deps.clock.setTimeout(() => this.#check(), this.options.requestTimeoutMs)
    }
  }

  /**
   * A link a routed message is about to take: if nothing came from it for a while, it is pinged, so a
   * finger whose far end died is found out by the traffic that needs it, not only by the next round.
   */
  #used(link: LinkInfo): void {
    if (this.#deps.clock.now() - link.lastHeardMs >= USE_PING_MS) this.#ping(link)
  }

  /** A request timeout after each tick: links that did not answer their ping miss one; two, and they go. */
  #check(): void {
    this.#checkTimer = null
    if (this.#destroyed) return
    const now = this.#deps.clock.now()
    const dead: LinkInfo[] = []
    for (const link of this.links.all()) {
      if (link.pingNonce === null) continue
      if (now - link.pingSentMs < this.options.requestTimeoutMs) {
        this.#scheduleCheck()
        continue
      }
      link.pingNonce = null
      link.misses++
      // Suspected now (routing avoids it): asked once more at once, and given up if that goes unanswered.
      if (link.misses >= DEAD_AFTER_MISSES) dead.push(link)
      else this.#ping(link)
    }
    const candidate = this.#rectifyCandidate
    if (candidate && this.#pred !== null) {
      const predLink = this.links.byNode(this.#pred)
      if (!predLink || predLink.misses > 0) {
        this.#rectifyCandidate = null
        this.#setPredecessor(candidate.id, candidate.predecessors)
      }
    }
    for (const link of dead) {
      if (link.nodeId !== null) this.#deadUntil.set(link.nodeId, this.#deps.clock.now() + DEAD_MEMORY_MS)
      this.#deps.transport.close(link.peerId)
      this.#onLinkClose(link.peerId)
    }
  }

  // ---- fingers

  /** Finger intervals to fill: `fingers` levels spread from the ring's half to the successors' range. */
  #fingerLevels(): number[] {
    const r = this.options.successors
    if (this.#smallRing || this.#successors.length < r) return []
    const span = clockwise(this.#pos, positionOf(this.#successors[r - 1]!))
    if (span <= 0) return []
    const top = Math.log2(r / span)
    const count = this.options.fingers
    const levels = new Set<number>()
    for (let j = 0; j < count; j++) {
      const level = Math.round(2 + (j * (top - 2)) / Math.max(1, count - 1))
      if (level >= 1 && level <= Math.max(2, top)) levels.add(level)
    }
    return [...levels]
  }

  /** A linked member in the interval of `level` (distance in [2^-level, 2^-(level-1)) of the ring). */
  #linkedIn(level: number): LinkInfo | undefined {
    const low = 2 ** -level
    const high = 2 ** -(level - 1)
    let best: LinkInfo | undefined
    for (const link of this.links.routable()) {
      const d = clockwise(this.#pos, link.pos)
      if (d < low || d >= high) continue
      if (!best || (isRingLink(link) && !isRingLink(best))) best = link
    }
    return best
  }

  async #fixFinger(): Promise<void> {
    const levels = this.#fingerLevels()
    for (const level of [...this.#fingers.keys()]) if (!levels.includes(level)) this.#fingers.delete(level)
    // Links that already exist serve first: a finger costs nothing where one is open.
    for (const level of levels) {
      const current = this.#fingers.get(level)
      const currentLink = current === undefined ? undefined : this.links.byNode(current)
      if (currentLink && this.#inLevel(currentLink.pos, level)) continue
      this.#fingers.delete(level)
      const linked = this.#linkedIn(level)
      if (linked && (isRingLink(linked) || this.links.ringLinkCount() < this.#linkCap()))
        this.#fingers.set(level, linked.nodeId!)
    }
    this.#refreshWants()
    const missing = levels.filter((level) => !this.#fingers.has(level))
    const now = this.#deps.clock.now()
    if (missing.length === 0 || now - this.#lastFingerDialMs < this.options.fingerFixMs) return
    if (this.links.ringLinkCount() + this.#dialing.size >= this.#linkCap()) return
    if (!this.#fingerBudget.has(FINGER_BUDGET, now)) return
    const level = missing[this.#fingerCursor++ % missing.length]!
    this.#lastFingerDialMs = now
    const low = 2 ** -level
    const found = await this.findSuccessor(idAt(this.id, low + this.#random() * low), FINGER_ROOM_WALK)
    if (!found || this.#destroyed || this.#fingers.has(level)) return
    const candidates = found.nodes.filter(
      (id) =>
        id !== this.id &&
        this.#inLevel(positionOf(id), level) &&
        (this.#refusedUntil.get(id) ?? 0) <= this.#deps.clock.now() &&
        !this.#isDead(id),
    )
    const chosen = candidates[0]
    if (chosen === undefined) return
    if (!this.links.byNode(chosen) && !this.#fingerBudget.take(FINGER_BUDGET, this.#deps.clock.now())) return
    this.#fingers.set(level, chosen)
    const link = await this.#linkTo(chosen, 'finger')
    if (!link && this.#fingers.get(level) === chosen) this.#fingers.delete(level)
    this.#refreshWants()
  }

  #inLevel(pos: number, level: number): boolean {
    const d = clockwise(this.#pos, pos)
    return d >= 2 ** -level && d < 2 ** -(level - 1)
  }

  // ---- routing and records

  /**
   * The members from the key's owner on, as this node knows them (its predecessors, itself, its
   * successors, in ring order); null when the key lies outside that stretch.
   */
  #fromOwner(key: string): string[] | null {
    const ring = [...this.#predecessors].reverse()
    ring.push(this.id, ...this.#successors)
    for (let i = 1; i < ring.length; i++)
      if (betweenRightIncl(ring[i - 1]!, key, ring[i]!)) return ring.slice(i)
    // A ring known whole wraps round: the key lies between its last member and its first.
    return this.#knowsWholeRing() ? ring : null
  }

  /** The ring is smaller than r + 1 and this node's lists hold every other member both ways. */
  #knowsWholeRing(): boolean {
    return this.#smallRing && this.#predecessors.length >= this.#successors.length
  }

  /** The mean gap between members, from this node's successor list; a guess of 1/1,000 without one. */
  #spacing(): number {
    const last = this.#successors.at(-1)
    if (last === undefined) return 0.001
    return clockwise(this.#pos, positionOf(last)) / this.#successors.length
  }

  #towardsReplica(key: string, wanted: number): LinkInfo | null {
    const index = this.replicaIndex(key)
    // predecessors[index - 1] is the owner, predecessors[index - 1 - wanted] the replica wanted; those
    // after it in the list lie between it and this node.
    for (let i = index - 1 - wanted; i >= 0; i--) {
      const id = this.#predecessors[i]
      const link = id === undefined ? undefined : this.links.live(id)
      if (link?.remoteMember) return link
    }
    return null
  }

  /** Another replica of `key` this node is linked to: its successor, unless it is the last replica. */
  #fellowReplica(key: string): LinkInfo | null {
    const index = this.replicaIndex(key)
    const next = index >= 0 && index < this.options.replicas - 1 ? this.#successors[0] : this.#pred
    const link = next ? this.links.live(next) : undefined
    return link?.remoteMember ? link : null
  }

  #noteSignalVia(peerId: string, via: string): void {
    this.#signalVias.delete(peerId)
    if (this.#signalVias.size >= MAX_SIGNAL_VIA) {
      const oldest = this.#signalVias.keys().next().value
      if (oldest !== undefined) this.#signalVias.delete(oldest)
    }
    this.#signalVias.set(peerId, { via, atMs: this.#deps.clock.now() })
  }

  /** The link a signal to `peerId` goes back through, when its last signal came lately by a live one. */
  #signalVia(peerId: string): LinkInfo | undefined {
    const came = this.#signalVias.get(peerId)
    if (!came || came.via === peerId || this.#deps.clock.now() - came.atMs >= SIGNAL_VIA_MS) return undefined
    const link = this.links.get(came.via)
    return link && link.nodeId !== null && link.misses < 2 ? link : undefined
  }

  async #answer(request: RouteOp, key: string, origin: string, lastHop: string | null): Promise<RouteResult> {
    switch (request.op) {
      case 'signal':
        // The router hands a signal here only when it is for this peer (signalKey). The answer goes back
        // through the node that handed it over (sendSignal).
        if (lastHop !== null) this.#noteSignalVia(peerIdOf(origin), lastHop)
        this.emit('signal', { from: peerIdOf(origin), data: request.data })
        return { op: 'delivered' }
      case 'find': {
        const known = this.#fromOwner(key)
        return known && known.length > 0
          ? { op: 'found', nodes: known.slice(0, FOUND_IDS) }
          : { op: 'failed', code: 'NO_ROUTE' }
      }
      case 'get':
        return {
          op: 'records',
          records: recordsThatFit(this.store.get(key, request.kind, this.#nowS()), REPLY_OVERHEAD_BYTES),
        }
      case 'put':
        if (!this.#member) return { op: 'failed', code: 'NOT_MEMBER' }
        return this.#replicator.onPut(key, request.records)
      default:
        return assertNever(request)
    }
  }

  /** Records that pass every check for `key`: what a lookup returns to its caller. */
  async #verified(key: string, records: SignedRecord[]): Promise<SignedRecord[]> {
    const valid: SignedRecord[] = []
    for (const record of records)
      if ((await checkRecord(record, key, this.#nowS(), this.#deps.crypto)) === null) valid.push(record)
    return valid
  }

  /**
   * Puts `records` under `key`: to the owner, which pushes them down the replica chain; once stored, once
   * more to the middle replica, which pushes them on to the last (not awaited). The chain passes a push to
   * each of a replica's two linked successors, so two hostile or dead replicas in a row cut it, and every
   * honest replica after them answers "nothing" until the owner's anti-entropy (a hostile owner never
   * sends it); a second way in keeps the later half (measured at N = 1,000 with 25% hostile: BENCHMARKS.md).
   */
  async #putWithRetries(key: string, records: SignedRecord[]): Promise<boolean> {
    const stored = await this.#putFrom(key, records, 0)
    if (stored && this.options.replicas > 2 && !this.#destroyed) {
      // Attempt 2·i aims at replica i (Router): the middle one.
      void this.#putFrom(key, records, 2 * (this.options.replicas >> 1))
    }
    return stored
  }

  async #putFrom(key: string, records: SignedRecord[], firstAttempt: number): Promise<boolean> {
    let stored = false
    await this.#attempts(
      key,
      { op: 'put', records },
      (reply, finish) => {
        if (reply.result.op === 'stored' && reply.result.stored > 0) {
          stored = true
          finish()
        } else if (
          reply.result.op === 'stored' ||
          (reply.result.op === 'failed' && isFinal(reply.result.code))
        )
          finish()
      },
      firstAttempt,
    )
    return stored
  }

  /**
   * Sends a routed request, and again along another path each `lookupAttemptMs` without `finish()` from
   * `onReply`, up to `lookupAttempts`. Resolves once finished or out of attempts.
   */
  #attempts(
    key: string,
    request: RouteOp,
    onReply: (reply: RouteReply, finish: () => void) => void,
    firstAttempt = 0,
  ): Promise<{ attempts: number; finished: boolean }> {
    const clock = this.#deps.clock
    return new Promise((resolve) => {
      const cancels: (() => void)[] = []
      // The links this request's attempts left by: each attempt takes another (Router.request).
      const firstHops = new Set<string>()
      let attempts = 0
      let timer: unknown = null
      let done = false
      const finish = (finished: boolean) => {
        if (done) return
        done = true
        if (timer !== null) clock.clearTimeout(timer)
        for (const cancel of cancels) cancel()
        resolve({ attempts, finished })
      }
      const send = () => {
        const attempt = firstAttempt + attempts++
        cancels.push(
          this.#router.request(
            key,
            request,
            attempt,
            (reply) => {
              // Nowhere to send it from here right now (say, just after many neighbours died): the next
              // attempts may find links again.
              if (!done) onReply(reply, () => finish(true))
            },
            firstHops,
          ),
        )
      }
      // The first attempt goes alone; once it had its time, two go out at a time by different paths
      // (a node that drops what it should forward is met at random, not once per path).
      const next = () => {
        timer = null
        if (done) return
        if (this.#destroyed || attempts >= this.options.lookupAttempts) return finish(false)
        for (let i = attempts === 0 ? 1 : 2; i > 0 && attempts < this.options.lookupAttempts; i--) send()
        timer = clock.setTimeout(next, this.options.lookupAttemptMs)
      }
      next()
    })
  }

  #nowS(): number {
    return Math.floor(this.#deps.clock.now() / 1000)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#deps.clock.setTimeout(resolve, ms))
  }
}

/** A put that failed for a reason another path will not change. */
function isFinal(code: RingErrorCode): boolean {
  return (
    code === 'BAD_SIGNATURE' ||
    code === 'KEY_MISMATCH' ||
    code === 'RECORD_EXPIRED' ||
    code === 'PUBLISHER_QUOTA'
  )
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}
