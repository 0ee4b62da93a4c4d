/**
 * The front door: what every HTTP request and upgrade passes before the site or the tracker sees it. It
 * reads the request target without throwing, caps the sockets one address may hold open, answers on a
 * raw socket when no HTTP response object exists (upgrades, parser errors), and turns an exception of a
 * handler into an answer and one log line, so that no request can end the process.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ThrottledLogger } from './log-throttle.js'
import { SECURITY_HEADERS } from './security-headers.js'

/**
 * The path a request target names, or undefined when the URL parser rejects it. Node's HTTP parser
 * accepts targets that `new URL` refuses (`//a:99999/`, `//[`, `http://[/`, `http://%zz/`): one such
 * request used to throw outside any `try` and end the process. Origin-form and absolute-form targets
 * both come out as a path; the query is dropped (nothing here reads one).
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined
  try {
    return new URL(target, 'http://localhost').pathname
  } catch {
    return undefined
  }
}

/**
 * Writes a complete HTTP/1.1 response on a raw socket and closes it: for upgrade requests refused before
 * any WebSocket exists, and for requests the HTTP parser refused. Carries the security headers, as every
 * response does.
 */
export function refuseOnSocket(
  socket: Duplex,
  status: number,
  body: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const headers: Record<string, string | number> = {
    connection: 'close',
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...SECURITY_HEADERS,
    ...extraHeaders,
  }
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n\r\n${body}`)
}

/** Runs a request handler; an exception becomes a 500 (or a closed socket, if the head is out) and one line. */
export function guardRequest(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  log: ThrottledLogger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      handler(req, res)
    } catch (error) {
      log.error('request handler failed', { error })
      if (res.headersSent) {
        res.destroy()
        return
      }
      res
        .writeHead(500, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS })
        .end('internal error\n')
    }
  }
}

/** Runs an upgrade handler; an exception becomes a 500 on the raw socket and one line. */
export function guardUpgrade(
  handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  log: ThrottledLogger,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // A client that resets before the handshake makes the socket emit 'error'; with no listener that is
    // an uncaught exception. ws adds its own once it owns the socket.
    socket.on('error', () => socket.destroy())
    try {
      handler(req, socket, head)
    } catch (error) {
      log.error('upgrade handler failed', { error })
      refuseOnSocket(socket, 500, 'internal error\n')
    }
  }
}

/**
 * Answers what Node's HTTP parser refuses (a malformed request line or header, headers too large, a
 * request that took too long) with the matching status and the security headers, instead of Node's bare
 * default. Errors of a socket already gone are only closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  refuseOnSocket(socket, status, `${STATUS_CODES[status]?.toLowerCase()}\n`)
}

/**
 * Open HTTP sockets per client address, capped. A socket counts from the moment it is accepted until it
 * closes or is upgraded to a WebSocket (the tracker counts those by address on its own); so the cap
 * bounds sockets that hold headers back, keep-alive sockets, and upgrades not yet answered.
 */
export class SocketLimiter {
  readonly #open = new Map<string, number>()
  readonly #counted = new WeakMap<Socket | Duplex, string>()

  constructor(private readonly perAddress: number) {}

  /** Counts an accepted socket; false when its address is at the cap (the caller closes it). */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? 'unknown'
    const open = this.#open.get(address) ?? 0
    if (open >= this.perAddress) return false
    this.#open.set(address, open + 1)
    this.#counted.set(socket, address)
    socket.once('close', () => this.release(socket))
    return true
  }

  /** Stops counting a socket (it closed, or became a WebSocket). Idempotent. */
  release(socket: Socket | Duplex): void {
    const address = this.#counted.get(socket)
    if (address === undefined) return
    this.#counted.delete(socket)
    const open = (this.#open.get(address) ?? 1) - 1
    if (open > 0) this.#open.set(address, open)
    else this.#open.delete(address)
  }

  /** Sockets counted for `address` now (for tests and figures). */
  openFrom(address: string): number {
    return this.#open.get(address) ?? 0
  }
}
