/**
 * Several instances, one swarm: this instance's membership in Redis and its dealings with the others.
 *
 * - Membership: each instance renews its registration every HEARTBEAT share of its TTL; one that stops
 *   (killed, cut off) is reaped by the others' next heartbeat after its TTL ran out, and its peers'
 *   holdings go with it: gone within TTL + one heartbeat of its last renewal (DEFAULT_INSTANCE_TTL_MS).
 * - One pub/sub channel per instance: a signal for a peer connected elsewhere is published on that
 *   instance's channel only (the script that looks the peer up publishes, one round trip), as are
 *   take-overs of a peer id, drops ordered by a manifest, and catalog-changed notices (at most one a
 *   second from each instance to each other).
 * - Per-address connection counts and catalog budgets live in Redis, so the limits hold across instances.
 * - Redis down: logged once (and when it is back), requests that need the swarm fail CLUSTER_UNAVAILABLE,
 *   local relays go on, limits fall back to this instance's own; when Redis returns the instance publishes
 *   its peers again (redis-registry.ts) with no restart.
 */

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { z } from 'zod'
import { DigestSchema } from '../shared/manifest.js'
import { PeerIdSchema, type ServerMessageOf, ServerMessageSchemas } from '../shared/tracker-protocol.js'
import { every, type ServerClock } from './clock.js'
import type { ClusterLink, ClusterStats, LocalTracker } from './cluster-contract.js'
import type { AddressBudget, RelayOutcome } from './connection.js'
import type { ThrottledLogger } from './log-throttle.js'
import { RedisLink } from './redis-link.js'
import { RedisRegistry } from './redis-registry.js'
import { ADMIT, BUDGET, HEARTBEAT, REAP, RELAY, RELEASE_ADDRESS, SET_ADDRESS } from './redis-scripts.js'
import type { TokenBucket } from './token-bucket.js'
import type { CatalogBudgets } from './tracker.js'

/**
 * How long an instance's registration lasts without renewal: its peers' holdings disappear from the swarm
 * at most this plus one heartbeat (a third of it) after the instance stopped, so 20 s by default. Shorter
 * reaps faster and lets a stall of the event loop (or a Redis fail-over) count as a death.
 */
export const DEFAULT_INSTANCE_TTL_MS = 15_000
/** Heartbeats per TTL: two may be missed before the registration lapses. */
const HEARTBEATS_PER_TTL = 3
/** Peers a reap forgets per script call. */
const REAP_BATCH = 500
/** Catalog notices to other instances, at most this often: watchers hear once a second anyway. */
const NOTICE_MS = 1000
/** Keys of every instance sharing one swarm start with this (REDIS_PREFIX may change it). */
export const DEFAULT_REDIS_PREFIX = 'swarmdrop:'
/**
 * Peers one holder push may name on the cluster channel: a `peers` draw is at most `peersPerReply` (50 by
 * default), so a generous bound that still keeps a forged channel message small.
 */
const MAX_PUSH_TARGETS = 1000

const ChannelMessageSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('sig'), to: PeerIdSchema, m: ServerMessageSchemas.signal }),
  z.strictObject({ t: z.literal('kick'), peer: PeerIdSchema }),
  z.strictObject({ t: z.literal('drop'), peer: PeerIdSchema, digest: DigestSchema }),
  z.strictObject({ t: z.literal('rev'), rev: z.number().int().min(0) }),
  // A holder push (holder-push.ts) for some of the instance's peers; at most a `peers` reply's worth.
  z.strictObject({
    t: z.literal('push'),
    to: z.array(PeerIdSchema).min(1).max(MAX_PUSH_TARGETS),
    m: ServerMessageSchemas.peers,
  }),
])
type ChannelMessage = z.infer<typeof ChannelMessageSchema>

export interface ClusterOptions {
  url: string
  filesPerPeer: number
  log: ThrottledLogger
  clock: ServerClock
  prefix?: string
  instanceTtlMs?: number
  /** How long a Redis command may go unanswered (redis-link.ts DEFAULT_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number
  /** This instance's name in Redis (default: host name, process id and random bytes). */
  instance?: string
}

