/**
 * The engine: one browser's membership of the swarm. It ties the tracker client, the links, the swarm and
 * local storage together: announces what is here, downloads what the user picks from every peer that has
 * it, resumes unfinished downloads on start, and shares everything it holds. Nothing here touches the DOM
 * or IndexedDB directly: storage, sockets, links, time and saving come in as options (SPEC §9).
 */
import { Bitfield } from '../../shared/bitfield.js'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import type { Manifest } from '../../shared/manifest.js'
import type { CatalogEntry } from '../../shared/tracker-protocol.js'
import type { ChunkStore } from '../storage/chunk-store.js'
import type { FileStore, StoredFile } from '../storage/file-store.js'
import { scanInventory } from '../storage/inventory.js'
import { type Clock, systemClock } from './clock.js'
import { type Download, type DownloadProgress, MAX_SOURCES_PER_FILE } from './download.js'
import { type LinkFactory, LinkManager } from './link-manager.js'
import { type LocalFile, LocalFiles } from './local-files.js'
import type { PeerLink } from './peer-link.js'
import type { PeerSession } from './peer-session.js'
import { Swarm } from './swarm.js'
import { TrackerClient, type TrackerStatus, type WebSocketLike } from './tracker-client.js'
import { TypedEventTarget } from './typed-events.js'

/** How often a download short of sources asks the tracker for more. */
export const SOURCE_REFRESH_MS = 5_000
/**
 * How soon after a source's link closed (failed or dropped mid-transfer) the tracker is asked for sources
 * again, which dials that peer afresh (a new offer/answer through the tracker, SPEC §6). A moment, so that
 * the other end notices the close first; well under SOURCE_REFRESH_MS, so the download hardly pauses.
 */
export const RECONNECT_DELAY_MS = 1_000
/**
 * After a peer proved unreachable, the wait before dialling it again. What made it unreachable (NAT,
 * firewall, no TURN) rarely changes within seconds, and each attempt holds a link slot for up to the 15 s
 * connect timeout: dialling it on every 5 s refresh would only burn slots and signalling.
 */
export const UNREACHABLE_RETRY_MS = 15_000
/**
 * The wait doubles with each further failure up to this, so that a peer whose network changed (or a TURN
 * server set up meanwhile) is tried again within two minutes. No jitter: each tab dials its own peers.
 */
export const UNREACHABLE_RETRY_MAX_MS = 120_000

/** Failures that mean "no path to this peer": they start its retry backoff. */
const UNREACHABLE_CODES: ReadonlySet<ErrorCode> = new Set(['PEER_UNREACHABLE', 'NAT_BLOCKED', 'UDP_BLOCKED'])
/**
 * How much a failure to reach sources tells the user, highest first: a diagnosis they can act on beats a
 * bare "unreachable", which beats anything else. Busy peers and cancelled attempts tell nothing (0).
 */
function informativeness(code: ErrorCode): number {
  switch (code) {
    case 'UDP_BLOCKED': // this side's network: it stands in the way of every peer
      return 4
    case 'NAT_BLOCKED':
      return 3
    case 'PEER_UNREACHABLE':
      return 2
    case 'PEER_BUSY':
    case 'CANCELLED':
      return 0
    default:
      return 1
  }
}

export type EngineEvents = {
  status: TrackerStatus
  /** A file this browser holds was added, changed state or progressed. */
  file: { digest: string; progress: DownloadProgress | undefined }
  /** A download finished: every chunk is here and verified. */
  complete: LocalFile
  /** Something the user should hear about. */
  problem: { digest?: string; error: SwarmError }
}

export interface EngineOptions {
  trackerUrl: string
  createSocket(url: string): WebSocketLike
  chunks: ChunkStore
  files: FileStore
  /** Default SimplePeerLink (the browser's WebRTC); the Node peer passes one built on @roamhq/wrtc. */
  createLink?: LinkFactory
  clock?: Clock
  random?: () => number
  /** Called once per finished download (the browser saves it through a normal download). */
  onComplete?(file: LocalFile): void
}

