/**
 * A CLI peer's `--listen` socket as a way into the network (issue 13, shared/entry-protocol.ts): this peer
 * proves its key to the listening peer as it does to the tracker, then relays WebRTC signals to that one
 * peer over the socket, so that with the tracker unreachable it links to the listening peer and joins the
 * ring through it (which then signals everything else). An `EntryPoint` (entry-point.ts) the engine builds
 * for every `--listen` URL it keeps (engine.ts); offers and answers stay signed end to end by the link
 * manager, so the listening peer can drop signals but not forge them.
 *
 * While not destroyed it keeps the socket up, reconnecting with the tracker's backoff (1 s doubling to 30 s,
 * with jitter). `peers()` is the listening peer while welcomed, else empty.
 */
import { assertNever } from '../../shared/assert-never.js'
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  ENTRY_PROTOCOL_VERSION,
  type EntryClientMessage,
  type EntryServerMessage,
  encodeEntryMessage,
  parseEntryServerMessage,
} from '../../shared/entry-protocol.js'
import type { ErrorCode } from '../../shared/errors.js'
import { helloHostOf, listenHelloSignedBytes } from '../../shared/identity-proof.js'
import { backoffDelayMs } from './backoff.js'
import type { Clock } from './clock.js'
import type { EntryPoint } from './entry-point.js'
import type { Identity } from './identity.js'
import type { IceServer, Signaller } from './peer-link.js'
import { SignalRelay } from './signal-relay.js'
import type { WebSocketLike } from './tracker-client.js'

/** From opening the socket to the welcome: as the tracker client's CONNECT_TIMEOUT_MS. */
export const ENTRY_CONNECT_TIMEOUT_MS = 10_000
/** A welcomed socket that stayed up this long resets the backoff (tracker-client.ts STABLE_CONNECTION_MS). */
const STABLE_MS = 10_000
/** WHATWG `WebSocket.OPEN`; `ws` uses the same value. */
const SOCKET_OPEN = 1

export interface ListenEntryPointOptions {
  /** The listening peer's URL, `ws://host:port` or `wss://…`. */
  url: string
  createSocket(url: string): WebSocketLike
  identity: Pick<Identity, 'publicKey' | 'peerId' | 'sign'>
  clock: Clock
  random?: () => number
  /** The welcome came: the listening peer's id and ICE servers (the engine keeps the URL as a contact). */
  onWelcome?(host: string, iceServers: IceServer[]): void
}

export class ListenEntryPoint implements EntryPoint {
  readonly kind = 'listen' as const
  readonly label: string
  readonly signaller: Signaller
  /** Messages from the listening peer that did not parse, and errors it sent: counted for tests and logs. */
  malformed = 0
  lastError: { code: ErrorCode; message: string } | undefined
  readonly #options: ListenEntryPointOptions
  readonly #random: () => number
  readonly #peerListeners = new Set<(peers: readonly string[]) => void>()
  readonly #relay = new SignalRelay((to, data) => this.#sendSignal(to, data))
  #socket: WebSocketLike | undefined
  #host: string | undefined
  #welcomedAt = 0
  #attempt = 0
  #timer: unknown
  #destroyed = false

  constructor(options: ListenEntryPointOptions) {
    this.#options = options
    this.#random = options.random ?? Math.random
    this.label = options.url
    this.signaller = this.#relay.signaller
    this.#connect()
  }

  /** The listening peer while this socket is welcomed. */
  peers(): readonly string[] {
    return this.#host === undefined ? [] : [this.#host]
  }

  onPeers(listener: (peers: readonly string[]) => void): () => void {
    this.#peerListeners.add(listener)
    return () => this.#peerListeners.delete(listener)
  }

