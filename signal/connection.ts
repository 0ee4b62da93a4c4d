/**
 * One peer's WebSocket connection: parses every message with the shared schema, dispatches it, and
 * answers bad input with a typed error. The peer id is minted by the server and bound to this
 * connection; no message carries a sender id, so nobody can act as someone else.
 */
import type { RawData, WebSocket } from 'ws'
import { assertNever } from '../shared/assert-never.js'
import { CLOSE_CODES, type ErrorCode, SwarmError } from '../shared/errors.js'
import { DEFAULT_CATALOG_PAGE_SIZE, type TrackerLimits } from '../shared/limits.js'
import {
  type ClientMessage,
  type ClientMessageOf,
  encodeServerMessage,
  parseClientMessage,
  type ServerMessage,
  type ServerMessageOf,
} from '../shared/tracker-protocol.js'
import { pushNewHolder } from './holder-push.js'
import type { ThrottledLogger } from './log-throttle.js'
import type { Logger } from './logger.js'
import { manifestDigestSync } from './manifest-digest.js'
import { after, type FileRejection, type Maybe, type Registry } from './registry-contract.js'
import { TokenBucket } from './token-bucket.js'
import type { CatalogBudgets } from './tracker.js'

/** Where a signal went: to its target, or why not. */
export type RelayOutcome = 'sent' | 'busy' | 'not-found'

/**
 * A catalog budget shared by every connection of one address: in one process a token bucket, with Redis
 * one bucket for the whole cluster (cluster.ts).
 */
export interface AddressBudget {
  hasCredit(nowMs: number): Maybe<boolean>
  charge(nowMs: number, cost: number): void
}

/** What a connection needs from the tracker that owns it. */
export interface TrackerContext {
  readonly registry: Registry
  readonly limits: TrackerLimits
  readonly logger: Logger
  /** For lines a client can cause in bulk (floods, failures): at most one per message per interval. */
  readonly alerts: ThrottledLogger
  readonly catalogBudgets: CatalogBudgets
  now(): number
  /** Delivers a signal to the connection of `to`, on this instance or (with Redis) another. */
  relaySignal(to: string, message: ServerMessageOf<'signal'>): Maybe<RelayOutcome>
  /** The connection of `peerId` on this instance, if it is here. */
  findLocal(peerId: string): PeerConnection | undefined
  /**
   * Sends an unsolicited `peers` message (a holder push) to peers connected to other instances; nothing
   * without Redis, where every peer is local.
   */
  pushElsewhere(peerIds: readonly string[], message: ServerMessageOf<'peers'>): void
  /** Counts one message for the server's messages/s figure. */
  countMessage(): void
  /** The catalog budget shared by every connection of `address`. */
  catalogBudgetOf(address: string): AddressBudget
  /** The origin tag of an address, stamped on the signals its connections send (origin-tag.ts). */
  originTagOf(address: string): string
  /** Called once, when the connection is gone. */
  onClosed(connection: PeerConnection): void
}

/**
 * Bytes queued to a client beyond which it is not reading: the server stops buffering for it. A manifest
 * (~270 KiB) and a full catalog page (~100 KiB) fit many times over.
 */
const SLOW_CONSUMER_BYTES = 4 * 1024 * 1024
/** Bytes queued to a signal's target beyond which the sender is told to retry instead of queuing more. */
export const BUSY_TARGET_BYTES = 1024 * 1024

/** The type `enqueue` is given for a reply that only keeps its place (`#inOrder`). */
const REPLY = 'reply'

export class PeerConnection {
  /** When the peer last showed it is alive: a message, or a pong. */
  lastHeardMs: number
  /** When the heartbeat pinged it, if it has not been heard from since. */
  pingedAtMs: number | undefined
  /** Wants `catalog-changed` notices, and the revision it last heard of. */
  watching = false
  notifiedRevision = 0
  /** When its ICE servers are due to be minted and sent again; undefined when they never expire. */
  iceServersDueMs: number | undefined
  #destroyed = false
  readonly #messages: TokenBucket
  /** Dropped messages a flooder may send before it is disconnected: same rate and burst as messages. */
  readonly #strikes: TokenBucket
  /** Catalog records this connection may make the server look at (tracker.ts CatalogBudgets). */
  readonly #catalog: TokenBucket
  /**
   * The registry requests of this connection, one at a time in arrival order (registry-contract.ts): the
   * last one still waiting (with Redis), or undefined when none waits. Work that completes at once (every
   * request with the memory registry) never waits here, so one process answers as it always did.
   */
  #tail: Promise<void> | undefined
  #queued = 0
  /** Stamped on every signal this connection sends (origin-tag.ts). */
  readonly #origin: string

