/**
 * The tracker and signalling endpoint: accepts WebSocket connections, mints and binds peer ids, keeps
 * them alive with heartbeats, limits connections per address (counted at the upgrade, before any
 * handshake work), keeps each address's catalog budget, tells catalog watchers of changes, and sends
 * each connection fresh ICE servers before its TURN credentials expire.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { CLOSE_CODES } from '../shared/errors.js'
import { TRACKER_PROTOCOL_VERSION, type TrackerLimits } from '../shared/limits.js'
import type { IceServer, ServerMessageOf } from '../shared/tracker-protocol.js'
import { every, type ServerClock, systemClock } from './clock.js'
import type { ClusterLink, ClusterStats } from './cluster-contract.js'
import {
  type AddressBudget,
  BUSY_TARGET_BYTES,
  PeerConnection,
  type RelayOutcome,
  type TrackerContext,
} from './connection.js'
import { refuseOnSocket } from './front-door.js'
import { HelloGate } from './hello-gate.js'
import { hostOfHeader } from './ice-servers.js'
import { throttleLogger } from './log-throttle.js'
import type { Logger } from './logger.js'
import { MemoryRegistry } from './memory-registry.js'
import { MessageRate } from './message-rate.js'
import { originTagger } from './origin-tag.js'
import type { Registry } from './registry-contract.js'
import { TokenBucket } from './token-bucket.js'

export interface TrackerOptions {
  limits: TrackerLimits
  heartbeatMs: number
  /**
   * ICE servers for one peer: the embedded STUN at `host` (the checked host of its Host header), TURN
   * credentials minted for it now, or a configured list. Called for the welcome and for each refresh.
   */
  iceServersFor(peerId: string, host: string | undefined): IceServer[]
  /**
   * How long after minting a connection's ICE servers they are minted again and sent as `ice-servers` (less
   * up to a tenth, see ICE_REFRESH_SPREAD); positive. Undefined when nothing in them expires (no TURN):
   * then nothing is resent and no timer runs.
   */
  iceServersRefreshMs?: number | undefined
  /** The client's address, for the per-address connection limit. */
  clientAddress(request: IncomingMessage): string
  logger: Logger
  /** Catalog budgets (DEFAULT_CATALOG_BUDGETS). */
  catalogBudgets?: CatalogBudgets
  /** Time and timers (default: real ones). */
  clock?: ServerClock
  /** Heartbeat pings and drops one tick makes at most (HEARTBEAT_WORK_PER_TICK); tests lower it. */
  heartbeatWorkPerTick?: number
  /** The registry (default: a MemoryRegistry, one process). */
  registry?: Registry
  /**
   * The other instances, when several share one swarm through Redis (cluster.ts); undefined: this process
   * is the whole tracker.
   */
  cluster?: ClusterLink
  /** Key of the origin tags stamped on relayed signals (origin-tag.ts); default a random one per process. */
  originKey?: Uint8Array
}

/**
 * How many catalog records (`SwarmRegistry.recordsTouched`: index entries and candidates a search checks,
 * files placed when the order is rebuilt, entries put on a page) a connection and an address may make the
 * server look at, as token buckets: records a second, and a burst. A request runs while both buckets have
 * credit and is then charged what it cost, so a search of the whole catalog is allowed but paid for; past
 * the budget, `catalog` is answered `CATALOG_LIMITED` and does no work.
 *
 * A record touched cost 150–700 ns here (test/server/search-cost.test.ts workloads at 100,000 files, on
 * this shared 2-core machine under load 3–7), so an address at its budget holds the server for at most
 * 40–175 ms a second, and usually far less. One browser's searches stay well below: a page costs its 50
 * entries, a query about its matches. Only a query of one or two characters, or the first request after
 * files or holders changed (which rebuilds the order), costs about the whole catalog, twice over for the
 * rebuild: at 100,000 files one such request fits in a connection's burst, and its debt is repaid in two
 * seconds.
 */
export interface CatalogBudgets {
  connectionRecordsPerSecond: number
  connectionBurst: number
  addressRecordsPerSecond: number
  addressBurst: number
}

export const DEFAULT_CATALOG_BUDGETS: Readonly<CatalogBudgets> = Object.freeze({
  connectionRecordsPerSecond: 100_000,
  connectionBurst: 250_000,
  addressRecordsPerSecond: 250_000,
  addressBurst: 500_000,
})

export interface TrackerStats {
  peersOnline: number
  files: number
  swarms: number
  messagesPerSecond: number
}

