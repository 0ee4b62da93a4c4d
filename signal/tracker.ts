/**
 * The tracker and signalling endpoint: accepts WebSocket connections, mints and binds peer ids, keeps
 * them alive with heartbeats, limits connections per address, tells catalog watchers of changes, and
 * sends each connection fresh ICE servers before its TURN credentials expire.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { CLOSE_CODES } from '../shared/errors.js'
import { TRACKER_PROTOCOL_VERSION, type TrackerLimits } from '../shared/limits.js'
import type { IceServer } from '../shared/tracker-protocol.js'
import { PeerConnection, type TrackerContext } from './connection.js'
import { hostOfHeader } from './ice-servers.js'
import type { Logger } from './logger.js'
import { MessageRate } from './message-rate.js'
import { SwarmRegistry } from './registry.js'

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
  now?: () => number
}

export interface TrackerStats {
  peersOnline: number
  files: number
  swarms: number
  messagesPerSecond: number
}

/**
 * The heartbeat runs this many times per interval and pings only the connections that are due, so pings
 * are spread over the interval by connect time instead of 12,000 writes in one burst (a 400 ms stall in
 * bench/tracker-load). A connection that sent anything within the interval is not pinged at all.
 */
const HEARTBEAT_SLICES = 10
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
/** Bytes of randomness in a peer id (16 base64url characters): unguessable, so ids cannot be hijacked. */
const PEER_ID_BYTES = 12

export class Tracker {
  readonly registry: SwarmRegistry
  readonly #wss: WebSocketServer
  readonly #connections = new Map<string, PeerConnection>()
  readonly #perAddress = new Map<string, number>()
  readonly #rate: MessageRate
  readonly #context: TrackerContext
  readonly #heartbeat: NodeJS.Timeout
  readonly #notices: NodeJS.Timeout
  /** Runs only when ICE servers expire (TURN configured). */
  readonly #iceSweep: NodeJS.Timeout | undefined
  readonly #now: () => number
  #closed = false

  constructor(private readonly options: TrackerOptions) {
    const now = options.now ?? Date.now
    this.#now = now
    this.registry = new SwarmRegistry(options.limits.filesPerPeer)
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
      now,
      find: (peerId) => this.#connections.get(peerId),
      countMessage: () => this.#rate.count(),
      onClosed: (connection) => this.#onClosed(connection),
    }
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs / HEARTBEAT_SLICES)
    this.#notices = setInterval(() => this.#noticeCatalogChanges(), CATALOG_NOTICE_MS)
    this.#heartbeat.unref()
    this.#notices.unref()
    const refreshMs = options.iceServersRefreshMs
    if (refreshMs !== undefined) {
      this.#iceSweep = setInterval(() => this.#refreshIceServers(), Math.min(ICE_SWEEP_MS, refreshMs / 10))
      this.#iceSweep.unref()
    }
  }

  /** Hands an HTTP upgrade request for `/ws` to the tracker. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const address = this.options.clientAddress(request)
      const open = this.#perAddress.get(address) ?? 0
      if (open >= this.options.limits.connectionsPerAddress) {
        this.options.logger.warn('too many connections from one address', { address, open })
        ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'too many connections from your address')
        return
      }
      this.#perAddress.set(address, open + 1)
      const peerId = randomBytes(PEER_ID_BYTES).toString('base64url')
      const host = hostOfHeader(request.headers.host)
      const connection = new PeerConnection(peerId, address, host, ws, this.#context)
      this.#connections.set(peerId, connection)
      this.registry.addPeer(peerId)
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
    })
  }

  stats(): TrackerStats {
    const registry = this.registry.stats()
    return {
      peersOnline: this.#connections.size,
      files: registry.files,
      swarms: registry.swarms,
      messagesPerSecond: this.#rate.perSecond(),
    }
  }

  /** Closes every connection with 1001 (going away) and stops the timers. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#heartbeat)
    clearInterval(this.#notices)
    clearInterval(this.#iceSweep)
    for (const connection of [...this.#connections.values()]) {
      connection.destroy(CLOSE_CODES.GOING_AWAY, 'server shutting down')
    }
    this.#wss.close()
  }

  #onClosed(connection: PeerConnection): void {
    if (this.#connections.get(connection.peerId) !== connection) return
    this.#connections.delete(connection.peerId)
    this.registry.removePeer(connection.peerId)
    const open = (this.#perAddress.get(connection.address) ?? 1) - 1
    if (open > 0) this.#perAddress.set(connection.address, open)
    else this.#perAddress.delete(connection.address)
    this.options.logger.debug('peer left', { peerId: connection.peerId })
  }

  /** Pings who is due; drops who did not answer the last ping within an interval. */
  #beat(): void {
    const now = this.#now()
    const interval = this.options.heartbeatMs
    for (const connection of [...this.#connections.values()]) {
      if (connection.pingedAtMs !== undefined) {
        if (now - connection.pingedAtMs < interval) continue
        this.options.logger.info('dropping peer that missed a heartbeat', { peerId: connection.peerId })
        connection.destroy(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'missed heartbeat')
      } else if (now - connection.lastHeardMs >= interval) {
        connection.ping()
      }
    }
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
