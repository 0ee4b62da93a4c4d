/** Starts everything one Swarmdrop process serves: the web app, the tracker at /ws, and STUN. */
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULT_HEARTBEAT_MS, DEFAULT_TRACKER_LIMITS, type TrackerLimits } from '../shared/limits.js'
import type { IceServer } from '../shared/tracker-protocol.js'
import { createHttpHandler } from './http.js'
import { iceServersFor, iceServersRefreshMs } from './ice-servers.js'
import type { Logger } from './logger.js'
import { type StunServer, startStunServer } from './stun.js'
import { Tracker } from './tracker.js'

export interface ServerOptions {
  port: number
  host: string
  /** null disables the embedded STUN responder; 0 picks a free port (tests). */
  stunPort: number | null
  publicHost?: string | undefined
  iceServers?: IceServer[] | undefined
  turn?: { urls: string[]; secret: string; ttlSeconds: number } | undefined
  trustProxy?: boolean
  webRoot: string
  logger: Logger
  limits?: Partial<TrackerLimits>
  heartbeatMs?: number
  now?: () => number
}

export interface RunningServer {
  readonly port: number
  readonly stunPort: number | null
  readonly tracker: Tracker
  /** Closes sockets, stops STUN and the HTTP server. Idempotent. */
  close(): Promise<void>
}

/** The path of the tracker's WebSocket. */
export const TRACKER_PATH = '/ws'

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const now = options.now ?? Date.now
  const limits: TrackerLimits = { ...DEFAULT_TRACKER_LIMITS, ...options.limits }
  const stun =
    options.stunPort === null
      ? null
      : await startStunServer({ host: options.host, port: options.stunPort, logger: options.logger })
  const iceSettings = {
    stunPort: stun?.port ?? null,
    publicHost: options.publicHost,
    iceServers: options.iceServers,
    turn: options.turn,
  }
  const tracker = new Tracker({
    limits,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    iceServersFor: (peerId, host) => iceServersFor(iceSettings, peerId, host, now()),
    iceServersRefreshMs: iceServersRefreshMs(iceSettings),
    clientAddress: (request) => clientAddress(request, options.trustProxy ?? false),
    logger: options.logger,
    now,
  })
  const startedAt = now()
  const http = createServer(
    createHttpHandler({
      webRoot: options.webRoot,
      stats: () => ({
        ...tracker.stats(),
        uptimeSeconds: Math.round((now() - startedAt) / 1000),
        rssBytes: process.memoryUsage.rss(),
      }),
    }),
  )
  http.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (path !== TRACKER_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    tracker.handleUpgrade(request, socket, head)
  })
  http.listen(options.port, options.host)
  try {
    await once(http, 'listening')
  } catch (error) {
    tracker.close()
    await stun?.close()
    throw error
  }
  const port = (http.address() as AddressInfo).port
  options.logger.info('listening', { http: `${options.host}:${port}`, stun: stun?.port ?? 'disabled' })
  let closing: Promise<void> | undefined
  return {
    port,
    stunPort: stun?.port ?? null,
    tracker,
    close: () => {
      closing ??= closeAll(http, tracker, stun)
      return closing
    },
  }
}

async function closeAll(
  http: ReturnType<typeof createServer>,
  tracker: Tracker,
  stun: StunServer | null,
): Promise<void> {
  tracker.close()
  const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()))
  http.closeAllConnections()
  await Promise.all([httpClosed, stun?.close()])
}

/** The client's address; behind a trusted reverse proxy, the last hop the proxy saw. */
function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for']
    const last = (Array.isArray(forwarded) ? forwarded.at(-1) : forwarded)?.split(',').at(-1)?.trim()
    if (last) return last
  }
  return request.socket.remoteAddress ?? 'unknown'
}