export class SwarmEngine extends TypedEventTarget<EngineEvents> {
  readonly tracker: TrackerClient
  readonly local: LocalFiles
  readonly swarm: Swarm
  #links: LinkManager | undefined
  readonly #linkListeners = new Set<(link: PeerLink) => void>()
  /** Downloads whose events are relayed already. */
  readonly #watched = new Set<string>()
  /** Fetches being set up (manifest, record), so that a double click does not set one up twice. */
  readonly #fetching = new Map<string, Promise<Download>>()
  /** Per download short of sources, the timer of its next request to the tracker for more, and when it fires. */
  readonly #refreshTimers = new Map<string, { timer: unknown; atMs: number }>()
  /** Per download, the peers added as its sources: when one's session closes, sources are sought again soon. */
  readonly #sourcePeers = new Map<string, Set<string>>()
  /** Dials in progress, one per peer, shared by every download that wants that peer. */
  readonly #dials = new Map<string, Promise<PeerSession>>()
  /** Peers that proved unreachable: how often in a row, and not to be dialled again before `retryAtMs`. */
  readonly #unreachable = new Map<string, { failures: number; retryAtMs: number }>()
  /** Per download without any source, the failure already shown to the user (shown once, until it has one). */
  readonly #reportedFailures = new Map<string, ErrorCode>()
  /** Names and types of files seen in the catalog, for downloads picked from it. */
  readonly #catalogEntries = new Map<string, CatalogEntry>()
  readonly #clock: Clock
  #destroyed = false