/**
 * The heartbeat runs this many times per interval (every 300 ms by default) and pings only the connections
 * that are due. A connection that sent anything within the interval is not pinged at all.
 */
const HEARTBEAT_TICKS = 100
/**
 * Pings (and drops of connections that missed one) a heartbeat tick makes at most, unless more connections
 * than that are open (see #heartbeatBudget). Due times alone do not spread the work: peers that spoke
 * together (all of them, announcing after a restart) fall due together and stay in step, since each pong
 * restarts the interval; 12,000 pings in one beat stalled the server 330–470 ms (~33 µs a ping, a socket
 * write each: bench/tracker-load), and 1,000 in one beat showed as a 233 ms stall under load. 128 pings
 * cost ~4 ms.
 */
export const HEARTBEAT_WORK_PER_TICK = 128
/**
 * With many connections the budget grows so that every connection can still be pinged within a quarter of
 * the interval: 10,000 connections, 400 a tick (~13 ms), all pinged within 7.5 s of falling due.
 */
const HEARTBEAT_SPREAD = 4
/** How often watchers of the catalog may hear that it changed: a catalog page is worth one fetch a second. */
const CATALOG_NOTICE_MS = 1000
/**
 * How often the connections whose ICE servers are due get fresh ones (more often for refresh periods under
 * ten seconds, so that a sweep is never late by more than a tenth of one). One sweep comparing a number per
 * connection, rather than a timer per connection: 10,000 comparisons cost well under a millisecond a
 * second, a connection that closes needs nothing cleared (leaving the connection map is its whole
 * teardown, as for the heartbeat), and a second is fine enough that refreshes stay as spread out in time
 * as the connections' due times are.
 */
const ICE_SWEEP_MS = 1000
/**
 * A connection's refresh falls due at a random point in the last tenth of the refresh period, so that peers
 * that connected together (all of them, reconnecting after a restart) are not re-minted and sent to in
 * one sweep: the heartbeat measured such a burst of 12,000 writes as a 400 ms stall.
 */
const ICE_REFRESH_SPREAD = 0.1

/** An upgrade's place in its address's connection count (Tracker.#holdPlace). */
interface UpgradePlace {
  counted: boolean
  upgraded(): void
  isReleased(): boolean
}

/** What the tracker keeps per client address: its open connections (and upgrades) and its catalog budget. */
interface AddressState {
  connections: number
  readonly catalog: TokenBucket
}

export class Tracker {
  readonly registry: Registry
  readonly #wss: WebSocketServer
  readonly #connections = new Map<string, PeerConnection>()
  /** Connections that have not proven their key yet (hello-gate.ts). */
  readonly #gates = new Set<HelloGate>()
  /**
   * Addresses with a connection or an upgrade under way, and those whose catalog budget is still in debt
   * (kept so that reconnecting does not wipe a debt; dropped once refilled).
   */
  readonly #addresses = new Map<string, AddressState>()
  readonly #rate: MessageRate
  readonly #context: TrackerContext
  readonly #stopTimers: (() => void)[] = []
  readonly #now: () => number
  readonly #clock: ServerClock
  readonly #log: ReturnType<typeof throttleLogger>
  readonly #budgets: CatalogBudgets
  /** The peer id the heartbeat's last tick stopped before, out of budget; undefined: it went through all. */
  #beatCursor: string | undefined
  #closed = false

