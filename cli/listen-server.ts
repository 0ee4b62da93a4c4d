/**
 * `swarmdrop share --listen PORT` (issue 13): a WebSocket on which this headless peer is a signalling entry
 * point, so that a peer which cannot reach the tracker (it is down, or blocked on that network) links to
 * this one and joins the ring through it. The protocol is shared/entry-protocol.ts: the tracker's challenge
 * and signed hello (under its own context), then `signal` messages between the client and this peer only.
 * Offers and answers are signed end to end by both link managers, as over the tracker.
 *
 * It is an `EntryPoint` (web/peer/entry-point.ts) of this peer's engine: `peers()` are the clients welcomed
 * now, and the engine's composite signaller answers a client's signals through it.
 *
 * Every input is untrusted: one schema per message (never throws), `maxPayload`, a hello within
 * HELLO_TIMEOUT_MS, a message budget per connection, connections per address and in all, one connection per
 * peer id (a newer one replaces the older), a slow reader cut off; each refusal is a typed `error` or a close
 * code from shared/errors.ts.
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import { assertNever } from '../shared/assert-never.js'
import { fromHex, toHex } from '../shared/encoding.js'
import {
  ENTRY_PROTOCOL_VERSION,
  type EntryLimits,
  type EntryServerMessage,
  encodeEntryMessage,
  MAX_ENTRY_MESSAGE_BYTES,
  parseEntryClientMessage,
} from '../shared/entry-protocol.js'
import { CLOSE_CODES, type ErrorCode } from '../shared/errors.js'
import {
  HELLO_NONCE_BYTES,
  listenHelloSignedBytes,
  nodeIdOf,
  peerIdOf,
  verifySignature,
} from '../shared/identity-proof.js'
import { HELLO_TIMEOUT_MS } from '../shared/limits.js'
import type { EntryPoint } from '../web/peer/entry-point.js'
import type { IceServer, Signaller } from '../web/peer/peer-link.js'
import { SignalRelay } from '../web/peer/signal-relay.js'

/**
 * Messages a second per connection, and the burst: one negotiation is an offer or answer and ~2–10 ICE
 * candidates each way, and a client links to this one peer, so 10 a second with a burst of 40 lets a
 * reconnect storm through and nothing like a flood.
 */
export const ENTRY_MESSAGES_PER_SECOND = 10
export const ENTRY_MESSAGE_BURST = 40
/** Messages dropped for the rate before the socket is closed (POLICY): a client that ignores RATE_LIMITED. */
const DROPS_BEFORE_CLOSE = 100
/** Clients welcomed at once: each is a peer about to link to this one, and links cost far more than sockets. */
export const MAX_ENTRY_CLIENTS = 64
/** Sockets from one address at once (hello pending or welcomed): a home behind one NAT has a few peers. */
export const ENTRY_CONNECTIONS_PER_ADDRESS = 4
/** Bytes queued to one client before it counts as not reading (close SLOW_CONSUMER): 16 signals' worth. */
const MAX_QUEUED_BYTES = 16 * MAX_ENTRY_MESSAGE_BYTES
/** Dead sockets (a laptop closed) are found by a ping this often; no pong by the next one ends them. */
const PING_MS = 30_000

export interface ListenServerOptions {
  port: number
  /** Address to bind; default all (`::` / 0.0.0.0). Tests bind 127.0.0.1. */
  host?: string
  identity: { peerId: string }
  /** The ICE servers a client should use (the last welcome of this peer's tracker, or kept ones). */
  iceServers(): IceServer[]
}

interface Client {
  socket: WebSocket
  address: string
  peerId: string | undefined
  drops: number
  alive: boolean
  /** The connection's message budget: a token bucket (ENTRY_MESSAGES_PER_SECOND, ENTRY_MESSAGE_BURST). */
  tokens: number
  tokensAtMs: number
}

export class ListenServer implements EntryPoint {
  readonly kind = 'listen' as const
  readonly signaller: Signaller
  /** Counted refusals, for tests and the log. */
  readonly refused = new Map<ErrorCode, number>()
  readonly #options: ListenServerOptions
  readonly #wss: WebSocketServer
  readonly #clients = new Set<Client>()
  readonly #byPeer = new Map<string, Client>()
  readonly #perAddress = new Map<string, number>()
  readonly #peerListeners = new Set<(peers: readonly string[]) => void>()
  readonly #relay = new SignalRelay((to, data) => this.#sendSignal(to, data))
  readonly #ping: ReturnType<typeof setInterval>
  #label = 'listening'
  #destroyed = false

  private constructor(options: ListenServerOptions, wss: WebSocketServer) {
    this.#options = options
    this.#wss = wss
    this.signaller = this.#relay.signaller
    wss.on('connection', (socket, request) =>
      this.#accept(socket, request.socket.remoteAddress, request.headers.host),
    )
    this.#ping = setInterval(() => this.#pingAll(), PING_MS)
    this.#ping.unref()
  }