  /** Says goodbye, closes the socket and stops reconnecting; once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#options.clock.clearTimeout(this.#timer)
    const socket = this.#socket
    this.#socket = undefined
    if (socket) {
      if (socket.readyState === SOCKET_OPEN) this.#post(socket, { type: 'bye' })
      closeQuietly(socket)
    }
    this.#setHost(undefined)
    this.#peerListeners.clear()
    this.#relay.clear()
  }

  #connect(): void {
    if (this.#destroyed) return
    let socket: WebSocketLike
    try {
      socket = this.#options.createSocket(this.#options.url)
    } catch (error) {
      this.lastError = { code: 'PEER_UNREACHABLE', message: String(error) }
      return this.#retry()
    }
    this.#socket = socket
    let challenged = false
    const timeout = this.#options.clock.setTimeout(() => {
      if (this.#host === undefined) closeQuietly(socket)
    }, ENTRY_CONNECT_TIMEOUT_MS)
    socket.addEventListener('message', (event) => {
      if (socket !== this.#socket || this.#destroyed) return
      const parsed = parseEntryServerMessage(event.data)
      if (!parsed.ok) {
        this.malformed++
        return
      }
      const message = parsed.message
      if (message.type === 'challenge') {
        if (challenged || message.protocol !== ENTRY_PROTOCOL_VERSION) {
          this.lastError = { code: 'BAD_MESSAGE', message: `challenge of protocol ${message.protocol}` }
          return closeQuietly(socket)
        }
        challenged = true
        return this.#answer(socket, message.nonce)
      }
      this.#receive(message)
    })
    socket.addEventListener('error', () => {})
    socket.addEventListener('close', () => {
      this.#options.clock.clearTimeout(timeout)
      if (socket !== this.#socket) return
      this.#socket = undefined
      this.#setHost(undefined)
      this.#retry()
    })
  }

  #answer(socket: WebSocketLike, nonce: string): void {
    const { identity, url } = this.#options
    identity.sign(listenHelloSignedBytes(fromHex(nonce), helloHostOf(url))).then(
      (signature) => {
        if (socket !== this.#socket || this.#destroyed) return
        this.#post(socket, {
          type: 'hello',
          publicKey: toHex(identity.publicKey),
          signature: toHex(signature),
        })
      },
      () => closeQuietly(socket),
    )
  }

  #receive(message: Exclude<EntryServerMessage, { type: 'challenge' }>): void {
    switch (message.type) {
      case 'welcome':
        if (message.protocol !== ENTRY_PROTOCOL_VERSION || message.peerId !== this.#options.identity.peerId) {
          this.lastError = { code: 'BAD_MESSAGE', message: 'a welcome not for this peer' }
          if (this.#socket) closeQuietly(this.#socket)
          return
        }
        this.#welcomedAt = this.#options.clock.now()
        this.#options.onWelcome?.(message.host, message.iceServers)
        this.#setHost(message.host)
        return
      case 'signal':
        if (message.from !== this.#host) return // only the listening peer speaks on this socket
        this.#relay.deliver(message.from, message.data)
        return
      case 'error':
        this.lastError = { code: message.code, message: message.message }
        if (message.code === 'PEER_NOT_FOUND' && this.#host !== undefined)
          this.#relay.undeliverable(this.#host, 'PEER_NOT_FOUND', this.#options.clock)
        return
      default:
        return assertNever(message)
    }
  }

  #sendSignal(to: string, data: Record<string, unknown>): void {
    const socket = this.#socket
    if (this.#destroyed || socket === undefined || to !== this.#host || socket.readyState !== SOCKET_OPEN) {
      // Not reachable this way now.
      return this.#relay.undeliverable(to, 'PEER_NOT_FOUND', this.#options.clock)
    }
    this.#post(socket, { type: 'signal', to, data })
  }

  #retry(): void {
    if (this.#destroyed) return
    const clock = this.#options.clock
    if (this.#welcomedAt > 0 && clock.now() - this.#welcomedAt >= STABLE_MS) this.#attempt = 0
    this.#welcomedAt = 0
    this.#timer = clock.setTimeout(() => this.#connect(), backoffDelayMs(this.#attempt++, this.#random))
  }

  #setHost(host: string | undefined): void {
    if (host === this.#host) return
    this.#host = host
    const peers = this.peers()
    for (const listener of this.#peerListeners) listener(peers)
  }

  #post(socket: WebSocketLike, message: EntryClientMessage): void {
    try {
      socket.send(encodeEntryMessage(message))
    } catch {
      // Closing: the close event reconnects.
    }
  }
}

function closeQuietly(socket: WebSocketLike): void {
  try {
    socket.close()
  } catch {
    // Already closed.
  }
}