  constructor(
    readonly peerId: string,
    readonly address: string,
    /** The host its upgrade request named (checked, at most a DNS name long): its STUN is reached there. */
    readonly host: string | undefined,
    private readonly socket: WebSocket,
    private readonly context: TrackerContext,
  ) {
    this.lastHeardMs = context.now()
    this.pingedAtMs = undefined
    const { messagesPerSecond, messageBurst } = context.limits
    this.#messages = new TokenBucket(messagesPerSecond, messageBurst, context.now())
    this.#strikes = new TokenBucket(messagesPerSecond, messageBurst, context.now())
    const { connectionRecordsPerSecond, connectionBurst } = context.catalogBudgets
    this.#catalog = new TokenBucket(connectionRecordsPerSecond, connectionBurst, context.now())
    this.#origin = context.originTagOf(address)
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary))
    socket.on('pong', () => this.#heard())
    socket.on('close', () => this.destroy())
    // ws emits 'error' for a frame it refuses (too big, not UTF-8) after it has begun closing with the
    // right code (1009, 1007); 'close' follows. Terminating here would cut that close frame and the
    // replies still queued before it.
    socket.on('error', (error) => {
      context.logger.debug('socket error', { peerId, error })
    })
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Whether a request of this connection is still waiting (for Redis). */
  get waiting(): boolean {
    return this.#tail !== undefined
  }

  /** Settles when every request queued so far is done: what the connection did is in the registry. */
  settled(): Promise<void> {
    return this.#tail ?? Promise.resolve()
  }

  /**
   * Runs `work` after the requests queued before it (at once when none waits). A failure becomes a typed
   * error to the client: the code of a SwarmError (CLUSTER_UNAVAILABLE when Redis is down), INTERNAL for
   * anything else.
   */
  enqueue(work: () => Maybe<void>, ref?: string, type = 'request'): void {
    const tail = this.#tail
    if (tail === undefined) {
      const waiting = this.#run(work, ref, type)
      if (waiting) this.#wait(waiting)
      return
    }
    // Registry requests waiting for the one before them (with Redis, each is a round trip): at most a
    // message burst, which a client within its message rate never exceeds; past it, the server is not
    // keeping up with this connection and says so rather than queueing without bound. (Replies that only
    // keep their place, `#inOrder`, are not counted: the message rate bounds them, and they hold nothing.)
    if (type !== REPLY && this.#queued >= this.context.limits.messageBurst) {
      this.sendError('RATE_LIMITED', 'the server is still working on this connection’s earlier requests', ref)
      return
    }
    this.#wait(tail.then(() => this.#run(work, ref, type)))
  }

  #run(work: () => Maybe<void>, ref: string | undefined, type: string): Promise<void> | undefined {
    if (this.#destroyed) return undefined
    try {
      const result = work()
      return result instanceof Promise ? result.catch((error) => this.#failed(error, ref, type)) : undefined
    } catch (error) {
      this.#failed(error, ref, type)
      return undefined
    }
  }

  #wait(waiting: Promise<void>): void {
    this.#queued++
    const tail: Promise<void> = waiting.finally(() => {
      this.#queued--
      if (this.#tail === tail) this.#tail = undefined
    })
    this.#tail = tail
  }

  /**
   * Sends a reply that needs no registry in its place: at once when nothing waits, else after the replies
   * to the messages before it (PROTOCOL.md: replies in the order messages arrived).
   */
  #inOrder(reply: () => Maybe<void>, ref?: string): void {
    if (this.#tail === undefined) {
      const late = reply()
      if (late instanceof Promise) this.#wait(late.catch((error) => this.#failed(error, ref, 'signal')))
      return
    }
    this.enqueue(reply, ref, REPLY)
  }

  #failed(error: unknown, ref: string | undefined, type: string): void {
    if (error instanceof SwarmError) {
      this.sendError(error.code, error.message, ref)
      return
    }
    this.context.alerts.error('handler failed', { peerId: this.peerId, type, error })
    this.sendError('INTERNAL', 'the server failed on this message', ref)
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount
  }

  send(message: ServerMessage): void {
    if (this.#destroyed) return
    if (this.socket.bufferedAmount > SLOW_CONSUMER_BYTES) {
      this.context.alerts.warn('dropping slow consumer', {
        peerId: this.peerId,
        buffered: this.socket.bufferedAmount,
      })
      this.destroy(CLOSE_CODES.SLOW_CONSUMER, 'not reading its messages')
      return
    }
    this.socket.send(encodeServerMessage(message))
  }

  sendError(code: ErrorCode, message: string, ref?: string, digest?: string): void {
    const error: ServerMessage = { type: 'error', code, message }
    if (ref !== undefined) error.ref = ref
    if (digest !== undefined) error.digest = digest
    this.send(error)
  }

  ping(): void {
    if (this.#destroyed) return
    this.pingedAtMs = this.context.now()
    this.socket.ping()
  }

  /** Closes the connection (once) and removes the peer from the swarm. */
  destroy(code?: number, reason?: string): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.socket.removeAllListeners('message')
    if (code === undefined) this.socket.terminate()
    else this.socket.close(code, reason)
    this.context.onClosed(this)
  }

  #heard(): void {
    this.lastHeardMs = this.context.now()
    this.pingedAtMs = undefined
  }

  /** The boundary of every message: nothing a message does may throw into ws and end the process. */
  #onMessage(data: RawData, isBinary: boolean): void {
    try {
      this.#receive(data, isBinary)
    } catch (error) {
      this.context.alerts.error('message handling failed', { peerId: this.peerId, error })
      this.sendError('INTERNAL', 'the server failed on this message')
    }
  }

  #receive(data: RawData, isBinary: boolean): void {
    if (this.#destroyed) return
    this.#heard()
    this.context.countMessage()
    const now = this.context.now()
    if (!this.#messages.take(now)) {
      if (!this.#strikes.take(now)) {
        this.context.alerts.warn('closing flooding connection', {
          peerId: this.peerId,
          address: this.address,
        })
        this.destroy(CLOSE_CODES.POLICY, 'rate limit exceeded')
        return
      }
      const { messagesPerSecond } = this.context.limits
      this.#inOrder(() => this.sendError('RATE_LIMITED', `at most ${messagesPerSecond} messages a second`))
      return
    }
    if (isBinary) {
      this.#inOrder(() => this.sendError('BAD_MESSAGE', 'the tracker speaks JSON text messages only'))
      return
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
    const text = bytes.toString()
    const parsed = parseClientMessage(text)
    if (!parsed.ok) {
      this.context.logger.debug('bad message', { peerId: this.peerId, code: parsed.error.code })
      const { code, message } = parsed.error
      this.#inOrder(() => this.sendError(code, message, parsed.ref))
      return
    }
    const message = parsed.message
    if (message.type === 'signal') {
      // Relayed at once, not after registry requests: a signal needs no registry, and signals keep their
      // order on their own (locally at once; with Redis, in order on the one connection to it). Only the
      // sender's reply keeps its place among the replies.
      this.#relay(message, bytes.length)
      return
    }
    if (message.type === 'bye') {
      this.destroy(CLOSE_CODES.NORMAL, 'bye')
      return
    }
    const ref = 'ref' in message ? message.ref : undefined
    this.enqueue(() => this.#dispatch(message), ref, message.type)
  }

  #dispatch(message: Exclude<ClientMessage, { type: 'signal' | 'bye' }>): Maybe<void> {
    switch (message.type) {
      case 'announce':
        return this.#onAnnounce(message)
      case 'have':
        return this.#onHave(message)
      case 'leave':
        return after(this.context.registry.leave(this.peerId, message.digests), () => this.#ack(message.ref))
      case 'catalog':
        return this.#onCatalog(message)
      case 'peers':
        return this.#onPeers(message)
      case 'put-manifest':
        return this.#onPutManifest(message)
      case 'get-manifest':
        return this.#onGetManifest(message)
      default:
        return assertNever(message)
    }
  }

  #ack(ref: string | undefined): void {
    if (ref !== undefined) this.send({ type: 'ack', ref })
  }

  /** Sends each per-file rejection of a batch, then the batch's ack. */
  #answerBatch(ref: string | undefined, rejections: readonly FileRejection[]): void {
    for (const rejection of rejections) {
      this.sendError(rejection.code, rejection.message, ref, rejection.digest)
    }
    this.#ack(ref)
  }

  #onAnnounce(message: ClientMessageOf<'announce'>): Maybe<void> {
    const { filesPerAnnounce } = this.context.limits
    if (message.files.length > filesPerAnnounce) {
      this.sendError('TOO_MANY_FILES', `at most ${filesPerAnnounce} files in one announce`, message.ref)
      return
    }
    return after(this.context.registry.announce(this.peerId, message.files), (rejections) => {
      this.#answerBatch(message.ref, rejections)
      const rejected = new Set(rejections.map((rejection) => rejection.digest))
      for (const file of message.files) {
        if (!rejected.has(file.digest)) pushNewHolder(this.context, this.peerId, file)
      }
    })
  }

  #onHave(message: ClientMessageOf<'have'>): Maybe<void> {
    const { filesPerAnnounce } = this.context.limits
    if (message.updates.length > filesPerAnnounce) {
      this.sendError('TOO_MANY_FILES', `at most ${filesPerAnnounce} files in one report`, message.ref)
      return
    }
    return after(this.context.registry.reportChunks(this.peerId, message.updates), (rejections) =>
      this.#answerBatch(message.ref, rejections),
    )
  }

  #onCatalog(message: ClientMessageOf<'catalog'>): Maybe<void> {
    const { catalogPageSize } = this.context.limits
    if (message.limit !== undefined && message.limit > catalogPageSize) {
      this.sendError(
        'BAD_MESSAGE',
        `catalog: limit: a page holds at most ${catalogPageSize} files`,
        message.ref,
      )
      return
    }
    const limit = message.limit ?? Math.min(DEFAULT_CATALOG_PAGE_SIZE, catalogPageSize)
    const now = this.context.now()
    const shared = this.context.catalogBudgetOf(this.address)
    const limited = () =>
      this.sendError(
        'CATALOG_LIMITED',
        'catalog requests from this connection or its address used up their budget; try again in a second',
        message.ref,
      )
    if (!this.#catalog.hasCredit(now)) return limited()
    return after(shared.hasCredit(now), (credit) => {
      if (!credit) return limited()
      return after(
        this.context.registry.catalog(message.query, message.offset ?? 0, limit),
        ({ page, touched }) => {
          const charged = this.context.now()
          this.#catalog.charge(charged, touched)
          shared.charge(charged, touched)
          if (message.watch !== undefined) this.watching = message.watch
          this.notifiedRevision = Math.max(this.notifiedRevision, page.revision)
          const reply: ServerMessage = { type: 'catalog', ...page }
          if (message.ref !== undefined) reply.ref = message.ref
          this.send(reply)
        },
      )
    })
  }

  #onPeers(message: ClientMessageOf<'peers'>): Maybe<void> {
    const { registry, limits } = this.context
    return after(registry.peers(message.digest, this.peerId, limits.peersPerReply), (swarm) => {
      if (!swarm) {
        this.sendError('FILE_NOT_FOUND', 'no peer holds this file', message.ref)
        return
      }
      const reply: ServerMessage = { type: 'peers', digest: message.digest, ...swarm }
      if (message.ref !== undefined) reply.ref = message.ref
      this.send(reply)
    })
  }

  #onPutManifest(message: ClientMessageOf<'put-manifest'>): Maybe<void> {
    const { registry } = this.context
    return after(registry.hasFile(message.digest), (held) => {
      if (!held) {
        this.sendError('FILE_NOT_FOUND', 'announce the file before giving its manifest', message.ref)
        return
      }
      if (manifestDigestSync(message.manifest) !== message.digest) {
        this.sendError('MANIFEST_MISMATCH', 'the manifest does not hash to this digest', message.ref)
        return
      }
      return after(registry.putManifest(message.digest, message.manifest), (dropped) => {
        if (dropped.length > 0) {
          this.context.alerts.info('dropped holders that announced a false shape', {
            digest: message.digest,
            dropped,
          })
        }
        this.#ack(message.ref)
      })
    })
  }

  #onGetManifest(message: ClientMessageOf<'get-manifest'>): Maybe<void> {
    return after(this.context.registry.manifest(message.digest), (manifest) => {
      if (!manifest) {
        this.sendError('FILE_NOT_FOUND', 'the server has no manifest for this digest', message.ref)
        return
      }
      const reply: ServerMessage = { type: 'manifest', digest: message.digest, manifest }
      if (message.ref !== undefined) reply.ref = message.ref
      this.send(reply)
    })
  }

  #relay(message: ClientMessageOf<'signal'>, messageBytes: number): void {
    const { maxSignalBytes } = this.context.limits
    const { ref } = message
    if (messageBytes > maxSignalBytes) {
      this.#inOrder(
        () => this.sendError('SIGNAL_TOO_LARGE', `a signal is at most ${maxSignalBytes} bytes`, ref),
        ref,
      )
      return
    }
    if (message.to === this.peerId) {
      this.#inOrder(() => this.sendError('SELF_SIGNAL', 'a peer cannot signal itself', ref), ref)
      return
    }
    const outcome = this.context.relaySignal(message.to, {
      type: 'signal',
      from: this.peerId,
      origin: this.#origin,
      data: message.data,
    })
    // Caught at once (the reply may wait its turn; a rejection must not go unhandled meanwhile).
    const settled: Maybe<RelayOutcome | { failed: unknown }> =
      outcome instanceof Promise ? outcome.catch((failed: unknown) => ({ failed })) : outcome
    this.#inOrder(
      () =>
        after(settled, (result) => {
          if (typeof result !== 'string') throw result.failed
          this.#relayed(result, ref)
        }),
      ref,
    )
  }

  #relayed(outcome: RelayOutcome, ref: string | undefined): void {
    if (outcome === 'not-found') this.sendError('PEER_NOT_FOUND', 'the target peer is not connected', ref)
    else if (outcome === 'busy')
      this.sendError('PEER_BUSY', 'the target peer is not keeping up; try again later', ref)
    else this.#ack(ref)
  }
}