  /** Listens on `port` (0 picks a free one); rejects when the port cannot be bound (in use, no right). */
  static async start(options: ListenServerOptions): Promise<ListenServer> {
    const wss = new WebSocketServer({
      port: options.port,
      ...(options.host ? { host: options.host } : {}),
      // Twice the parser's limit: a message a little too large is answered SIGNAL_TOO_LARGE, a far larger
      // one is cut by ws before it is buffered (close TOO_BIG).
      maxPayload: 2 * MAX_ENTRY_MESSAGE_BYTES,
      // Signals are a few KiB of text: compression would cost CPU per message and open a zip-bomb door.
      perMessageDeflate: false,
    })
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve)
      wss.once('error', reject)
    })
    const server = new ListenServer(options, wss)
    server.#label = `listening on port ${server.port}`
    // After the bind, an error of the server (not of a socket) must not end the process.
    wss.on('error', () => {})
    return server
  }

  /** The port bound (the one asked for, or the free one picked for 0). */
  get port(): number {
    return (this.#wss.address() as AddressInfo).port
  }

  get label(): string {
    return this.#label
  }

  /** Clients welcomed now, in the order they came. */
  peers(): readonly string[] {
    return [...this.#byPeer.keys()]
  }

  onPeers(listener: (peers: readonly string[]) => void): () => void {
    this.#peerListeners.add(listener)
    return () => this.#peerListeners.delete(listener)
  }

  /** Closes every socket (GOING_AWAY) and stops listening; once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    clearInterval(this.#ping)
    for (const client of this.#clients) client.socket.close(CLOSE_CODES.GOING_AWAY, 'the peer is stopping')
    this.#wss.close()
    const had = this.#byPeer.size > 0
    this.#clients.clear()
    this.#byPeer.clear()
    if (had) this.#tellPeers()
    this.#peerListeners.clear()
    this.#relay.clear()
  }

  #accept(socket: WebSocket, remoteAddress: string | undefined, hostHeader: string | undefined): void {
    socket.on('error', () => {}) // a reset: the close event follows and cleans up
    const address = remoteAddress ?? 'unknown'
    if (this.#destroyed) return socket.close(CLOSE_CODES.GOING_AWAY, 'the peer is stopping')
    const fromAddress = this.#perAddress.get(address) ?? 0
    if (fromAddress >= ENTRY_CONNECTIONS_PER_ADDRESS || this.#clients.size >= MAX_ENTRY_CLIENTS) {
      this.#refuse(socket, 'RATE_LIMITED', 'too many connections')
      return socket.close(CLOSE_CODES.POLICY, 'too many connections')
    }
    this.#perAddress.set(address, fromAddress + 1)
    const client: Client = {
      socket,
      address,
      peerId: undefined,
      drops: 0,
      alive: true,
      tokens: ENTRY_MESSAGE_BURST,
      tokensAtMs: Date.now(),
    }
    this.#clients.add(client)
    const nonce = randomBytes(HELLO_NONCE_BYTES)
    const host = hostOf(hostHeader)
    let checking = false
    const helloTimer = setTimeout(
      () => this.#fail(client, `no hello within ${HELLO_TIMEOUT_MS} ms`),
      HELLO_TIMEOUT_MS,
    )
    socket.on('pong', () => {
      client.alive = true
    })
    socket.on('close', () => {
      clearTimeout(helloTimer)
      this.#forget(client)
    })
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#destroyed) return
      if (!takeToken(client, Date.now())) {
        this.#refuse(socket, 'RATE_LIMITED', `over ${ENTRY_MESSAGES_PER_SECOND} messages a second`)
        if (++client.drops >= DROPS_BEFORE_CLOSE) socket.close(CLOSE_CODES.POLICY, 'kept flooding')
        return
      }
      if (isBinary) return this.#refuse(socket, 'BAD_MESSAGE', 'entry messages are JSON text')
      const parsed = parseEntryClientMessage(rawText(data))
      if (!parsed.ok) return this.#refuse(socket, parsed.error.code, parsed.error.message)
      const message = parsed.message
      switch (message.type) {
        case 'hello': {
          if (client.peerId !== undefined || checking)
            return this.#refuse(socket, 'BAD_MESSAGE', 'one hello per connection')
          checking = true
          const publicKey = fromHex(message.publicKey)
          const signed = listenHelloSignedBytes(nonce, host)
          void Promise.all([
            verifySignature(publicKey, signed, fromHex(message.signature)),
            nodeIdOf(publicKey),
          ]).then(([valid, nodeId]) => {
            clearTimeout(helloTimer)
            if (!this.#clients.has(client)) return // closed meanwhile
            if (!valid)
              return this.#fail(
                client,
                'the hello is not signed by its key for this challenge',
                'BAD_SIGNATURE',
              )
            this.#welcome(client, peerIdOf(nodeId))
          })
          return
        }
        case 'signal': {
          const from = client.peerId
          if (from === undefined)
            return this.#refuse(socket, 'HELLO_REQUIRED', 'the first message is a hello')
          if (message.to === from) return this.#refuse(socket, 'SELF_SIGNAL', 'a signal to oneself')
          if (message.to !== this.#options.identity.peerId)
            return this.#refuse(socket, 'PEER_NOT_FOUND', 'this socket reaches the listening peer only')
          this.#relay.deliver(from, message.data)
          return
        }
        case 'bye':
          return socket.close(CLOSE_CODES.NORMAL, 'bye')
        default:
          return assertNever(message)
      }
    })
    this.#send(client, { type: 'challenge', protocol: ENTRY_PROTOCOL_VERSION, nonce: toHex(nonce) })
  }

  #welcome(client: Client, peerId: string): void {
    if (peerId === this.#options.identity.peerId) {
      return this.#fail(client, 'this is the listening peer itself', 'SELF_SIGNAL')
    }
    const older = this.#byPeer.get(peerId)
    if (older) {
      // A reconnect (the old socket not closed yet): the newer one takes its place, as at the tracker.
      older.peerId = undefined
      older.socket.close(CLOSE_CODES.REPLACED, 'a newer connection with this peer id')
    }
    client.peerId = peerId
    this.#byPeer.set(peerId, client)
    const limits: EntryLimits = {
      maxMessageBytes: MAX_ENTRY_MESSAGE_BYTES,
      messagesPerSecond: ENTRY_MESSAGES_PER_SECOND,
      messageBurst: ENTRY_MESSAGE_BURST,
    }
    this.#send(client, {
      type: 'welcome',
      protocol: ENTRY_PROTOCOL_VERSION,
      peerId,
      host: this.#options.identity.peerId,
      iceServers: this.#options.iceServers(),
      limits,
    })
    if (!older) this.#tellPeers()
  }

  #sendSignal(to: string, data: Record<string, unknown>): void {
    const client = this.#byPeer.get(to)
    if (this.#destroyed || !client) return this.#relay.undeliverable(to, 'PEER_NOT_FOUND')
    this.#send(client, { type: 'signal', from: this.#options.identity.peerId, data })
  }

  #send(client: Client, message: EntryServerMessage): void {
    const { socket } = client
    if (socket.readyState !== socket.OPEN) return
    if (socket.bufferedAmount > MAX_QUEUED_BYTES) {
      socket.close(CLOSE_CODES.SLOW_CONSUMER, 'not reading its messages')
      return
    }
    socket.send(encodeEntryMessage(message))
  }

  #refuse(socket: WebSocket, code: ErrorCode, message: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1)
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_QUEUED_BYTES) return
    socket.send(encodeEntryMessage({ type: 'error', code, message }))
  }

  #fail(client: Client, message: string, code: ErrorCode = 'HELLO_REQUIRED'): void {
    if (client.peerId !== undefined) return
    this.#refuse(client.socket, code, message)
    client.socket.close(CLOSE_CODES.HELLO_FAILED, message.slice(0, 120))
  }

  #forget(client: Client): void {
    if (!this.#clients.delete(client)) return
    const left = (this.#perAddress.get(client.address) ?? 1) - 1
    if (left > 0) this.#perAddress.set(client.address, left)
    else this.#perAddress.delete(client.address)
    if (client.peerId !== undefined && this.#byPeer.get(client.peerId) === client) {
      this.#byPeer.delete(client.peerId)
      this.#tellPeers()
    }
  }

  #pingAll(): void {
    for (const client of this.#clients) {
      if (!client.alive) {
        client.socket.terminate()
        continue
      }
      client.alive = false
      client.socket.ping()
    }
  }

  #tellPeers(): void {
    const peers = this.peers()
    for (const listener of this.#peerListeners) listener(peers)
  }
}

function takeToken(client: Client, nowMs: number): boolean {
  const refill = (Math.max(0, nowMs - client.tokensAtMs) / 1000) * ENTRY_MESSAGES_PER_SECOND
  client.tokens = Math.min(ENTRY_MESSAGE_BURST, client.tokens + refill)
  client.tokensAtMs = nowMs
  if (client.tokens < 1) return false
  client.tokens -= 1
  return true
}

/** The host the client addressed, as identity-proof.ts `helloHostOf` makes it of the URL: no port, no brackets. */
function hostOf(header: string | undefined): string {
  if (!header) return ''
  try {
    return new URL(`ws://${header}`).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  } catch {
    return ''
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data as ArrayBuffer).toString('utf8')
}
