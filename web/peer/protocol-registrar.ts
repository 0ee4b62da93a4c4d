/**
 * The tab's frame router registrar (libp2p's `registrar.handle`): a protocol registers once and runs over
 * every peer session, present and future, beside file transfer. Each binary frame's first byte is its kind
 * (shared/wire-protocol.ts); kinds 0x10–0xff belong to protocols registered here, each with its own budget
 * per remote peer. File transfer's own kinds (control 0x00, chunk 0x01, manifest 0x02) go through the same
 * router in peer-session.ts with theirs (TRANSFER_BUDGETS).
 *
 * The rules, for every kind (docs/PROTOCOL.md, "The frame router"):
 * - nothing but `hello` is accepted before the handshake completes (HELLO_REQUIRED);
 * - a kind no protocol is registered for closes the link (UNKNOWN_TYPE); so each side lists its kinds in its
 *   hello (`protocols`) and a protocol hears only of sessions whose peer listed its kind, and sends on no other;
 * - each frame takes one token from the protocol's bucket for that remote peer; over budget, the link is
 *   closed (RATE_LIMITED);
 * - a link closed for any of these is remembered against the peer (ban-list.ts).
 *
 * A protocol that needs a link kept (the ring keeps at most 16 of the 32) claims it: `session.claim(why)`;
 * the idle sweep then leaves it open until every claim is released.
 */

import type { SwarmError } from '../../shared/errors.js'
import { FIRST_EXTENSION_KIND } from '../../shared/wire-protocol.js'
import type { FrameBudget } from './peer-budgets.js'

export type { FrameBudget }

/** What a protocol sees of one peer session. */
export interface RouterSession {
  /** The remote peer's id (its tracker peer id today). */
  readonly peerId: string
  readonly destroyed: boolean
  /**
   * Sends one frame of `kind` (0x10–0xff) with `payload`. Resolves once the link's buffer is below its
   * high-water mark again, as every send (backpressure): await each send. Rejects when the session is
   * closed, or the frame is larger than the link carries (`maxFrameBytes`, the kind byte included).
   */
  sendFrame(kind: number, payload: Uint8Array): Promise<void>
  /** Largest frame the link carries, the kind byte included. */
  readonly maxFrameBytes: number
  /** Whether the peer's hello listed `kind` (it handles that protocol): only then are its frames sent. */
  speaks(kind: number): boolean
  /** Keeps the link from the idle sweep until the returned release is called (idempotent). */
  claim(reason: string): () => void
  /**
   * Tells the peer why and closes the link: for a frame the protocol finds malformed (BAD_MESSAGE) or the
   * like. Counts as abuse by the peer (ban-list.ts).
   */
  fail(error: SwarmError): void
  /** Closes the link without blaming the peer (it is not abuse): every protocol on it loses it. */
  destroy(error?: Error): void
}

export interface LinkProtocol {
  /** The frame kind byte this protocol owns: 0x10–0xff. */
  kind: number
  /** For logs and the peers view, e.g. 'ring'. */
  name: string
  /** Frames of this kind each remote peer may send: a rate and a burst. */
  budget: FrameBudget
  /** One frame of this kind from a peer that has said hello; `payload` is the frame without its kind byte. */
  onFrame(session: RouterSession, payload: Uint8Array): void
  /** A session completed its hello (or was ready when the protocol registered). */
  onSession?(session: RouterSession): void
  /** A session this protocol was told of closed. */
  onSessionClosed?(peerId: string): void
}

/** The sessions the registrar tells protocols about: the swarm's. */
export interface SessionSource {
  /** Sessions whose hello is complete. */
  readySessions(): readonly RouterSession[]
}

export class ProtocolRegistrar {
  readonly #protocols = new Map<number, LinkProtocol>()
  #sessions: SessionSource = { readySessions: () => [] }

  /**
   * Registers `protocol` on every session, present and future; returns its unregistration (after which its
   * kind is unknown again: frames of it close the link). Throws a RangeError for a kind outside 0x10–0xff, a
   * kind already taken, or a budget that is not positive.
   */
  handle(protocol: LinkProtocol): () => void {
    const { kind, budget } = protocol
    if (!Number.isInteger(kind) || kind < FIRST_EXTENSION_KIND || kind > 0xff) {
      throw new RangeError(`frame kind ${kind} is not in 0x10–0xff`)
    }
    if (this.#protocols.has(kind)) {
      throw new RangeError(`frame kind ${kind} is taken by ${this.#protocols.get(kind)!.name}`)
    }
    if (!(budget.framesPerSecond > 0) || !(budget.burst >= 1)) {
      throw new RangeError(`${protocol.name}: a budget needs framesPerSecond > 0 and burst ≥ 1`)
    }
    this.#protocols.set(kind, protocol)
    for (const session of this.#sessions.readySessions())
      if (session.speaks(kind)) guarded(() => protocol.onSession?.(session))
    return () => {
      if (this.#protocols.get(kind) === protocol) this.#protocols.delete(kind)
    }
  }

  /** The protocol registered for `kind`, if any. */
  get(kind: number): LinkProtocol | undefined {
    return this.#protocols.get(kind)
  }

  /** Registered protocols, for the peers view. */
  get protocols(): readonly LinkProtocol[] {
    return [...this.#protocols.values()]
  }

  /** The swarm tells the registrar where the sessions are (once, when it is built). */
  attach(sessions: SessionSource): void {
    this.#sessions = sessions
  }

  /** The extension kinds registered, for this peer's hello (`protocols`). */
  get kinds(): number[] {
    return [...this.#protocols.keys()].sort((a, b) => a - b)
  }

  /** A session completed its hello: every protocol whose kind the peer listed hears of it. */
  sessionReady(session: RouterSession): void {
    for (const protocol of [...this.#protocols.values()])
      if (session.speaks(protocol.kind)) guarded(() => protocol.onSession?.(session))
  }

  /** A session that was ready closed. */
  sessionClosed(peerId: string): void {
    for (const protocol of [...this.#protocols.values()]) guarded(() => protocol.onSessionClosed?.(peerId))
  }
}

/**
 * Runs a protocol's handler so that its exception cannot stop the others or the caller: it is rethrown
 * in a microtask, where the platform reports it as uncaught (the console, `unhandledrejection` hooks).
 */
export function guarded(handler: () => void): void {
  try {
    handler()
  } catch (error) {
    queueMicrotask(() => {
      throw error
    })
  }
}
