/** What a load worker needs from a tracker's client side, whichever tracker it speaks to. */
import WebSocket from 'ws'
import type { RequestsResult } from './commands.js'

/** Handshakes in flight per worker: two workers stay well under Node's listen backlog of 511. */
export const CONNECT_CONCURRENCY = 64
/** Peers with a request outstanding per worker: a busy tracker sees bursts, not 10,000 requests at once. */
export const REQUEST_CONCURRENCY = 32
/** Longest wait for a handshake; a server that takes longer is reported as failing to connect. */
export const CONNECT_TIMEOUT_MS = 30_000
/** Longest wait for one reply; generous, since replies queue behind thousands of announces. */
export const REQUEST_TIMEOUT_MS = 120_000

/** A pair of connections that relay offers and answers between them. */
export interface RelayPair {
  /** The first peer sends an offer to the second, which answers when it arrives. */
  offer(seq: number): void
}

export interface LoadClient {
  /** Opens `count` connections for peers `firstPeer`… (latencies: handshake time). */
  connect(firstPeer: number, count: number): Promise<RequestsResult>
  /** Builds each connected peer's announce ahead of the timed phase. */
  prepare(poolSize: number): void
  /** Every peer announces its FILES_PER_PEER files (latencies: until all are acknowledged). */
  announce(): Promise<RequestsResult>
  /** Every peer fetches the first catalog page. */
  catalog(): Promise<RequestsResult>
  /** `count` name searches in the catalog. */
  search(count: number): Promise<RequestsResult>
  /** Every peer asks for the holders of one of its files. */
  peers(): Promise<RequestsResult>
  /** Opens 2 × `pairs` more connections, joined in pairs for the relay steps. */
  relaySetup(pairs: number): Promise<RequestsResult>
  readonly pairs: readonly RelayPair[]
  close(): void
}

/**
 * Simulated peers per source address. Every address of 127.0.0.0/8 reaches the loopback interface on Linux
 * with nothing to set up, so the peers come from many addresses, a few dozen each as from a household or an
 * office, and the servers' per-address limits (connections, HTTP sockets, catalog budget) apply as they
 * would in the field, with their defaults.
 */
export const PEERS_PER_ADDRESS = 32

/** The loopback address simulated peer `index` of `range` connects from (range 1: the catalog's peers). */
export function loopbackAddressOf(range: number, index: number): string {
  const group = Math.floor(index / PEERS_PER_ADDRESS)
  return `127.${range}.${(group >> 8) & 0xff}.${group & 0xff}`
}

/**
 * Opens a client WebSocket with the options a browser's would have in effect, from `localAddress`, and
 * waits until open. `onPing` hears the tracker's heartbeat pings (ws answers them by itself, as browsers do).
 */
export function openSocket(
  url: string,
  onMessage: (text: string) => void,
  onPing: () => void,
  localAddress?: string,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // The servers decline permessage-deflate anyway; not offering it saves a negotiation.
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      ...(localAddress ? { localAddress } : {}),
    })
    socket.on('message', (data) => onMessage(data.toString()))
    socket.on('ping', onPing)
    const fail = (error: Error) => {
      socket.removeAllListeners('open')
      reject(error)
    }
    socket.once('error', fail)
    socket.once('close', (code) => fail(new Error(`closed with ${code} before opening`)))
    socket.once('open', () => {
      socket.removeListener('error', fail)
      // A socket error after opening shows up as a close; the benchmark counts what went missing.
      socket.on('error', () => {})
      resolve(socket)
    })
  })
}

/** Drops sockets at once: the server is stopped next, so a polite close handshake would only cost time. */
export function dropSockets(sockets: readonly WebSocket[]): void {
  for (const socket of sockets) socket.terminate()
}
