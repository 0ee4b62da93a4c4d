/**
 * A way into the network besides the tracker (SPEC §9, issue 13): a CLI peer's `--listen` WebSocket, or a
 * sibling tab of the same origin over BroadcastChannel. Each relays offers and answers (signed end to end,
 * signal-auth.ts: an entry point can drop them but not forge them) to the peers it reaches; the engine
 * links to those peers through it and joins the ring through them, which then signals everything else.
 * The host builds entry points and hands them to `engine.addEntryPoint`.
 */
import type { Signaller } from './peer-link.js'

export type EntryPointKind = 'listen' | 'tab'

export interface EntryPoint {
  /** What the page lists: the listen URL, or "another tab". */
  readonly label: string
  readonly kind: EntryPointKind
  /** Relays signals to and from `peers()`. */
  readonly signaller: Signaller
  /** Peer ids reachable through it now (the CLI peer itself; the sibling tabs). */
  peers(): readonly string[]
  /** Subscribes to changes of `peers()`; returns the unsubscribe function. */
  onPeers(listener: (peers: readonly string[]) => void): () => void
  /** Stops relaying, once. */
  destroy(): void
}

/** An entry point as the engine reports it (for the page's list). */
export interface EntryPointInfo {
  label: string
  kind: EntryPointKind
  peers: readonly string[]
}
