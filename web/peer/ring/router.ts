/**
 * Routed requests, forwarded hop by hop over links that already exist (DHT.md §2: browsers cannot accept
 * connections, so an iterative lookup would cost a relayed connection per hop). Each hop remembers where
 * a request came from, under a request id of its own, so the answer travels back the same way.
 *
 * The next hop is the linked member closest to the key either way round the ring: every link serves both
 * its ends (a finger one way is a finger the other way), which with 16 links a node roughly halves the
 * hops of clockwise-only Chord routing (docs/DHT.md, "Routing"). A request ends at a node that stores the
 * key (a replica) or that knows the key's replicas from its successor list and is linked to one: that node
 * answers, or hands the request to replicas to answer. A `get` is answered by two replicas.
 *
 * A lookup that gets no answer tries again along another path (`attempt` makes each hop pick among its
 * best few next hops instead of the best), so a node that drops what it should forward is routed around.
 */
import {
  peerIdOfSignalKey,
  type RingErrorCode,
  type RingMessageOf,
  type RouteOp,
  type RouteResult,
} from '../../../shared/ring-protocol.js'
import type { Clock } from '../clock.js'
import { clockwise as clockwiseDistance, positionOf, ringDistance } from './ids.js'
import type { LinkInfo, LinkTable } from './link-table.js'
import { SourceRateLimiter } from './rate-limit.js'
import type { ResolvedRingOptions } from './ring-options.js'

type RouteMessage = RingMessageOf<'route'>
export type RouteReply = RingMessageOf<'route-reply'>
type RouterMessage = RouteMessage | RouteReply | RingMessageOf<'ack'>

/** What the router needs from its node. */
export interface RouterHost {
  readonly selfId: string
  /** This node's peer id (signals are addressed by peer id: signalKey). */
  readonly selfPeerId: string
  readonly options: ResolvedRingOptions
  readonly clock: Clock
  readonly links: LinkTable
  isMember(): boolean
  successors(): readonly string[]
  /** Whether this node is one of the key's first k successors. */
  isReplica(key: string): boolean
  /**
   * For a replica of `key` after its `index`-th (0: the owner): the linked predecessor nearest that
   * replica (itself when linked), so a put walks back to it; null when there is none between.
   */
  towardsReplica(key: string, index: number): LinkInfo | null
  /** Another replica of `key` this node is linked to, to ask as well; null when none. */
  fellowReplica(key: string): LinkInfo | null
  send(peerId: string, message: RouterMessage): void
  /**
   * Answers a request here (this node is a replica, or the request was delivered to it); `origin` asked,
   * `lastHop` is the peer it came from (null when this node asked itself).
   */
  answer(request: RouteOp, key: string, origin: string, lastHop: string | null): Promise<RouteResult>
  /** The successor list from the key on, when this node knows it (the key lies within its list). */
  knownFrom(key: string): string[] | null
  /** Whether this node has room for one more ring link; true reserves it for a moment. */
  takeRoom(): boolean
  /** The mean gap between members as this node sees it (its successor list's span over its length). */
  spacing(): number
  /** A routed message is about to take this link (the node may check that it still answers). */
  used(link: LinkInfo): void
  /** A link did not acknowledge a routed message in time: suspect it (routing avoids it) and check it. */
  suspect(link: LinkInfo): void
}

interface Unacked {
  message: RouteMessage
  link: LinkInfo
  /** Peers tried for this message at this hop. */
  tried: Set<string>
  cameFrom: string | null
  timer: unknown
}

interface Pending {
  /** Where the answer goes: a peer, or a local callback. */
  upstream: string | null
  /** The next hop the request went on to, credited when an answer comes back through it. */
  downstream: string | null
  upstreamReq: number
  onReply: ((reply: RouteReply) => void) | null
  expiresMs: number
}

/**
 * How long a hop waits for the next one's ack before it tries another way (Bamboo's per-hop timeouts):
 * a round trip of a slow link is under 200 ms; a dead hop costs this instead of the whole attempt.
 */