export class RedisCluster implements ClusterLink {
  readonly instance: string
  readonly prefix: string
  readonly registry: RedisRegistry
  readonly #link: RedisLink
  readonly #ttlMs: number
  readonly #log: ThrottledLogger
  #tracker: LocalTracker | undefined
  #instances = 1
  #registered = false
  #noticedRevision = 0
  #changedRevision = 0
  readonly #stopTimers: (() => void)[] = []
  #reaping = false
  #closed = false

  constructor(private readonly options: ClusterOptions) {
    this.instance = options.instance ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX
    this.#ttlMs = options.instanceTtlMs ?? DEFAULT_INSTANCE_TTL_MS
    this.#log = options.log
    this.#link = new RedisLink(options.url, options.log, options.commandTimeoutMs)
    this.registry = new RedisRegistry(this.#link, this, options.filesPerPeer, options.log)
    this.#link.subscriber.on('message', (_channel: string, text: string) => this.#heard(text))
    this.#link.onReady(() => this.#rejoin())
  }

  get redisUp(): boolean {
    return this.#link.up
  }

  /**
   * The key every instance tags origins with (origin-tag.ts): the first instance to start stores a random
   * one, the others read it. With a key per instance, one address had a tag per instance, and a peer's
   * abuse allowance per origin counted it once per instance it reached (issue 10). Undefined when Redis
   * does not answer now: the caller keeps a key of its own, as a single process does.
   */
  async sharedOriginKey(): Promise<Uint8Array | undefined> {
    const name = `${this.prefix}origin-key`
    try {
      await this.#link.commands.set(name, randomBytes(32).toString('base64'), 'NX')
      const stored = await this.#link.commands.get(name)
      const key = stored ? Buffer.from(stored, 'base64') : undefined
      return key && key.length === 32 ? key : undefined
    } catch (error) {
      this.#log.error('no shared origin key: this instance tags origins with its own', { error })
      return undefined
    }
  }

  /** Connects to Redis and starts the heartbeat; Redis being down at start is no error (it is retried). */
  async start(): Promise<void> {
    await this.#link.subscriber.subscribe(this.#channel(this.instance)).catch(() => undefined)
    await this.#link.connect()
    const failed = (timer: string) => (error: unknown) => this.#log.error('timer failed', { timer, error })
    this.#stopTimers.push(
      every(
        this.options.clock,
        this.#ttlMs / HEARTBEATS_PER_TTL,
        () => void this.#heartbeat(),
        failed('cluster heartbeat'),
      ),
      every(this.options.clock, NOTICE_MS, () => this.#notice(), failed('cluster notices')),
    )
  }

  attach(tracker: LocalTracker): void {
    this.#tracker = tracker
  }

  async admit(address: string, limit: number): Promise<boolean> {
    if (!this.#link.up) return true // this instance's own count of the address still applies
    try {
      return Number(await this.#run(ADMIT, [address, this.instance, limit])) === 1
    } catch {
      return true
    }
  }

  release(address: string): void {
    if (!this.#link.up) return
    this.#run(RELEASE_ADDRESS, [address, this.instance]).catch(() => undefined)
  }

  async relay(to: string, message: ServerMessageOf<'signal'>): Promise<RelayOutcome> {
    const payload: ChannelMessage = { t: 'sig', to, m: message }
    const heard = Number(await this.#run(RELAY, [to, JSON.stringify(payload)]))
    return heard > 0 ? 'sent' : 'not-found'
  }

  budgetOf(address: string, budgets: CatalogBudgets, local: TokenBucket): AddressBudget {
    const { addressRecordsPerSecond: rate, addressBurst: burst } = budgets
    const shared = (cost: number) => this.#run(BUDGET, [address, rate, burst, cost])
    return {
      hasCredit: async (nowMs) => {
        if (!this.#link.up) return local.hasCredit(nowMs)
        try {
          return Number(await shared(0)) === 1
        } catch {
          return local.hasCredit(nowMs)
        }
      },
      charge: (nowMs, cost) => {
        local.charge(nowMs, cost)
        if (this.#link.up && cost > 0) shared(cost).catch(() => undefined)
      },
    }
  }

  async stats(): Promise<ClusterStats> {
    const tracker = this.#tracker
    const localPeers = tracker?.localPeers() ?? 0
    const localRate = tracker?.messagesPerSecond() ?? 0
    const local = this.registry.localStats()
    const cluster = { redis: this.#link.up ? ('up' as const) : ('down' as const), instance: this.instance }
    try {
      const totals = await this.registry.stats()
      const figures = await this.#figures()
      const peersOnline = Math.max(totals.peers, localPeers)
      const messagesPerSecond = figures.reduce((sum, f) => sum + f.messagesPerSecond, 0)
      return {
        peersOnline,
        files: totals.files,
        swarms: totals.swarms,
        messagesPerSecond: Math.max(messagesPerSecond, localRate),
        cluster: {
          ...cluster,
          instances: this.#instances,
          local: {
            peersOnline: localPeers,
            messagesPerSecond: localRate,
            share: peersOnline === 0 ? 0 : localPeers / peersOnline,
          },
        },
      }
    } catch {
      // Redis down: what this instance knows, and says so.
      return {
        peersOnline: localPeers,
        files: local.files,
        swarms: local.swarms,
        messagesPerSecond: localRate,
        cluster: {
          ...cluster,
          instances: this.#instances,
          local: { peersOnline: localPeers, messagesPerSecond: localRate, share: 1 },
        },
      }
    }
  }

  push(peerIds: readonly string[], message: ServerMessageOf<'peers'>): void {
    if (!this.#link.up || peerIds.length === 0) return
    const targets = peerIds.slice(0, MAX_PUSH_TARGETS)
    this.#link.commands.hmget(`${this.prefix}owner`, ...targets).then(
      (owners) => {
        const byInstance = new Map<string, string[]>()
        owners.forEach((owner, i) => {
          if (owner === null || owner === this.instance) return
          const group = byInstance.get(owner)
          if (group) group.push(targets[i]!)
          else byInstance.set(owner, [targets[i]!])
        })
        for (const [instance, to] of byInstance) this.#publish(instance, { t: 'push', to, m: message })
      },
      () => undefined, // Redis went down: a push is a courtesy
    )
  }

  tellDrop(instance: string, peerId: string, digest: string): void {
    this.#publish(instance, { t: 'drop', peer: peerId, digest })
  }

  tellKick(instance: string, peerId: string): void {
    this.#publish(instance, { t: 'kick', peer: peerId })
  }

  superseded(peerId: string): void {
    this.#tracker?.kick(peerId)
  }

  changed(revision: number): void {
    if (revision > this.#changedRevision) this.#changedRevision = revision
  }

  /**
   * Leaves the cluster: stops the timers, forgets this instance's peers in Redis (as a reap would, at
   * once rather than after the TTL) and disconnects. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const stop of this.#stopTimers.splice(0)) stop()
    if (this.#link.up) {
      try {
        while (Number(await this.#run(REAP, [this.instance, REAP_BATCH])) > 0) {}
      } catch (error) {
        this.#log.warn('leaving the cluster failed; the others reap this instance after its TTL', { error })
      }
    }
    await this.#link.close()
  }

  /** Redis is reachable (again): publish this instance's peers and connection counts, then renew. */
  #rejoin(): void {
    if (this.#closed) return
    this.#registered = false // republished here: the heartbeat after it need not do it again
    const counts = this.#tracker?.connectionsFrom() ?? new Map<string, number>()
    const republished = this.registry.republish()
    for (const [address, count] of counts) {
      this.#run(SET_ADDRESS, [address, this.instance, count]).catch(() => undefined)
    }
    republished.then(() => this.#heartbeat()).catch(() => undefined)
  }

  async #heartbeat(): Promise<void> {
    if (!this.#link.up || this.#closed) return
    const figures = JSON.stringify({
      peers: this.#tracker?.localPeers() ?? 0,
      messagesPerSecond: this.#tracker?.messagesPerSecond() ?? 0,
    })
    let reply: (string | number)[]
    try {
      reply = (await this.#run(HEARTBEAT, [this.instance, this.#ttlMs, figures])) as (string | number)[]
    } catch {
      return // the link logs outages; the next heartbeat tries again
    }
    const wasRegistered = Number(reply[0]) === 1
    const split = reply.indexOf(0, 1)
    const live = reply.slice(1, split).map(String)
    const dead = reply.slice(split + 1).map(String)
    this.#instances = live.length
    if (this.#registered && !wasRegistered) {
      this.#log.warn('this instance was forgotten by Redis (reaped or Redis lost its data); publishing again')
      void this.registry.republish()
    } else if (this.registry.stale) void this.registry.republish()
    this.#registered = true
    if (dead.length > 0) void this.#reap(dead)
  }

  /** Forgets instances whose registration lapsed, a batch of peers at a time. */
  async #reap(dead: readonly string[]): Promise<void> {
    if (this.#reaping) return
    this.#reaping = true
    try {
      for (const instance of dead) {
        let peers = 0
        for (;;) {
          const taken = Number(await this.#run(REAP, [instance, REAP_BATCH]))
          if (taken === 0) break
          peers += taken
        }
        this.#log.info('reaped an instance that stopped renewing its registration', { instance, peers })
      }
    } catch (error) {
      this.#log.warn('reaping failed; the next heartbeat tries again', { error })
    } finally {
      this.#reaping = false
    }
  }

  /**
   * Tells the other instances that the catalog changed here, at most once a notice interval. The
   * instances are read from Redis then (not the heartbeat's list, up to a third of a TTL old), so that one
   * that just joined hears too; one that died and is not reaped yet gets a message nobody reads.
   */
  #notice(): void {
    if (this.#changedRevision <= this.#noticedRevision || !this.#link.up) return
    const revision = this.#changedRevision
    this.#noticedRevision = revision
    this.#link.commands.zrange(`${this.prefix}instances`, 0, -1).then(
      (instances) => {
        for (const other of instances)
          if (other !== this.instance) this.#publish(other, { t: 'rev', rev: revision })
      },
      () => undefined, // Redis went down: the instances republish and catch up when it returns
    )
  }

  #publish(instance: string, message: ChannelMessage): void {
    if (!this.#link.up) return
    this.#link.commands.publish(this.#channel(instance), JSON.stringify(message)).catch(() => undefined)
  }

  /** A message on this instance's channel: from another instance, checked all the same. */
  #heard(text: string): void {
    let message: ChannelMessage
    try {
      const parsed = ChannelMessageSchema.safeParse(JSON.parse(text))
      if (!parsed.success) throw parsed.error
      message = parsed.data
    } catch (error) {
      this.#log.warn('ignored a malformed message on the cluster channel', { error })
      return
    }
    const tracker = this.#tracker
    switch (message.t) {
      case 'sig':
        tracker?.deliver(message.to, message.m)
        return
      case 'kick':
        this.registry.forgetLocally(message.peer)
        tracker?.kick(message.peer)
        return
      case 'drop':
        this.registry.local.leave(message.peer, [message.digest])
        return
      case 'rev':
        this.registry.heardRevision(message.rev)
        return
      case 'push':
        for (const peerId of message.to) tracker?.push(peerId, message.m)
        return
    }
  }

  async #figures(): Promise<{ peers: number; messagesPerSecond: number }[]> {
    const values = await this.#link.commands.hvals(`${this.prefix}info`)
    return values.flatMap((text) => {
      try {
        const figures = JSON.parse(text) as { peers?: unknown; messagesPerSecond?: unknown }
        return [
          { peers: Number(figures.peers) || 0, messagesPerSecond: Number(figures.messagesPerSecond) || 0 },
        ]
      } catch {
        return []
      }
    })
  }

  #channel(instance: string): string {
    return `${this.prefix}ch:${instance}`
  }

  #run(script: string, args: readonly (string | number)[]): Promise<unknown> {
    return this.#link.run(script, [this.prefix, ...args])
  }
}