  private constructor(
    private readonly options: EngineOptions,
    local: LocalFiles,
  ) {
    super()
    this.#clock = options.clock ?? systemClock
    this.local = local
    this.tracker = new TrackerClient({
      url: options.trackerUrl,
      createSocket: options.createSocket,
      holdings: () => local.holdings(),
      clock: this.#clock,
      ...(options.random ? { random: options.random } : {}),
    })
    this.swarm = new Swarm({
      local,
      clock: this.#clock,
      ...(options.random ? { random: options.random } : {}),
      links: {
        connect: (peerId) => this.#linkManager().connect(peerId),
        on: (_type, listener) => {
          this.#linkListeners.add(listener)
          return () => this.#linkListeners.delete(listener)
        },
      },
    })
    this.tracker.on('status', (status) => this.#onStatus(status))
    // Fresh TURN credentials before the welcome's expire: new links use them, links already open keep theirs.
    this.tracker.on('ice-servers', ({ iceServers }) =>
      this.#links?.setIceServers(iceServers as RTCIceServer[]),
    )
    this.swarm.on('session-closed', ({ peerId }) => this.#onSessionClosed(peerId))
    local.on('chunk-stored', ({ digest, index }) => this.tracker.reportChunk(digest, index))
  }

  /** Scans storage, connects to the tracker, and resumes unfinished downloads. */
  static async open(options: EngineOptions): Promise<SwarmEngine> {
    const inventory = await scanInventory(options.files, options.chunks)
    const engine = new SwarmEngine(options, new LocalFiles(options.chunks, options.files, inventory))
    engine.tracker.start()
    for (const { record, have } of inventory.files) {
      if (!have.complete && record.origin === 'downloaded') void engine.#resume(record.digest)
    }
    return engine
  }

  /** Remembers catalog entries so that a download picked from the catalog keeps the file's name. */
  async catalog(query?: Parameters<TrackerClient['catalog']>[0]) {
    const page = await this.tracker.catalog(query)
    for (const entry of page.files) this.#catalogEntries.set(entry.digest, entry)
    return page
  }

  /** Starts sharing a file whose manifest the ingest has just built, from the dropped File itself. */
  share(record: StoredFile, source?: Blob): void {
    if (source) this.local.addLiveSource(record, source)
    else this.local.add(record, Bitfield.full(record.manifest.hashes.length))
    this.tracker.announce(this.local.holdings().filter((h) => h.digest === record.digest))
    this.tracker.putManifest(record.digest, record.manifest).catch(() => {})
    this.emit('file', { digest: record.digest, progress: undefined })
  }

  /** The ingest has stored every chunk: serve them from storage from now on. */
  stored(record: StoredFile): void {
    this.local.dropLiveSource(record.digest)
  }

  /** Downloads a file by digest from every peer that has it. Asking twice at once gives the same download. */
  fetch(digest: string): Promise<Download> {
    const pending = this.#fetching.get(digest)
    if (pending) return pending
    const fetching = this.#fetch(digest).finally(() => this.#fetching.delete(digest))
    this.#fetching.set(digest, fetching)
    return fetching
  }

  async #fetch(digest: string): Promise<Download> {
    const held = this.local.get(digest)
    if (held?.have.complete) throw new SwarmError('FILE_CONFLICT', 'this file is already here')
    if (!held) {
      const manifest = await this.#manifestOf(digest)
      const entry = this.#catalogEntries.get(digest)
      const record: StoredFile = {
        digest,
        name: entry?.names[0] ?? `${digest.slice(0, 16)}.bin`,
        mime: entry?.mime ?? '',
        manifest,
        origin: 'downloaded',
        addedAtMs: this.#clock.now(),
      }
      await this.options.files.put(record)
      this.local.add(record)
      // Announced at once as a leecher: others learn of us, and each chunk we store is shared from then on.
      this.tracker.announce(this.local.holdings().filter((h) => h.digest === digest))
    }
    return this.#resume(digest)
  }

  pause(digest: string): void {
    this.swarm.getDownload(digest)?.pause()
  }

  /** Stops sharing a file and deletes it from this browser. */
  async remove(digest: string): Promise<void> {
    this.swarm.removeDownload(digest)
    // A later fetch of the same digest makes a new Download, whose events must be relayed again.
    this.#watched.delete(digest)
    this.#forget(digest)
    this.tracker.leave([digest])
    await this.local.remove(digest)
    this.emit('file', { digest, progress: undefined })
  }

  /** Says goodbye to the tracker and closes every link, once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const digest of [...this.#refreshTimers.keys()]) this.#cancelFind(digest)
    this.#sourcePeers.clear()
    this.#reportedFailures.clear()
    this.#unreachable.clear()
    this.swarm.destroy()
    this.#links?.destroy()
    this.tracker.destroy()
  }

  async #resume(digest: string): Promise<Download> {
    const download = this.swarm.download(digest)
    if (download.state === 'complete') return download
    if (!this.#watched.has(digest)) {
      this.#watched.add(digest)
      download.on('progress', (progress) => {
        // It has a source again: a later failure to find sources is news worth showing.
        if (progress.sources > 0) this.#reportedFailures.delete(digest)
        this.emit('file', { digest, progress })
      })
      download.on('complete', (file) => {
        this.#forget(digest)
        this.emit('complete', file)
        this.options.onComplete?.(file)
      })
    }
    download.start()
    await this.#findSources(digest)
    return download
  }

  /**
   * Asks the tracker who holds the file and connects to them; again every few seconds while short. Peers
   * that just proved unreachable wait out their backoff; when none could be reached and the download has no
   * source at all, the user hears why, once.
   */
  async #findSources(digest: string): Promise<void> {
    const download = this.swarm.getDownload(digest)
    if (!download || this.#destroyed) return
    this.#cancelFind(digest)
    if (download.wantsSources && this.tracker.status.state === 'online') {
      try {
        const { peers } = await this.tracker.peers(digest)
        if (this.#destroyed) return
        const now = this.#clock.now()
        const wanted = MAX_SOURCES_PER_FILE - download.sourceIds.length
        const failures: unknown[] = []
        await Promise.all(
          peers
            .filter(
              (p) =>
                !download.hasSource(p.peerId) &&
                !this.swarm.isBanned(p.peerId) &&
                (this.#unreachable.get(p.peerId)?.retryAtMs ?? 0) <= now,
            )
            // Connect only to as many as the download can use: every link counts against the tab's cap.
            .slice(0, Math.max(0, wanted))
            .map((p) =>
              this.#dial(p.peerId).then(
                (session) => this.#addSource(digest, download, session),
                (error: unknown) => void failures.push(error),
              ),
            ),
        )
        this.#reportFailure(digest, download, failures)
      } catch (error) {
        if (error instanceof SwarmError && error.code === 'FILE_NOT_FOUND' && !this.#destroyed) {
          this.emit('problem', {
            digest,
            error: new SwarmError('FILE_NOT_FOUND', 'no peer holds this file now'),
          })
        }
      }
    }
    if (download.state === 'downloading' && this.swarm.getDownload(digest) === download) {
      this.#scheduleFind(digest, SOURCE_REFRESH_MS)
    }
  }

  /** The session with a peer, dialling it if needed; its outcome starts or ends the peer's retry backoff. */
  #dial(peerId: string): Promise<PeerSession> {
    const pending = this.#dials.get(peerId)
    if (pending) return pending
    const dial = this.swarm
      .session(peerId)
      .then(
        (session) => {
          this.#unreachable.delete(peerId)
          return session
        },
        (error: unknown) => {
          if (error instanceof SwarmError && UNREACHABLE_CODES.has(error.code)) this.#noteUnreachable(peerId)
          throw error
        },
      )
      .finally(() => this.#dials.delete(peerId))
    this.#dials.set(peerId, dial)
    return dial
  }

  #noteUnreachable(peerId: string): void {
    if (this.#destroyed) return
    const now = this.#clock.now()
    // Peers not dialled for longer than the longest wait have left the swarm (or are to be tried afresh).
    for (const [id, entry] of this.#unreachable) {
      if (entry.retryAtMs + UNREACHABLE_RETRY_MAX_MS < now) this.#unreachable.delete(id)
    }
    const failures = (this.#unreachable.get(peerId)?.failures ?? 0) + 1
    // 15 s, 30 s, 60 s, 120 s, 120 s… (the exponent is capped so that the product stays finite)
    const waitMs = Math.min(UNREACHABLE_RETRY_MAX_MS, UNREACHABLE_RETRY_MS * 2 ** Math.min(failures - 1, 16))
    this.#unreachable.set(peerId, { failures, retryAtMs: now + waitMs })
  }

  #addSource(digest: string, download: Download, session: PeerSession): void {
    if (this.#destroyed || this.swarm.getDownload(digest) !== download) return
    download.addSource(session)
    if (!download.hasSource(session.peerId)) return
    const peers = this.#sourcePeers.get(digest) ?? new Set()
    peers.add(session.peerId)
    this.#sourcePeers.set(digest, peers)
  }

  /**
   * After a round of dialling: if the download still has no source, shows the most telling failure, once
   * per download until it has had a source again (a more telling one later is shown too).
   */
  #reportFailure(digest: string, download: Download, failures: unknown[]): void {
    if (this.#destroyed || this.swarm.getDownload(digest) !== download) return
    if (download.state !== 'downloading' || download.sourceIds.length > 0) return
    let best: SwarmError | undefined
    for (const failure of failures) {
      if (!(failure instanceof SwarmError) || informativeness(failure.code) === 0) continue
      if (!best || informativeness(failure.code) > informativeness(best.code)) best = failure
    }
    if (!best) return
    const reported = this.#reportedFailures.get(digest)
    if (reported !== undefined && informativeness(reported) >= informativeness(best.code)) return
    this.#reportedFailures.set(digest, best.code)
    this.emit('problem', { digest, error: best })
  }

  /** A session closed: every running download it was a source of seeks sources again, soon. */
  #onSessionClosed(peerId: string): void {
    if (this.#destroyed) return
    for (const [digest, peers] of this.#sourcePeers) {
      if (!peers.delete(peerId)) continue
      if (this.swarm.getDownload(digest)?.state === 'downloading')
        this.#scheduleFind(digest, RECONNECT_DELAY_MS)
    }
  }

  /** Runs #findSources for a download in `delayMs`, unless a run is already due sooner. */
  #scheduleFind(digest: string, delayMs: number): void {
    if (this.#destroyed) return
    const atMs = this.#clock.now() + delayMs
    const due = this.#refreshTimers.get(digest)
    if (due && due.atMs <= atMs) return
    this.#cancelFind(digest)
    const timer = this.#clock.setTimeout(() => {
      this.#refreshTimers.delete(digest)
      void this.#findSources(digest)
    }, delayMs)
    this.#refreshTimers.set(digest, { timer, atMs })
  }

  #cancelFind(digest: string): void {
    const due = this.#refreshTimers.get(digest)
    if (due) this.#clock.clearTimeout(due.timer)
    this.#refreshTimers.delete(digest)
  }