const ACK_TIMEOUT_MS = 400
/** Other next hops a hop tries after ack timeouts, before it leaves the request to the asker's retry. */
const HOP_RETRIES = 2
/** How long a hop remembers the way back: longer than any lookup runs. */
const PENDING_TTL_MS = 15_000
/** Requests through a hop before its record counts, and the decay of records per sweep (5 s). */
const UNRELIABLE_AFTER = 3
const RECORD_DECAY = 0.9
/** How many members past the key odd attempts aim (half the replicas). */
const AIM_PAST_KEY = 4
/** When a hop picks among its best next hops instead of the best (a retry), how many it picks among. */
const DIVERSITY = 4

export class Router {
  readonly #host: RouterHost
  readonly #pending = new Map<number, Pending>()
  /**
   * Per next hop, requests sent on through it and answers that came back through it (decaying): a hop
   * that swallows what it should pass on is avoided while other ways exist. An honest hop behind a bad
   * one is blamed too, until it learns to avoid that one itself.
   */
  readonly #record = new Map<string, { sent: number; answered: number }>()
  /** Messages sent on and not acknowledged yet, by "peer id:request id". */
  readonly #unacked = new Map<string, Unacked>()
  readonly #limiter: SourceRateLimiter
  #nextReq: number

  constructor(host: RouterHost, firstReq: number) {
    this.#host = host
    this.#nextReq = firstReq >>> 0
    this.#limiter = new SourceRateLimiter(host.options.routeRatePerSecond, host.options.routeBurst)
  }

  get pendingCount(): number {
    return this.#pending.size
  }

  /**
   * Sends one request towards `key` from this node; `onReply` hears every answer (a `get` gets two) until
   * the returned function is called or the way back expires. `firstHops` are the links earlier attempts
   * of the same request left by: this one leaves by another while one leads towards the key (disjoint
   * first hops, as S/Kademlia's disjoint paths: a hostile neighbour that swallows requests is met once,
   * not at every attempt), and the link it takes is added.
   */
  request(
    key: string,
    request: RouteOp,
    attempt: number,
    onReply: (reply: RouteReply) => void,
    firstHops: Set<string> | null = null,
  ): () => void {
    const message = this.#ownRequest(key, request, attempt, onReply)
    this.#process(message, null, message.req, firstHops)
    return () => this.#pending.delete(message.req)
  }

  /**
   * Sends one request towards `key` by way of `via` first, whatever the routing table says: an answer to
   * a signal goes back through the node that handed the offer over (ring-node.ts `sendSignal`), which is
   * linked to the peer even when the peer's key lies with another node (a client whose gateway is not the
   * successor of its own id yet: it cannot move there before its first link through the ring opens).
   */
  requestVia(
    via: LinkInfo,
    key: string,
    request: RouteOp,
    attempt: number,
    onReply: (reply: RouteReply) => void,
  ): () => void {
    const message = { ...this.#ownRequest(key, request, attempt, onReply), hops: 1 }
    this.#credit(message.req, via)
    this.#hop(message, via, null)
    return () => this.#pending.delete(message.req)
  }

  /** A request of this node's own, its way back remembered. */
  #ownRequest(
    key: string,
    request: RouteOp,
    attempt: number,
    onReply: (reply: RouteReply) => void,
  ): RouteMessage {
    return {
      type: 'route',
      req: this.#remember(null, 0, onReply),
      origin: this.#host.selfId,
      key,
      hops: 0,
      hopLimit: this.#host.options.hopLimit,
      attempt: attempt & 255,
      deliver: false,
      clockwise: false,
      request,
    }
  }

