/**
 * The ring on the frame router (SPEC §5, §9): the product's RingTransport. Ring messages are frames of kind
 * RING_FRAME_KIND on the links the tab already has, with the ring's own budget per remote peer
 * (RING_LINK_BUDGET); a link the ring keeps is claimed, so the idle sweep leaves it open; and the ring keeps
 * at most MAX_CLAIMED_RING_LINKS of the tab's 32 links (MAX_LINKS), leaving the rest to file transfers.
 *
 * A thin adapter, as ring-transport.ts intends: the registrar's onFrame / onSession / onSessionClosed become
 * the ring's three calls, `engine.openSession(peerId)` is `dial`, a session's `claim('ring')` is `claim`.
 * Links are shared, so closing one for the ring alone only lets it go: the ring's claim is released and the
 * ring hears the link closed (frames from that peer are dropped until it is dialled or linked again); the
 * idle sweep then closes the link unless a transfer uses it.
 */
import { SwarmError } from '../../../shared/errors.js'
import { RING_FRAME_KIND } from '../../../shared/ring-protocol.js'
import type { LinkProtocol, RouterSession } from '../protocol-registrar.js'
import { RING_LINK_BUDGET } from './ring-options.js'
import type { RingLinkHandler, RingTransport } from './ring-transport.js'

/** Ring links claimed at once: half of the tab's MAX_LINKS (32), as the issue asks; RingOptions.maxRingLinks. */
export const MAX_CLAIMED_RING_LINKS = 16

/** What the adapter needs of the engine: its registrar and its dialler. */
export interface SessionRouter {
  handle(protocol: LinkProtocol): () => void
  openSession(peerId: string): Promise<RouterSession>
}

export class SessionRingTransport implements RingTransport {
  readonly #router: SessionRouter
  readonly #maxClaims: number
  #handler: RingLinkHandler | undefined
  #unregister: (() => void) | undefined
  /** Sessions the ring is told are open (it has had onLinkOpen and no onLinkClose since). */
  readonly #open = new Map<string, RouterSession>()
  /** The ring's claims on links, by peer: each a release function. */
  readonly #claims = new Map<string, () => void>()

  constructor(router: SessionRouter, maxClaims = MAX_CLAIMED_RING_LINKS) {
    this.#router = router
    this.#maxClaims = maxClaims
  }

  attach(handler: RingLinkHandler): () => void {
    if (this.#handler) throw new Error('the ring transport is attached already')
    this.#handler = handler
    // The registrar reports every session already open through onSession, at once.
    this.#unregister = this.#router.handle({
      kind: RING_FRAME_KIND,
      name: 'ring',
      budget: RING_LINK_BUDGET,
      onFrame: (session, payload) => {
        if (this.#open.get(session.peerId) === session) this.#handler?.onFrame(session.peerId, payload)
      },
      onSession: (session) => this.#opened(session),
      onSessionClosed: (peerId) => this.#closed(peerId),
    })
    return () => {
      this.#unregister?.()
      this.#unregister = undefined
      for (const release of this.#claims.values()) release()
      this.#claims.clear()
      this.#open.clear()
      this.#handler = undefined
    }
  }

  send(peerId: string, payload: Uint8Array): void {
    const session = this.#open.get(peerId)
    if (!session || session.destroyed || payload.length + 1 > session.maxFrameBytes) return
    // Fire and forget (ring-transport.ts): the router's budget and the channel's backpressure apply below.
    session.sendFrame(RING_FRAME_KIND, payload).catch(() => {})
  }

  async dial(peerId: string): Promise<void> {
    if (!this.#claims.has(peerId) && this.#claims.size >= this.#maxClaims) {
      throw new SwarmError('RING_FULL', `the ring holds ${this.#claims.size} links, its most`)
    }
    const session = await this.#router.openSession(peerId)
    if (!this.#handler || session.destroyed)
      throw new SwarmError('SESSION_CLOSED', `the link to ${peerId} closed`)
    // Linked, but the peer's hello did not list the ring: it is no way into the ring (and ring frames
    // would close the link). The link stays for whatever else it carries.
    if (!session.speaks(RING_FRAME_KIND))
      throw new SwarmError('UNKNOWN_TYPE', `${peerId} does not speak the ring protocol`)
    // A session that was open before (the ring let it go) is not announced by the registrar again.
    if (this.#open.get(peerId) !== session) this.#opened(session)
    this.claim(peerId)
  }

  claim(peerId: string): void {
    const session = this.#open.get(peerId)
    if (!session || this.#claims.has(peerId) || this.#claims.size >= this.#maxClaims) return
    this.#claims.set(peerId, session.claim('ring'))
  }

  release(peerId: string): void {
    this.#claims.get(peerId)?.()
    this.#claims.delete(peerId)
  }

  close(peerId: string): void {
    this.release(peerId)
    if (this.#open.delete(peerId)) this.#handler?.onLinkClose(peerId)
  }

  /** Ring links claimed now (for the peers view and tests). */
  get claimedCount(): number {
    return this.#claims.size
  }

  #opened(session: RouterSession): void {
    if (!this.#handler || session.destroyed) return
    const before = this.#open.get(session.peerId)
    if (before === session) return
    if (before) this.#closed(session.peerId) // the peer linked again: its old session is gone
    this.#open.set(session.peerId, session)
    this.#handler.onLinkOpen(session.peerId)
  }

  #closed(peerId: string): void {
    this.#claims.delete(peerId) // the session took its claims with it
    if (this.#open.delete(peerId)) this.#handler?.onLinkClose(peerId)
  }
}