  /** Drops what the engine keeps for a download that completed or was removed. */
  #forget(digest: string): void {
    this.#cancelFind(digest)
    this.#sourcePeers.delete(digest)
    this.#reportedFailures.delete(digest)
  }

  async #manifestOf(digest: string): Promise<Manifest> {
    try {
      return await this.tracker.getManifest(digest)
    } catch {
      const { peers } = await this.tracker.peers(digest)
      return this.swarm.fetchManifest(
        digest,
        peers.map((p) => p.peerId),
      )
    }
  }

  #linkManager(): LinkManager {
    if (!this.#links) throw new SwarmError('PEER_NOT_FOUND', 'not connected to the tracker yet')
    return this.#links
  }

  #onStatus(status: TrackerStatus): void {
    if (status.state === 'online') {
      if (!this.#links) {
        this.#links = new LinkManager({
          peerId: status.peerId,
          signaller: this.tracker,
          iceServers: status.iceServers as RTCIceServer[],
          clock: this.#clock,
          ...(this.options.createLink ? { createLink: this.options.createLink } : {}),
        })
        this.#links.on('link', (link) => {
          for (const listener of this.#linkListeners) listener(link)
        })
      } else {
        // A reconnect gives a new id; links already open stay, new ones use the new id.
        this.#links.setPeerId(status.peerId)
        this.#links.setIceServers(status.iceServers as RTCIceServer[])
      }
    }
    this.emit('status', status)
    if (status.state === 'online') {
      // Sources are asked for at once: downloads resumed at start-up, or cut off by a tracker restart,
      // should not wait for the next refresh.
      for (const { record } of this.local.list()) {
        if (this.swarm.getDownload(record.digest)?.state === 'downloading')
          void this.#findSources(record.digest)
      }
    }
  }
}