  /** A routed request from a linked peer. */
  onRoute(from: LinkInfo, message: RouteMessage): void {
    this.#host.send(from.peerId, { type: 'ack', req: message.req })
    const now = this.#host.clock.now()
    if (!this.#limiter.take(message.origin, now)) return this.#fail(from.peerId, message, 'RATE_LIMITED')
    if (message.request.op === 'signal' && this.#signalHere(message, from.peerId, message.req)) return
    if (message.deliver && message.request.op === 'find' && message.request.room > 0) {
      return this.#findRoom(message, from.peerId, message.req)
    }
    if (message.deliver) return this.#answerHere(message, from.peerId, message.req)
    if (!this.#host.isMember()) return this.#fail(from.peerId, message, 'NOT_MEMBER')
    this.#process(message, from.peerId, message.req)
  }

  /** The next hop got a message this node sent on. */
  onAck(from: LinkInfo, req: number): void {
    const key = `${from.peerId}:${req}`
    const unacked = this.#unacked.get(key)
    if (!unacked) return
    this.#host.clock.clearTimeout(unacked.timer)
    this.#unacked.delete(key)
  }

  /** An answer coming back: passed on towards whoever asked, or handed to the local caller. */
  onReply(reply: RouteReply): void {
    const pending = this.#pending.get(reply.req)
    if (!pending) return
    if (pending.downstream !== null) {
      const record = this.#record.get(pending.downstream)
      if (record) record.answered++
      pending.downstream = null
    }
    if (pending.upstream === null) pending.onReply?.(reply)
    else this.#host.send(pending.upstream, { ...reply, req: pending.upstreamReq })
  }

  /** Stops: no hop is retried from now on. */
  destroy(): void {
    for (const unacked of this.#unacked.values()) this.#host.clock.clearTimeout(unacked.timer)
    this.#unacked.clear()
    this.#pending.clear()
  }

  /** Forgets ways back that expired. */
  sweep(nowMs: number): void {
    for (const [req, pending] of this.#pending) if (pending.expiresMs <= nowMs) this.#pending.delete(req)
    for (const [peerId, record] of this.#record) {
      record.sent *= RECORD_DECAY
      record.answered *= RECORD_DECAY
      if (record.sent < 0.5) this.#record.delete(peerId)
    }
  }

  /**
   * Handles a request here or sends it on; `replyTo` null means this node asked (and `firstHops` are the
   * links its earlier attempts left by).
   */
  #process(
    message: RouteMessage,
    replyTo: string | null,
    replyReq: number,
    firstHops: Set<string> | null = null,
  ): void {
    const host = this.#host
    const { key, request } = message
    if (request.op === 'signal') return this.#routeSignal(message, replyTo, replyReq)
    if (host.isMember() && host.isReplica(key)) {
      // A put reaching a later replica goes back to the owner, which pushes it down the whole chain; a
      // retry, to the replica it aims at (as #pickReplicas): one stored only at a late replica, because
      // the owner dropped it and the retry came from the far side, would miss every replica before it,
      // and only the owner's anti-entropy mends those (never, when the owner is the one dropping).
      const wanted = request.op === 'put' ? Math.min(message.attempt >> 1, host.options.replicas - 1) : 0
      const back = request.op === 'put' ? host.towardsReplica(key, wanted) : null
      if (back && message.hops < message.hopLimit) {
        return this.#hop(
          { ...message, req: this.#wayBack(replyTo, replyReq), hops: message.hops + 1 },
          back,
          replyTo,
        )
      }
      this.#answerHere(message, replyTo, replyReq)
      if (request.op === 'get') {
        const fellow = host.fellowReplica(key)
        if (fellow) this.#deliver(message, fellow, replyTo, replyReq)
      }
      return
    }
    if (message.hops >= message.hopLimit) return this.#fail(replyTo, message, 'HOP_LIMIT', replyReq)
    if (host.isMember()) {
      const replicas = host.knownFrom(key)
      if (replicas) {
        if (request.op === 'find' && request.room > 0) {
          const owner = replicas[0] === host.selfId ? null : host.links.usable(replicas[0]!)
          if (replicas[0] === host.selfId) return this.#findRoom(message, replyTo, replyReq)
          if (owner?.remoteMember) return this.#deliver(message, owner, replyTo, replyReq)
        } else if (request.op === 'find') return this.#answerHere(message, replyTo, replyReq)
        const targets = this.#pickReplicas(replicas, request, message.attempt)
        if (targets.length > 0) {
          for (const target of targets) this.#deliver(message, target, replyTo, replyReq)
          return
        }
      }
    }
    // The asker leaves by a link its earlier attempts did not take, while one leads on; when every
    // such link was taken, by the best again.
    const fresh = firstHops && firstHops.size > 0 ? this.#nextHop(message, replyTo, firstHops) : null
    const next = fresh ?? this.#nextHop(message, replyTo, null)
    if (!next) return this.#fail(replyTo, message, 'NO_ROUTE', replyReq)
    firstHops?.add(next.link.peerId)
    const req = this.#wayBack(replyTo, replyReq)
    this.#credit(req, next.link)
    this.#hop({ ...message, req, hops: message.hops + 1, clockwise: next.clockwise }, next.link, replyTo)
  }

  /**
   * A signal ends at its peer, or at a node linked to that peer (its gateway, when it is a client), which
   * hands it over. A signal delivered to a node that is neither fails: the peer is not on the ring. True
   * when handled here.
   */
  #signalHere(message: RouteMessage, replyTo: string | null, replyReq: number): boolean {
    const host = this.#host
    const peerId = peerIdOfSignalKey(message.key)
    if (peerId === host.selfPeerId) {
      this.#answerHere(message, replyTo, replyReq)
      return true
    }
    const link = host.links.get(peerId)
    if (link && link.nodeId !== null && link.misses < 2 && message.hops < message.hopLimit) {
      this.#deliver(message, link, replyTo, replyReq)
      return true
    }
    if (!message.deliver) return false
    this.#fail(replyTo, message, 'NO_ROUTE', replyReq)
    return true
  }

  /**
   * Routes a signal towards its key: to the key's successor when this node knows it (the peer itself, or
   * the member a client peer routes through), else to the next hop as any request.
   */
  #routeSignal(message: RouteMessage, replyTo: string | null, replyReq: number): void {
    const host = this.#host
    if (this.#signalHere(message, replyTo, replyReq)) return
    if (message.hops >= message.hopLimit) return this.#fail(replyTo, message, 'HOP_LIMIT', replyReq)
    const owner = host.isMember() ? host.knownFrom(message.key)?.[0] : undefined
    if (owner === host.selfId) return this.#fail(replyTo, message, 'NO_ROUTE', replyReq)
    const ownerLink = owner === undefined ? undefined : host.links.usable(owner)
    if (ownerLink) return this.#deliver(message, ownerLink, replyTo, replyReq)
    const next = this.#nextHop(message, replyTo, null)
    if (!next) return this.#fail(replyTo, message, 'NO_ROUTE', replyReq)
    const req = this.#wayBack(replyTo, replyReq)
    this.#credit(req, next.link)
    this.#hop({ ...message, req, hops: message.hops + 1, clockwise: next.clockwise }, next.link, replyTo)
  }

  /** Notes that request `req` went on through `link`, to credit it when the answer comes back. */
  #credit(req: number, link: LinkInfo): void {
    const pending = this.#pending.get(req)
    if (!pending) return
    pending.downstream = link.peerId
    const record = this.#record.get(link.peerId) ?? { sent: 0, answered: 0 }
    record.sent++
    this.#record.set(link.peerId, record)
  }

  /** Whether a next hop lost most of what went through it lately. */
  #unreliable(link: LinkInfo): boolean {
    const record = this.#record.get(link.peerId)
    return record !== undefined && record.sent >= UNRELIABLE_AFTER && record.answered < record.sent / 2
  }

  /**
   * Sends a routed message to the next hop and waits for its ack; without one in time, suspects that
   * link and sends the message on by the best other way (as a plain routed message), up to HOP_RETRIES.
   */
  #hop(message: RouteMessage, link: LinkInfo, cameFrom: string | null, tried = new Set<string>()): void {
    const host = this.#host
    tried.add(link.peerId)
    host.used(link)
    const key = `${link.peerId}:${message.req}`
    const previous = this.#unacked.get(key)
    if (previous) host.clock.clearTimeout(previous.timer)
    const unacked: Unacked = { message, link, tried, cameFrom, timer: null }
    unacked.timer = host.clock.setTimeout(() => {
      if (this.#unacked.get(key) !== unacked) return
      this.#unacked.delete(key)
      host.suspect(link)
      if (tried.size > HOP_RETRIES || message.hops > message.hopLimit) return
      const next = this.#nextHop(message, cameFrom, tried)
      if (next)
        this.#hop({ ...message, deliver: false, clockwise: next.clockwise }, next.link, cameFrom, tried)
    }, ACK_TIMEOUT_MS)
    this.#unacked.set(key, unacked)
    host.send(link.peerId, message)
  }

  /** Replicas (linked ones) to hand a request to: two for a get, the owner (later, the next) for a put. */
  #pickReplicas(replicas: string[], request: RouteOp, attempt: number): LinkInfo[] {
    const k = Math.min(this.#host.options.replicas, replicas.length)
    const linked: LinkInfo[] = []
    for (let i = 0; i < k; i++) {
      const link = this.#host.links.live(replicas[i]!)
      if (link?.remoteMember) linked.push(link)
    }
    if (linked.length === 0) return []
    if (request.op === 'put') {
      // The owner stores and pushes down the chain; a retry goes to the next replicas in case it drops.
      // Not linked to that one: the put goes on towards it instead (a later replica would send it back).
      const wanted = replicas[Math.min(attempt >> 1, k - 1)]
      const link = linked.find((candidate) => candidate.nodeId === wanted)
      return link ? [link] : []
    }
    const start = attempt % linked.length
    const picked = [linked[start]!]
    if (linked.length > 1) picked.push(linked[(start + 1) % linked.length]!)
    return picked
  }

  /**
   * A `find` with `room` at the key's successor or after it: this node answers with itself if it has
   * room for a ring link, else passes it to its successor with one step less to go.
   */
  #findRoom(message: RouteMessage, replyTo: string | null, replyReq: number): void {
    const host = this.#host
    const { request } = message
    if (host.takeRoom()) {
      return this.#reply(replyTo, {
        type: 'route-reply',
        req: replyReq,
        hops: message.hops,
        from: host.selfId,
        result: { op: 'found', nodes: [host.selfId] },
      })
    }
    const next = host.successors()[0]
    const link = next === undefined ? undefined : host.links.usable(next)
    const room = request.op === 'find' ? request.room - 1 : 0
    if (!link?.remoteMember || room <= 0 || message.hops >= message.hopLimit) {
      return this.#fail(replyTo, message, 'RING_FULL', replyReq)
    }
    this.#deliver({ ...message, request: { op: 'find', room } }, link, replyTo, replyReq)
  }

  #deliver(message: RouteMessage, target: LinkInfo, replyTo: string | null, replyReq: number): void {
    const req = this.#wayBack(replyTo, replyReq)
    this.#hop({ ...message, req, hops: message.hops + 1, deliver: true }, target, replyTo)
  }

  /**
   * The linked member closest to the key either way round that is closer than this node (a client, not
   * on the ring, takes any). None closer either way round (this node's links are all ahead of it, say,
   * and the key behind): Chord's rule instead, the closest link that precedes the key clockwise — the
   * successor always qualifies — and the message keeps to that rule from then on, so it cannot loop.
   * A retry (`attempt` > 0) picks among the best few, differently per attempt.
   */
  #nextHop(
    message: RouteMessage,
    cameFrom: string | null,
    tried: Set<string> | null,
  ): { link: LinkInfo; clockwise: boolean } | null {
    const host = this.#host
    // Odd attempts aim a few members past the key, into its replicas, so they arrive from the other side
    // by other nodes: a node that drops what it should pass on near the key is not met by every attempt.
    const keyPos = positionOf(message.key)
    const aimPos = message.attempt % 2 === 1 ? (keyPos + host.spacing() * AIM_PAST_KEY) % 1 : keyPos
    const selfPos = positionOf(host.selfId)
    const member = host.isMember()
    const pick = (clockwise: boolean) => {
      const distanceOf = (pos: number) =>
        clockwise ? clockwiseDistance(pos, keyPos) : ringDistance(pos, aimPos)
      const own = member ? distanceOf(selfPos) : Number.POSITIVE_INFINITY
      const best: { link: LinkInfo; distance: number }[] = []
      for (const link of host.links.routable()) {
        if (link.peerId === cameFrom || tried?.has(link.peerId)) continue
        const distance = distanceOf(link.pos)
        if (distance < own) best.push({ link, distance })
      }
      if (best.length === 0) return null
      // Hops that swallowed most requests lately go last (still used when nothing else is closer).
      best.sort(
        (a, b) =>
          Number(this.#unreliable(a.link)) - Number(this.#unreliable(b.link)) || a.distance - b.distance,
      )
      if (message.attempt === 0 || best.length === 1) return best[0]!.link
      return best[hashOf(host.selfId, message.key, message.attempt) % Math.min(DIVERSITY, best.length)]!.link
    }
    if (!message.clockwise) {
      const link = pick(false)
      if (link) return { link, clockwise: false }
    }
    const link = member ? pick(true) : null
    return link ? { link, clockwise: true } : null
  }

  #answerHere(message: RouteMessage, replyTo: string | null, replyReq: number): void {
    const from = this.#host.selfId
    void this.#host.answer(message.request, message.key, message.origin, replyTo).then((result) => {
      this.#reply(replyTo, { type: 'route-reply', req: replyReq, hops: message.hops, from, result })
    })
  }

  #fail(replyTo: string | null, message: RouteMessage, code: RingErrorCode, replyReq = message.req): void {
    this.#reply(replyTo, {
      type: 'route-reply',
      req: replyReq,
      hops: message.hops,
      from: this.#host.selfId,
      result: { op: 'failed', code },
    })
  }

  #reply(replyTo: string | null, reply: RouteReply): void {
    if (replyTo !== null) return this.#host.send(replyTo, reply)
    this.#pending.get(reply.req)?.onReply?.(reply)
  }

  /** The request id a message sent on carries: this node's own request's, or a new way back upstream. */
  #wayBack(replyTo: string | null, replyReq: number): number {
    return replyTo === null ? replyReq : this.#remember(replyTo, replyReq, null)
  }

  #remember(
    upstream: string | null,
    upstreamReq: number,
    onReply: ((reply: RouteReply) => void) | null,
  ): number {
    if (this.#pending.size >= this.#host.options.maxPendingRoutes) {
      // The oldest way back goes first (Map order); its lookup has likely given up by now.
      const oldest = this.#pending.keys().next().value
      if (oldest !== undefined) this.#pending.delete(oldest)
    }
    const req = this.#nextReq
    this.#nextReq = (this.#nextReq + 1) >>> 0
    this.#pending.set(req, {
      upstream,
      downstream: null,
      upstreamReq,
      onReply,
      expiresMs: this.#host.clock.now() + PENDING_TTL_MS,
    })
    return req
  }
}

/** A small stable hash of two ids, so a node's choice on a retry differs per key but not per run. */
function hashOf(a: string, b: string, attempt: number): number {
  let h =
    (Number.parseInt(a.slice(0, 8), 16) ^
      Number.parseInt(b.slice(0, 8), 16) ^
      Math.imul(attempt, 0x9e3779b1)) >>>
    0
  // A round of xorshift-multiply mixing, so nearby attempts pick unrelated next hops.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}
