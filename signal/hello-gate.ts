/**
 * A new connection before it is anyone (SPEC §9, docs/PROTOCOL.md "The hello"): the tracker sends a
 * `challenge` with a fresh nonce; the client answers with `hello`, its Ed25519 public key and its signature
 * of `helloSignedBytes(nonce, host)`. Only a proof that verifies gives the connection a peer id, the one
 * its key derives to (`peerIdOf(nodeIdOf(key))`), and only then is it handed to the tracker as a
 * PeerConnection. Anything else first — another message, a bad proof, silence for HELLO_TIMEOUT_MS — is
 * answered with a typed error where there is something to answer, and closed with HELLO_FAILED.
 *
 * A gated connection holds no registry state, no heartbeat and no rate bucket: it takes one message, and
 * costs one timer and one signature check.
 */
import { randomBytes } from 'node:crypto'
import type { RawData, WebSocket } from 'ws'
import { fromHex, toHex } from '../shared/encoding.js'
import { CLOSE_CODES, type ErrorCode } from '../shared/errors.js'
import {
  HELLO_NONCE_BYTES,
  helloSignedBytes,
  nodeIdOf,
  peerIdOf,
  verifySignature,
} from '../shared/identity-proof.js'
import { HELLO_TIMEOUT_MS, TRACKER_PROTOCOL_VERSION } from '../shared/limits.js'
import {
  encodeServerMessage,
  parseClientHello,
  parseClientMessage,
  type ServerMessage,
} from '../shared/tracker-protocol.js'
import type { ServerClock } from './clock.js'
import type { Logger } from './logger.js'

/**
 * Messages a client may send between its hello and its welcome (while the proof is checked), kept and
 * handed on in order. Our client sends nothing in that time; a few allow another client to pipeline.
 */
const EARLY_MESSAGES = 16

export interface HelloGateOptions {
  /** The host of the upgrade request's Host header (hostOfHeader), lower-cased: what the proof must name. */
  host: string | undefined
  clock: ServerClock
  logger: Logger
  /** The proof holds: the connection is `peerId`'s. Called once; the socket's listeners are the caller's now. */
  onProven(peerId: string, nodeId: string): void
  /** The connection closed before a proof held. Called once. */
  onClosed(): void
  timeoutMs?: number
}

export class HelloGate {
  readonly #socket: WebSocket
  readonly #options: HelloGateOptions
  readonly #nonce = randomBytes(HELLO_NONCE_BYTES)
  readonly #timer: unknown
  /** Messages after the hello, kept for the PeerConnection. */
  readonly #early: [RawData, boolean][] = []
  #state: 'waiting' | 'checking' | 'done' = 'waiting'

  constructor(socket: WebSocket, options: HelloGateOptions) {
    this.#socket = socket
    this.#options = options
    socket.on('message', this.#onMessage)
    socket.on('close', this.#onClose)
    socket.on('error', this.#onError)
    this.#timer = options.clock.setTimeout(
      () => this.#refuse(undefined, `no hello within ${options.timeoutMs ?? HELLO_TIMEOUT_MS} ms`),
      options.timeoutMs ?? HELLO_TIMEOUT_MS,
    )
    this.#send({ type: 'challenge', protocol: TRACKER_PROTOCOL_VERSION, nonce: toHex(this.#nonce) })
  }

  /** Closes a connection still at the gate (the server is shutting down). Idempotent. */
  close(code: number, reason: string): void {
    if (this.#state === 'done') return
    this.#finish()
    // ws may still report a reset while closing; an 'error' nobody listens to would end the process.
    this.#socket.on('error', () => {})
    // A socket paused while its proof was checked must read again, or it never hears the client's close frame.
    this.#socket.resume()
    this.#socket.close(code, reason)
    this.#options.onClosed()
  }

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.#state === 'checking') {
      if (this.#early.length < EARLY_MESSAGES) this.#early.push([data, isBinary])
      else this.#refuse('RATE_LIMITED', 'too many messages before the welcome')
      return
    }
    if (this.#state !== 'waiting') return
    if (isBinary) return this.#refuse('BAD_MESSAGE', 'the tracker speaks JSON text messages only')
    const text = rawText(data)
    const parsed = parseClientHello(text)
    if (!parsed.ok) {
      const other = parseClientMessage(text)
      if (other.ok && other.message.type === 'bye') return this.close(CLOSE_CODES.NORMAL, 'bye')
      return this.#refuse(parsed.error.code, parsed.error.message, parsed.ref)
    }
    this.#state = 'checking'
    // Frames already read keep coming as events; a paused socket reads no more until the proof is checked.
    this.#socket.pause()
    const publicKey = fromHex(parsed.message.publicKey)
    const signed = helloSignedBytes(this.#nonce, this.#options.host ?? '')
    Promise.all([verifySignature(publicKey, signed, fromHex(parsed.message.signature)), nodeIdOf(publicKey)])
      .then(([valid, nodeId]) => {
        if (this.#state !== 'checking') return // closed meanwhile
        if (!valid)
          return this.#refuse('BAD_SIGNATURE', 'the hello is not signed by its key for this challenge')
        this.#prove(peerIdOf(nodeId), nodeId)
      })
      .catch((error: unknown) => {
        this.#options.logger.error('checking a hello failed', { error })
        this.#refuse('INTERNAL', 'the server failed to check the hello')
      })
  }

  #prove(peerId: string, nodeId: string): void {
    this.#finish()
    this.#options.onProven(peerId, nodeId)
    // The PeerConnection listens now: what came after the hello is its, in order.
    for (const [data, isBinary] of this.#early.splice(0)) this.#socket.emit('message', data, isBinary)
    this.#socket.resume()
  }

  readonly #onClose = (): void => {
    if (this.#state === 'done') return
    this.#finish()
    this.#socket.on('error', () => {})
    this.#options.onClosed()
  }

  readonly #onError = (error: Error): void => {
    // ws closes with the right code (1009, 1007) after this; 'close' follows.
    this.#options.logger.debug('socket error before the hello', { error })
  }

  /** Answers with `code` (if any) and closes with HELLO_FAILED. */
  #refuse(code: ErrorCode | undefined, message: string, ref?: string): void {
    if (this.#state === 'done') return
    if (code) {
      const error: ServerMessage = { type: 'error', code, message }
      if (ref !== undefined) error.ref = ref
      this.#send(error)
    }
    this.close(CLOSE_CODES.HELLO_FAILED, message.slice(0, 120))
  }

  #finish(): void {
    this.#state = 'done'
    this.#options.clock.clearTimeout(this.#timer)
    this.#socket.off('message', this.#onMessage)
    this.#socket.off('close', this.#onClose)
    this.#socket.off('error', this.#onError)
  }

  #send(message: ServerMessage): void {
    this.#socket.send(encodeServerMessage(message))
  }
}

function rawText(data: RawData): string {
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString()
}
