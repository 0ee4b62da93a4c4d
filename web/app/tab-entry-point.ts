/**
 * Sibling tabs as a way into the network (issue 13): tabs of one origin hear each other on a
 * BroadcastChannel (shared/tab-protocol.ts) and relay WebRTC signals over it, so a tab loaded while the
 * server is down links to a sibling directly and joins the ring through it. It is an `EntryPoint`
 * (web/peer/entry-point.ts) that web/main.ts hands to the engine; the engine's link manager signs and checks
 * every offer and answer end to end, as over the tracker, so a tab can drop signals but not forge them.
 *
 * Each tab says `here` when it starts (asking the others to say it too) and every HEARTBEAT_MS after; one
 * not heard for GONE_AFTER_MS is gone (closed without a word, or frozen: a frozen tab runs no timers). A
 * tab leaving says `gone`; so does one about to be frozen (`setAway`), which says `here` again on resume.
 */

import { assertNever } from '../../shared/assert-never.js'
import { encodeTabMessage, parseTabMessage, type TabMessage } from '../../shared/tab-protocol.js'
import { type Clock, systemClock } from '../peer/clock.js'
import type { EntryPoint } from '../peer/entry-point.js'
import type { Signaller } from '../peer/peer-link.js'
import { SignalRelay } from '../peer/signal-relay.js'

/** How often a tab says it is here. */
export const HEARTBEAT_MS = 5_000
/** A sibling not heard for this long is gone: three heartbeats missed. */
export const GONE_AFTER_MS = 3 * HEARTBEAT_MS
/** Siblings kept at most: a tab beyond this is not listed (a profile rarely has more tabs open). */
export const MAX_SIBLINGS = 64

/** The part of a BroadcastChannel used; tests pass Node's own BroadcastChannel. */
export interface ChannelLike {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  close(): void
}

export interface TabEntryPointOptions {
  /** This tab's peer id (its identity's, known before the tracker answers). */
  peerId: string
  channel: ChannelLike
  clock?: Clock
}

export class TabEntryPoint implements EntryPoint {
  readonly label = 'Other tabs of this browser'
  readonly kind = 'tab' as const
  readonly signaller: Signaller
  /** Malformed messages heard (another version of the app, or a bug): counted, never acted on. */
  malformed = 0
  readonly #peerId: string
  readonly #channel: ChannelLike
  readonly #clock: Clock
  /** Sibling peer id → when it was last heard. */
  readonly #siblings = new Map<string, number>()
  readonly #peerListeners = new Set<(peers: readonly string[]) => void>()
  readonly #relay = new SignalRelay((to, data) => this.#send(to, data))
  readonly #onMessage = (event: MessageEvent) => this.#receive(event.data)
  #heartbeat: unknown
  #away = false
  #destroyed = false

  constructor(options: TabEntryPointOptions) {
    this.#peerId = options.peerId
    this.#channel = options.channel
    this.#clock = options.clock ?? systemClock
    this.signaller = this.#relay.signaller
    this.#channel.addEventListener('message', this.#onMessage)
    this.#post({ type: 'here', peerId: this.#peerId, ask: true })
    this.#scheduleHeartbeat()
  }

  /** Sibling tabs heard lately, in the order first heard. */
  peers(): readonly string[] {
    return [...this.#siblings.keys()]
  }

  onPeers(listener: (peers: readonly string[]) => void): () => void {
    this.#peerListeners.add(listener)
    return () => this.#peerListeners.delete(listener)
  }

  /**
   * The tab is about to be frozen (true) or has resumed (false): a frozen tab answers nothing, so the
   * siblings should stop counting on it now rather than after GONE_AFTER_MS.
   */
  setAway(away: boolean): void {
    if (this.#destroyed || away === this.#away) return
    this.#away = away
    if (away) {
      this.#post({ type: 'gone', peerId: this.#peerId })
    } else {
      // Siblings may have come and gone meanwhile: ask again, and forget the ones last heard long ago.
      this.#expire()
      this.#post({ type: 'here', peerId: this.#peerId, ask: true })
    }
  }

  /** Says `gone`, stops listening and relaying; once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#post({ type: 'gone', peerId: this.#peerId })
    this.#destroyed = true
    this.#clock.clearTimeout(this.#heartbeat)
    this.#channel.removeEventListener('message', this.#onMessage)
    this.#channel.close()
    const had = this.#siblings.size > 0
    this.#siblings.clear()
    if (had) this.#tellPeers()
    this.#peerListeners.clear()
    this.#relay.clear()
  }

  #send(to: string, data: Record<string, unknown>): void {
    if (this.#destroyed) return
    if (!this.#siblings.has(to)) {
      // Not a tab here.
      return this.#relay.undeliverable(to, 'PEER_NOT_FOUND', this.#clock)
    }
    this.#post({ type: 'signal', from: this.#peerId, to, data })
  }

  #receive(raw: unknown): void {
    if (this.#destroyed) return
    const parsed = parseTabMessage(raw)
    if (!parsed.ok) {
      this.malformed++
      return
    }
    const message = parsed.message
    switch (message.type) {
      case 'here':
        if (message.peerId === this.#peerId) return // a tab of ours with the same key: not a sibling
        this.#heard(message.peerId)
        if (message.ask && !this.#away) this.#post({ type: 'here', peerId: this.#peerId })
        return
      case 'gone':
        if (this.#siblings.delete(message.peerId)) this.#tellPeers()
        return
      case 'signal':
        if (message.to !== this.#peerId || message.from === this.#peerId) return
        this.#heard(message.from)
        this.#relay.deliver(message.from, message.data)
        return
      default:
        return assertNever(message)
    }
  }

  #heard(peerId: string): void {
    const known = this.#siblings.has(peerId)
    if (!known && this.#siblings.size >= MAX_SIBLINGS) return
    this.#siblings.set(peerId, this.#clock.now())
    if (!known) this.#tellPeers()
  }

  #scheduleHeartbeat(): void {
    this.#heartbeat = this.#clock.setTimeout(() => {
      if (this.#destroyed) return
      if (!this.#away) this.#post({ type: 'here', peerId: this.#peerId })
      this.#expire()
      this.#scheduleHeartbeat()
    }, HEARTBEAT_MS)
  }

  /** Forgets siblings not heard for GONE_AFTER_MS. */
  #expire(): void {
    const now = this.#clock.now()
    let changed = false
    for (const [peerId, heardAt] of this.#siblings) {
      if (now - heardAt < GONE_AFTER_MS) continue
      this.#siblings.delete(peerId)
      changed = true
    }
    if (changed) this.#tellPeers()
  }

  #post(message: TabMessage): void {
    try {
      this.#channel.postMessage(encodeTabMessage(message))
    } catch {
      // The channel is closed (the page is going away): nothing more to say.
    }
  }

  #tellPeers(): void {
    const peers = this.peers()
    for (const listener of this.#peerListeners) listener(peers)
  }
}