  constructor(private readonly options: TrackerOptions) {
    const clock = options.clock ?? systemClock()
    this.#clock = clock
    const now = () => clock.now()
    this.#now = now
    this.#log = throttleLogger(options.logger, undefined, now)
    this.#budgets = options.catalogBudgets ?? DEFAULT_CATALOG_BUDGETS
    this.registry = options.registry ?? new MemoryRegistry(options.limits.filesPerPeer)
    this.#rate = new MessageRate(now)
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxMessageBytes,
      // Browsers offer permessage-deflate; compressing costs CPU and memory per connection for little gain on
      // short JSON, and compressed bombs are a known hazard.
      perMessageDeflate: false,
      clientTracking: false,
    })
    this.#context = {
      registry: this.registry,
      limits: options.limits,
      logger: options.logger,
      alerts: this.#log,
      now,
      relaySignal: (to, message) => this.#relaySignal(to, message),
      findLocal: (peerId) => this.#connections.get(peerId),
      pushElsewhere: (peerIds, message) => options.cluster?.push(peerIds, message),
      countMessage: () => this.#rate.count(),
      catalogBudgetOf: (address) => this.#budgetOf(address),
      catalogBudgets: this.#budgets,
      originTagOf: originTagger(options.originKey),
      onClosed: (connection) => this.#onClosed(connection),
    }
    const failed = (timer: string) => (error: unknown) => this.#log.error('timer failed', { timer, error })
    this.#stopTimers.push(
      every(clock, options.heartbeatMs / HEARTBEAT_TICKS, () => this.#beat(), failed('heartbeat')),
      every(
        clock,
        CATALOG_NOTICE_MS,
        () => {
          this.#noticeCatalogChanges()
          this.#forgetIdleAddresses()
        },
        failed('catalog notices'),
      ),
    )
    options.cluster?.attach({
      deliver: (to, message) => this.deliver(to, message),
      kick: (peerId) => this.#kick(peerId),
      push: (to, message) => this.#connections.get(to)?.send(message),
      connectionsFrom: () => this.#connectionCounts(),
      localPeers: () => this.#connections.size,
      messagesPerSecond: () => this.#rate.perSecond(),
    })
    const refreshMs = options.iceServersRefreshMs
    if (refreshMs !== undefined) {
      const period = Math.min(ICE_SWEEP_MS, refreshMs / 10)
      this.#stopTimers.push(every(clock, period, () => this.#refreshIceServers(), failed('ice servers')))
    }
  }

  /**
   * Hands an HTTP upgrade request for `/ws` to the tracker. The connection counts against its address
   * from here, before the handshake: past the limit the upgrade is answered 429 and no WebSocket is made.
   * A handshake that fails (ws answers 400 and closes) gives its place back.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    const address = this.options.clientAddress(request)
    const state = this.#addressState(address)
    if (state.connections >= this.options.limits.connectionsPerAddress) {
      this.#log.warn('refused a WebSocket: too many connections from one address', {
        address,
        open: state.connections,
      })
      refuseOnSocket(socket, 429, 'too many connections from your address\n', { 'retry-after': '30' })
      return
    }
    state.connections++
    const place = this.#holdPlace(address, socket)
    const cluster = this.options.cluster
    if (!cluster) {
      this.#upgrade(request, socket, head, address, place.upgraded)
      return
    }
    // With several instances the limit holds across all of them: Redis counts the address's connections.
    cluster.admit(address, this.options.limits.connectionsPerAddress).then(
      (admitted) => {
        if (place.isReleased() || this.#closed) {
          if (admitted) cluster.release(address)
          return
        }
        place.counted = admitted
        if (!admitted) {
          this.#log.warn('refused a WebSocket: too many connections from one address across instances', {
            address,
          })
          refuseOnSocket(socket, 429, 'too many connections from your address\n', { 'retry-after': '30' })
          return
        }
        this.#upgrade(request, socket, head, address, place.upgraded)
      },
      (error: unknown) => {
        this.#log.error('admitting a WebSocket failed', { address, error })
        refuseOnSocket(socket, 503, 'the server cannot take connections right now\n')
      },
    )
  }

  /**
   * The place an upgrade holds in its address's count until the WebSocket is made: given back if the socket
   * closes first. Its own function, not closures in handleUpgrade, on purpose: the socket's 'close'
   * listener lives as long as the connection, and V8 keeps a function's whole closure context alive with
   * it, so a listener made in handleUpgrade's scope kept the upgrade request (its headers) and the read
   * chunk behind `head` for every connection, ~1.5 KiB each (bench/tracker-load/connection-memory.ts).
   */
  #holdPlace(address: string, socket: Duplex): UpgradePlace {
    let upgraded = false
    let released = false
    const place: UpgradePlace = {
      /** Whether Redis counted it too (cluster.admit): only then is it given back there. */
      counted: false,
      upgraded: () => {
        upgraded = true
      },
      isReleased: () => released,
    }
    socket.once('close', () => {
      if (upgraded || released) return
      released = true
      this.#release(address, place.counted)
    })
    return place
  }

  #upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    address: string,
    upgraded: () => void,
  ): void {
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded()
      try {
        this.#challenge(request, address, ws)
      } catch (error) {
        this.#log.error('welcoming a connection failed', { address, error })
        ws.terminate()
        this.#release(address)
      }
    })
  }

  /**
   * A new connection proves its key first (hello-gate.ts): only then is it welcomed, under the peer id its
   * key derives to.
   */
  #challenge(request: IncomingMessage, address: string, ws: WebSocket): void {
    const host = hostOfHeader(request.headers.host)
    const gate: HelloGate = new HelloGate(ws, {
      host: host?.toLowerCase(),
      clock: this.#clock,
      logger: this.options.logger,
      onProven: (peerId) => {
        this.#gates.delete(gate)
        try {
          this.#welcome(peerId, host, address, ws)
        } catch (error) {
          this.#log.error('welcoming a connection failed', { address, error })
          ws.terminate()
          this.#release(address)
        }
      },
      onClosed: () => {
        this.#gates.delete(gate)
        this.#release(address)
      },
    })
    this.#gates.add(gate)
  }

  /**
   * Binds a proven connection to its peer id. One connection per id: an earlier connection of the same id
   * (a reload whose old socket is not closed yet, another tab of the same profile), here or, with Redis, on
   * another instance (the registry tells that one's instance), is closed with REPLACED, and what it
   * announced is forgotten.
   */
  #welcome(peerId: string, host: string | undefined, address: string, ws: WebSocket): void {
    this.#kick(peerId)
    const connection = new PeerConnection(peerId, address, host, ws, this.#context)
    this.#connections.set(peerId, connection)
    // The first request of the connection: its messages queue behind it.
    connection.enqueue(() => this.registry.addPeer(peerId))
    connection.iceServersDueMs = this.#iceServersDue(this.#now())
    connection.send({
      type: 'welcome',
      protocol: TRACKER_PROTOCOL_VERSION,
      peerId,
      iceServers: this.options.iceServersFor(peerId, host),
      heartbeatMs: this.options.heartbeatMs,
      limits: { ...this.options.limits },
    })
    this.options.logger.debug('peer connected', { peerId, address })
  }

  /** Sends a signal to a peer of this instance; `not-found` when it has no connection here. */
  deliver(to: string, message: ServerMessageOf<'signal'>): RelayOutcome {
    const target = this.#connections.get(to)
    if (!target) return 'not-found'
    if (target.bufferedBytes > BUSY_TARGET_BYTES) return 'busy'
    target.send(message)
    return 'sent'
  }

  #relaySignal(to: string, message: ServerMessageOf<'signal'>): RelayOutcome | Promise<RelayOutcome> {
    const local = this.deliver(to, message)
    if (local !== 'not-found' || !this.options.cluster) return local
    return this.options.cluster.relay(to, message)
  }

  /** A newer connection (here, or on another instance) took this peer id over: close the one here. */
  #kick(peerId: string): void {
    const connection = this.#connections.get(peerId)
    if (!connection) return
    this.#connections.delete(peerId)
    this.#release(connection.address)
    connection.destroy(CLOSE_CODES.REPLACED, 'another connection took over this peer id')
  }

  #budgetOf(address: string): AddressBudget {
    const local = this.#addressState(address).catalog
    return this.options.cluster?.budgetOf(address, this.#budgets, local) ?? local
  }

  /** Open connections of this instance by address (for Redis to count them again after an outage). */
  #connectionCounts(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const connection of this.#connections.values())
      counts.set(connection.address, (counts.get(connection.address) ?? 0) + 1)
    return counts
  }

  #addressState(address: string): AddressState {
    let state = this.#addresses.get(address)
    if (!state) {
      const { addressRecordsPerSecond, addressBurst } = this.#budgets
      state = { connections: 0, catalog: new TokenBucket(addressRecordsPerSecond, addressBurst, this.#now()) }
      this.#addresses.set(address, state)
    }
    return state
  }

  /** One connection (or upgrade) of `address` is gone; `counted`: Redis counted it too. */
  #release(address: string, counted = true): void {
    const state = this.#addresses.get(address)
    if (!state) return
    state.connections = Math.max(0, state.connections - 1)
    if (counted) this.options.cluster?.release(address)
    if (state.connections === 0 && state.catalog.isFull(this.#now())) this.#addresses.delete(address)
  }

  /** Addresses with no connection left whose catalog debt is paid go; bounded by what connected lately. */
  #forgetIdleAddresses(): void {
    const now = this.#now()
    for (const [address, state] of this.#addresses) {
      if (state.connections === 0 && state.catalog.isFull(now)) this.#addresses.delete(address)
    }
  }

  /** This instance's figures: its connections, and the files and swarms its own peers are in. */
  stats(): TrackerStats {
    const registry = this.registry.localStats()
    return {
      peersOnline: this.#connections.size,
      files: registry.files,
      swarms: registry.swarms,
      messagesPerSecond: this.#rate.perSecond(),
    }
  }

  /** For `/stats`: the figures above, or with Redis the cluster's totals and this instance's share. */
  async publicStats(): Promise<TrackerStats | ClusterStats> {
    return this.options.cluster ? this.options.cluster.stats() : this.stats()
  }

  /** Closes every connection with 1001 (going away) and stops the timers. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const stop of this.#stopTimers.splice(0)) stop()
    for (const gate of [...this.#gates]) gate.close(CLOSE_CODES.GOING_AWAY, 'server shutting down')
    for (const connection of [...this.#connections.values()]) {
      connection.destroy(CLOSE_CODES.GOING_AWAY, 'server shutting down')
    }
    this.#wss.close()
  }

  #onClosed(connection: PeerConnection): void {
    if (this.#connections.get(connection.peerId) !== connection) return
    this.#connections.delete(connection.peerId)
    this.#release(connection.address)
    const { peerId } = connection
    const forget = () => (this.#connections.has(peerId) ? undefined : this.registry.removePeer(peerId))
    const failed = (error: unknown) => this.#log.warn('forgetting a peer failed', { peerId, error })
    // After the requests it queued, so that an announce still in flight cannot land after the removal.
    if (connection.waiting) connection.settled().then(forget).catch(failed)
    else {
      try {
        const removal = forget()
        if (removal instanceof Promise) removal.catch(failed)
      } catch (error) {
        failed(error)
      }
    }
    this.options.logger.debug('peer left', { peerId })
  }

  /**
   * Pings who is due; drops who did not answer the last ping within an interval; at most a budget of both
   * a tick. Who is over budget stays due and is served in the next ticks, from where this one stopped, so
   * nobody waits behind connections that come first in the map. Late by a few ticks at most, a ping only
   * delays noticing a dead connection; nobody is dropped for it.
   */
  #beat(): void {
    const now = this.#now()
    const interval = this.options.heartbeatMs
    let budget = this.#heartbeatBudget()
    const start = this.#beatCursor
    this.#beatCursor = undefined
    /** Pings or drops `connection` if due; false when the budget ran out before it (it goes first next tick). */
    const visit = (connection: PeerConnection): boolean => {
      const missed = connection.pingedAtMs !== undefined && now - connection.pingedAtMs >= interval
      const due = connection.pingedAtMs === undefined && now - connection.lastHeardMs >= interval
      if (!missed && !due) return true
      if (budget === 0) {
        this.#beatCursor = connection.peerId
        return false
      }
      budget--
      if (missed) {
        this.#log.info('dropping peer that missed a heartbeat', { peerId: connection.peerId })
        connection.destroy(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'missed heartbeat')
      } else connection.ping()
      return true
    }
    // No copy of the map: a Map skips entries deleted while it is iterated (a drop deletes its connection).
    // From where the last tick stopped to the end, then from the start up to there.
    const resume = start !== undefined && this.#connections.has(start)
    let begun = !resume
    for (const connection of this.#connections.values()) {
      if (!begun && connection.peerId !== start) continue
      begun = true
      if (!visit(connection)) return
    }
    if (!resume) return
    for (const connection of this.#connections.values()) {
      if (connection.peerId === start || !visit(connection)) return
    }
  }

  #heartbeatBudget(): number {
    const least = this.options.heartbeatWorkPerTick ?? HEARTBEAT_WORK_PER_TICK
    return Math.max(least, Math.ceil((HEARTBEAT_SPREAD * this.#connections.size) / HEARTBEAT_TICKS))
  }

  /** Mints and sends ICE servers to each connection whose current ones are due to be replaced. */
  #refreshIceServers(): void {
    const now = this.#now()
    // No copy of 10,000 entries a second: a Map skips entries deleted while it is iterated, so a connection
    // that a send closes (a slow consumer) is simply not visited.
    for (const connection of this.#connections.values()) {
      const due = connection.iceServersDueMs
      if (due === undefined || now < due) continue
      connection.iceServersDueMs = this.#iceServersDue(now)
      connection.send({
        type: 'ice-servers',
        iceServers: this.options.iceServersFor(connection.peerId, connection.host),
      })
    }
  }

  /** When ICE servers minted at `now` are due to be replaced, spread at random over the last tenth. */
  #iceServersDue(now: number): number | undefined {
    const refreshMs = this.options.iceServersRefreshMs
    if (refreshMs === undefined) return undefined
    return now + refreshMs * (1 - ICE_REFRESH_SPREAD * Math.random())
  }

  #noticeCatalogChanges(): void {
    const revision = this.registry.revision
    for (const connection of this.#connections.values()) {
      if (!connection.watching || connection.notifiedRevision >= revision) continue
      connection.notifiedRevision = revision
      connection.send({ type: 'catalog-changed', revision })
    }
  }
}
