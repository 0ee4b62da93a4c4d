/**
 * Finding sources for downloads: asks the tracker who holds a file, dials those peers (one dial per peer,
 * shared by every download that wants it), backs off from peers that proved unreachable, asks again every
 * few seconds while a download is short of sources and soon after a source's session closed, and tells the
 * user once per download why no source could be reached. The tracker, the swarm and time come in through
 * narrow interfaces, so that all of this is tested with fakes and a fake clock.
 */
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import type { Clock } from './clock.js'
import { type Download, MAX_SOURCES_PER_FILE } from './download.js'
import type { PeerSession } from './peer-session.js'
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
 * bare "unreachable", which beats anything else. Busy peers and cancelled attempts tell nothing (0), and
 * the tab's link budget is the engine's to report.
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
    // The engine tells the user once for the whole tab, not once per download.
    case 'LINK_BUDGET_LOW':
    case 'LINK_BUDGET_SPENT':
      return 0
    default:
      return 1
  }
}

/** The part of the tracker client the finder uses: who holds a file, and whether it can be asked now. */
export interface PeerDirectory {
  isOnline(): boolean
  /** Rejects with FILE_NOT_FOUND when nobody holds the file. */
  peers(digest: string): Promise<{ peers: readonly { peerId: string }[] }>
}

/** What the finder reads of a download and does to it. */
export type SourcedDownload = Pick<
  Download,
  'state' | 'wantsSources' | 'sourceIds' | 'hasSource' | 'addSource'
>

/** The part of the swarm the finder uses. */
export interface SourceSwarm {
  /** The session with a peer, connecting if there is none (for a download: it may use the link reserve). */
  session(peerId: string, options?: { forDownload?: boolean }): Promise<PeerSession>
  getDownload(digest: string): SourcedDownload | undefined
  isBanned(peerId: string): boolean
}

export interface SourceFinderOptions {
  tracker: PeerDirectory
  swarm: SourceSwarm
  clock: Clock
}

export type SourceFinderEvents = {
  /** Why a download has no source: something the user should hear about, once. */
  problem: { digest: string; error: SwarmError }
}

export class SourceFinder extends TypedEventTarget<SourceFinderEvents> {
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
  /**
   * Peers this page has had a session with. Failing to reach one of them again is an outage of a path that
   * worked, not the NAT types of both sides: it is not diagnosed as NAT_BLOCKED.
   */
  readonly #reached = new Set<string>()
  #destroyed = false

  constructor(private readonly options: SourceFinderOptions) {
    super()
  }

