/** What the harness page (harness.ts) exposes as `window.harness`; only plain data crosses to the test. */

export interface SharedFile {
  digest: string
  name: string
  size: number
  /** The plain SHA-256 the ingest computed in the browser. */
  plainSha256: string
}

export interface HarnessProgress {
  state: 'downloading' | 'paused' | 'complete' | 'error'
  chunksHere: number
  chunkCount: number
  /** Sources the download talks to now. */
  sources: number
  /** Chunks this page stored, by the peer they came from (Download `chunk` events, state `here`). */
  fromPeers: Record<string, number>
  /** Chunk requests this page sent, by peer (Download `chunk` events, state `in-flight`). */
  requestedFrom: Record<string, number>
  /** Peers this page banned (three chunks failing their hash). */
  banned: string[]
  /** Codes of the engine's `problem` events for this file. */
  problems: string[]
}

export interface HarnessUploads {
  /** Chunks served in full (Swarm `uploaded` events). */
  chunks: number
  bytes: number
  byPeer: Record<string, number>
}

export interface HarnessReceived {
  /** Bytes of chunk frames received on every link, summed over every load of this tab. */
  bytes: number
  /** Page loads of this tab (1 before any reload). */
  loads: number
}

export interface HarnessLinks {
  framesIn: number
  sessions: number
  budget: { built: number; budget: number; state: string }
  bans: string[]
}

export interface HarnessApi {
  /** This page's peer id once the tracker has welcomed it; null before. */
  peerId(): string | null
  /** Ingests and shares every file chosen in `input#files`; resolves once each is stored. */
  share(): Promise<SharedFile[]>
  /** Learns the file's name from the catalog, as the app does, and starts downloading it. */
  fetch(digest: string): Promise<void>
  /** The download of `digest` as this page sees it; null when it is not downloading it. */
  progress(digest: string): HarnessProgress | null
  uploads(): HarnessUploads
  received(): HarnessReceived
  /** File names handed to an `a[download]` so far. */
  saved(): string[]
  /** Errors seen (uncaught, failed saves), for failure messages. */
  errors(): string[]
  /** The longest the page's main thread was kept from answering since the last call, in ms. */
  longestLag(): number
  /** The page's links: frames received on every link so far, open sessions, its budget and bans. */
  links(): HarnessLinks
  close(): void
}

/**
 * The page's global as the test sees it. Not declared on `Window`: test/browser's harness claims that name
 * for its own API, and both are type-checked together.
 */
export type HarnessWindow = typeof globalThis & { harness?: HarnessApi }
