/** Starts everything one Swarmdrop process serves: the web app, the tracker at /ws, and STUN. */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULT_HEARTBEAT_MS, DEFAULT_TRACKER_LIMITS, type TrackerLimits } from '../shared/limits.js'
import type { IceServer } from '../shared/tracker-protocol.js'
import { type ServerClock, systemClock } from './clock.js'
import { RedisCluster } from './cluster.js'
import { clientAddress } from './forwarded.js'
import {
  answerClientError,
  guardRequest,
  guardUpgrade,
  refuseOnSocket,
  requestPath,
  SocketLimiter,
} from './front-door.js'
import { createHttpHandler } from './http.js'
import { iceServersFor, iceServersRefreshMs } from './ice-servers.js'
import { throttleLogger } from './log-throttle.js'
import type { Logger } from './logger.js'
import { checkOrigin } from './origin-policy.js'
import { type StunLimits, type StunServer, type StunStats, startStunServer } from './stun.js'
import { type CatalogBudgets, Tracker } from './tracker.js'

/**
 * Timeouts of the HTTP server, each shorter than Node's default, so that a socket that sends nothing, or
 * its headers a byte at a time, is closed in seconds rather than minutes.
 */
export const HTTP_TIMEOUTS = Object.freeze({
  /** All headers of a request must arrive within this (Node: 60 s); a page's requests need well under 1 s. */
  headersTimeoutMs: 10_000,
  /** A whole request (ours have no body) within this (Node: 300 s). */
  requestTimeoutMs: 20_000,
  /** An idle keep-alive socket is closed after this (Node's default, stated). */
  keepAliveTimeoutMs: 5_000,
  /** A socket with no traffic either way for this long is closed: a client that stopped reading (Node: none). */
  idleTimeoutMs: 60_000,
  /** How often the timeouts above are checked (Node: 30 s, which would let a 10 s timeout run to 40 s). */
  checkIntervalMs: 2_000,
})
/** Largest request head, in bytes (Node's default, stated): a browser's is 1–2 KiB. */
export const MAX_HEADER_BYTES = 16 * 1024
/**
 * HTTP sockets one address may hold open before they are upgraded or closed. A browser opens up to 6 per
 * host over HTTP/1.1, so 64 lets ten people behind one NAT load the page at once, and a client that opens
 * sockets and sends nothing holds no more than 64 (each for at most headersTimeoutMs). Not applied with
 * TRUST_PROXY, where every socket comes from the proxy.
 */
export const DEFAULT_HTTP_SOCKETS_PER_ADDRESS = 64

export interface ServerOptions {
  port: number
  host: string
  /** null disables the embedded STUN responder; 0 picks a free port (tests). */
  stunPort: number | null
  /** Where STUN listens (default: `host`): behind an HTTP proxy, HTTP on loopback and STUN in public. */
  stunHost?: string | undefined
  /**
   * Redis to share the swarm with other instances (`REDIS_URL`); undefined: this process is the whole
   * tracker, with its state in memory.
   */
  redis?:
    | { url: string; prefix?: string; instanceTtlMs?: number; commandTimeoutMs?: number; instance?: string }
    | undefined
  publicHost?: string | undefined
  iceServers?: IceServer[] | undefined
  turn?: { urls: string[]; secret: string; ttlSeconds: number } | undefined
  trustProxy?: boolean
  /** Pages allowed to open /ws besides the site's own origin (normalised origins; see origin-policy.ts). */
  allowedOrigins?: readonly string[]
  /** Serve `*.map` files from the web root (default false). */
  serveSourceMaps?: boolean
  webRoot: string
  logger: Logger
  limits?: Partial<TrackerLimits>
  /** Open HTTP sockets per client address (DEFAULT_HTTP_SOCKETS_PER_ADDRESS). */
  httpSocketsPerAddress?: number
  /** STUN rate limits (stun.ts DEFAULT_STUN_LIMITS). */
  stunLimits?: Partial<StunLimits>
  heartbeatMs?: number
  /** Heartbeat pings a tick makes at most (tracker.ts HEARTBEAT_WORK_PER_TICK); tests lower it. */
  heartbeatWorkPerTick?: number
  /** Catalog budgets (tracker.ts DEFAULT_CATALOG_BUDGETS). */
  catalogBudgets?: CatalogBudgets
  now?: () => number
  /** Time and timers of the tracker (default: real ones, reading `now`). */
  clock?: ServerClock
}

export interface RunningServer {
  readonly port: number
  readonly stunPort: number | null
  readonly tracker: Tracker
  /** The cluster, when the server shares its swarm through Redis. */
  readonly cluster: RedisCluster | undefined
  /** The STUN responder's counters, or null when it is disabled. */
  stunStats(): StunStats | null
  /** Closes sockets, stops STUN and the HTTP server. Idempotent. */
  close(): Promise<void>
}