  /**
   * Asks the tracker who holds the file and connects to them; again every few seconds while short. Peers
   * that just proved unreachable wait out their backoff; when none could be reached and the download has no
   * source at all, the user hears why, once.
   */
  async find(digest: string): Promise<void> {
    const { swarm, tracker } = this.options
    const download = swarm.getDownload(digest)
    if (!download || this.#destroyed) return
    this.#cancel(digest)
    if (download.wantsSources && tracker.isOnline()) {
      try {
        const { peers } = await tracker.peers(digest)
        if (this.#destroyed) return
        const failures = await this.#connect(
          digest,
          download,
          peers.map((p) => p.peerId),
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
    if (download.state === 'downloading' && swarm.getDownload(digest) === download) {
      this.schedule(digest, SOURCE_REFRESH_MS)
    }
  }

  /**
   * The tracker pushed new holders of a file (signal/holder-push.ts): a running download that can use more
   * sources dials them now, instead of at its next refresh.
   */
  offer(digest: string, peerIds: readonly string[]): void {
    const download = this.options.swarm.getDownload(digest)
    if (!download || this.#destroyed || !download.wantsSources) return
    void this.#connect(digest, download, peerIds)
  }

  /** Dials those of `peerIds` the download can use and adds them as sources; resolves with the failures. */
  async #connect(digest: string, download: SourcedDownload, peerIds: readonly string[]): Promise<unknown[]> {
    const { swarm, clock } = this.options
    const now = clock.now()
    const wanted = MAX_SOURCES_PER_FILE - download.sourceIds.length
    const failures: unknown[] = []
    await Promise.all(
      peerIds
        .filter(
          (peerId) =>
            !download.hasSource(peerId) &&
            !swarm.isBanned(peerId) &&
            (this.#unreachable.get(peerId)?.retryAtMs ?? 0) <= now,
        )
        // Connect only to as many as the download can use: every link counts against the tab's cap.
        .slice(0, Math.max(0, wanted))
        .map((peerId) =>
          this.#dial(peerId).then(
            (session) => this.#addSource(digest, download, session),
            (error: unknown) => void failures.push(error),
          ),
        ),
    )
    return failures
  }

  /** Runs `find` for a download in `delayMs`, unless a run is already due sooner. */
  schedule(digest: string, delayMs: number): void {
    if (this.#destroyed) return
    const { clock } = this.options
    const atMs = clock.now() + delayMs
    const due = this.#refreshTimers.get(digest)
    if (due && due.atMs <= atMs) return
    this.#cancel(digest)
    const timer = clock.setTimeout(() => {
      this.#refreshTimers.delete(digest)
      void this.find(digest)
    }, delayMs)
    this.#refreshTimers.set(digest, { timer, atMs })
  }

  /**
   * A session with a peer opened, whichever side dialled: the peer is reachable, so its backoff ends (a
   * download that wants it must not wait out a backoff beside a working session).
   */
  onSession(peerId: string): void {
    if (this.#destroyed) return
    this.#reached.add(peerId)
    this.#unreachable.delete(peerId)
  }

  /** The download has a source again: a later failure to find sources is news worth showing. */
  noteSourced(digest: string): void {
    this.#reportedFailures.delete(digest)
  }

  /** A session closed: every running download it was a source of seeks sources again, soon. */
  onSessionClosed(peerId: string): void {
    if (this.#destroyed) return
    for (const [digest, peers] of this.#sourcePeers) {
      if (!peers.delete(peerId)) continue
      if (this.options.swarm.getDownload(digest)?.state === 'downloading')
        this.schedule(digest, RECONNECT_DELAY_MS)
    }
  }

  /** Drops what is kept for a download that completed or was removed. */
  forget(digest: string): void {
    this.#cancel(digest)
    this.#sourcePeers.delete(digest)
    this.#reportedFailures.delete(digest)
  }

  /** Cancels every scheduled search and forgets every peer's backoff, once; nothing is dialled or emitted after. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const digest of [...this.#refreshTimers.keys()]) this.#cancel(digest)
    this.#sourcePeers.clear()
    this.#reportedFailures.clear()
    this.#unreachable.clear()
    this.#reached.clear()
  }

  /** The session with a peer, dialling it if needed; its outcome starts or ends the peer's retry backoff. */
  #dial(peerId: string): Promise<PeerSession> {
    const pending = this.#dials.get(peerId)
    if (pending) return pending
    const dial = this.options.swarm
      .session(peerId, { forDownload: true })
      .then(
        (session) => {
          this.onSession(peerId)
          return session
        },
        (error: unknown) => {
          if (error instanceof SwarmError && UNREACHABLE_CODES.has(error.code)) this.#noteUnreachable(peerId)
          if (error instanceof SwarmError && error.code === 'NAT_BLOCKED' && this.#reached.has(peerId)) {
            throw new SwarmError('PEER_UNREACHABLE', `${peerId} was reached before, its path is down now`, {
              cause: error,
            })
          }
          throw error
        },
      )
      .finally(() => this.#dials.delete(peerId))
    this.#dials.set(peerId, dial)
    return dial
  }

  #noteUnreachable(peerId: string): void {
    if (this.#destroyed) return
    const now = this.options.clock.now()
    // Peers not dialled for longer than the longest wait have left the swarm (or are to be tried afresh).
    for (const [id, entry] of this.#unreachable) {
      if (entry.retryAtMs + UNREACHABLE_RETRY_MAX_MS < now) this.#unreachable.delete(id)
    }
    const failures = (this.#unreachable.get(peerId)?.failures ?? 0) + 1
    // 15 s, 30 s, 60 s, 120 s, 120 s… (the exponent is capped so that the product stays finite)
    const waitMs = Math.min(UNREACHABLE_RETRY_MAX_MS, UNREACHABLE_RETRY_MS * 2 ** Math.min(failures - 1, 16))
    this.#unreachable.set(peerId, { failures, retryAtMs: now + waitMs })
  }

  #addSource(digest: string, download: SourcedDownload, session: PeerSession): void {
    if (this.#destroyed || this.options.swarm.getDownload(digest) !== download) return
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
  #reportFailure(digest: string, download: SourcedDownload, failures: unknown[]): void {
    if (this.#destroyed || this.options.swarm.getDownload(digest) !== download) return
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

  #cancel(digest: string): void {
    const due = this.#refreshTimers.get(digest)
    if (due) this.options.clock.clearTimeout(due.timer)
    this.#refreshTimers.delete(digest)
  }
}
