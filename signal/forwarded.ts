/**
 * What a trusted reverse proxy tells about the request it forwards. Read only when `TRUST_PROXY` is set:
 * anyone who reaches the server directly can write these headers.
 */
import type { IncomingMessage } from 'node:http'

/** The last entry of a header a proxy appends to: the one the nearest (trusted) proxy wrote. */
export function lastHeaderValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.at(-1) : header
  return value?.split(',').at(-1)?.trim() || undefined
}

/** The client's address; behind a trusted reverse proxy, the last hop the proxy saw. */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = lastHeaderValue(request.headers['x-forwarded-for'])
    if (forwarded) return forwarded
  }
  return request.socket.remoteAddress ?? 'unknown'
}