/** The path of the tracker's WebSocket. */
export const TRACKER_PATH = '/ws'

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const clock = options.clock ?? systemClock(options.now)
  const now = () => clock.now()
  const limits: TrackerLimits = { ...DEFAULT_TRACKER_LIMITS, ...options.limits }
  const trustProxy = options.trustProxy ?? false
  const log = throttleLogger(options.logger, undefined, now)
  const stun =
    options.stunPort === null
      ? null
      : await startStunServer({
          host: options.stunHost ?? options.host,
          port: options.stunPort,
          logger: options.logger,
          limits: options.stunLimits,
          now,
        })
  const iceSettings = {
    stunPort: stun?.port ?? null,
    publicHost: options.publicHost,
    iceServers: options.iceServers,
    turn: options.turn,
  }
  let cluster: RedisCluster | undefined
  if (options.redis) {
    cluster = new RedisCluster({
      url: options.redis.url,
      prefix: options.redis.prefix,
      instanceTtlMs: options.redis.instanceTtlMs,
      commandTimeoutMs: options.redis.commandTimeoutMs,
      instance: options.redis.instance,
      filesPerPeer: limits.filesPerPeer,
      log,
      // Real time, whatever the tracker's clock (tests move theirs by days): an instance's registration
      // expires by Redis's clock, so its heartbeat must keep to the same time.
      clock: systemClock(),
    })
    await cluster.start()
  }
  const originKey = await cluster?.sharedOriginKey()
  const tracker = new Tracker({
    ...(originKey ? { originKey } : {}),
    registry: cluster?.registry,
    cluster,
    limits,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    heartbeatWorkPerTick: options.heartbeatWorkPerTick,
    catalogBudgets: options.catalogBudgets,
    iceServersFor: (peerId, host) => iceServersFor(iceSettings, peerId, host, now()),
    iceServersRefreshMs: iceServersRefreshMs(iceSettings),
    clientAddress: (request) => clientAddress(request, trustProxy),
    logger: options.logger,
    clock,
  })
  const startedAt = now()
  const http = createServer(
    {
      headersTimeout: HTTP_TIMEOUTS.headersTimeoutMs,
      requestTimeout: HTTP_TIMEOUTS.requestTimeoutMs,
      keepAliveTimeout: HTTP_TIMEOUTS.keepAliveTimeoutMs,
      connectionsCheckingInterval: HTTP_TIMEOUTS.checkIntervalMs,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    guardRequest(
      createHttpHandler({
        webRoot: options.webRoot,
        serveSourceMaps: options.serveSourceMaps ?? false,
        stats: async () => ({
          ...(await tracker.publicStats()),
          uptimeSeconds: Math.round((now() - startedAt) / 1000),
          rssBytes: process.memoryUsage.rss(),
          ...(stun ? { stun: stun.stats() } : {}),
        }),
        health: () => (cluster ? { redis: cluster.redisUp ? 'up' : 'down' } : {}),
      }),
      log,
    ),
  )
  http.setTimeout(HTTP_TIMEOUTS.idleTimeoutMs)
  http.on('clientError', answerClientError)
  const sockets = new SocketLimiter(options.httpSocketsPerAddress ?? DEFAULT_HTTP_SOCKETS_PER_ADDRESS)
  if (!trustProxy) {
    http.on('connection', (socket) => {
      if (sockets.admit(socket)) return
      log.warn('refused an HTTP socket: too many open from one address', {
        address: socket.remoteAddress,
      })
      socket.destroy()
    })
  }
  const allowedOrigins = options.allowedOrigins ?? []
  http.on(
    'upgrade',
    guardUpgrade((request, socket, head) => {
      // From here the tracker counts it, as a WebSocket of its address.
      sockets.release(socket)
      const path = requestPath(request.url)
      if (path === undefined) return refuseOnSocket(socket, 400, 'bad request target\n')
      if (path !== TRACKER_PATH) return refuseOnSocket(socket, 404, 'not found\n')
      const verdict = checkOrigin(request, { allowedOrigins, trustProxy })
      if (!verdict.allowed) {
        log.warn('refused a WebSocket from a page of another origin', {
          origin: verdict.origin,
          address: clientAddress(request, trustProxy),
        })
        return refuseOnSocket(socket, 403, "this page's origin may not use this tracker\n")
      }
      tracker.handleUpgrade(request, socket, head)
    }, log),
  )
  http.listen(options.port, options.host)
  try {
    await once(http, 'listening')
  } catch (error) {
    tracker.close()
    await Promise.all([stun?.close(), cluster?.close()])
    throw error
  }
  const port = (http.address() as AddressInfo).port
  options.logger.info('listening', {
    http: `${options.host}:${port}`,
    stun: stun ? `${options.stunHost ?? options.host}:${stun.port}` : 'disabled',
    ...(cluster ? { redis: cluster.redisUp ? 'up' : 'down', instance: cluster.instance } : {}),
  })
  let closing: Promise<void> | undefined
  return {
    port,
    stunPort: stun?.port ?? null,
    tracker,
    cluster,
    stunStats: () => stun?.stats() ?? null,
    close: () => {
      closing ??= closeAll(http, tracker, stun, cluster)
      return closing
    },
  }
}

async function closeAll(
  http: ReturnType<typeof createServer>,
  tracker: Tracker,
  stun: StunServer | null,
  cluster: RedisCluster | undefined,
): Promise<void> {
  tracker.close()
  const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()))
  http.closeAllConnections()
  await Promise.all([httpClosed, stun?.close(), cluster?.close()])
}
