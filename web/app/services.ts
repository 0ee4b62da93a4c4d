/**
 * The app's services: what the components see of web/peer and web/storage, built once by web/main.ts and
 * handed down through @lit/context (context.ts). It holds the little state that belongs to neither the
 * engine nor storage (files being hashed, downloads asked for but not started, the problems to show) and
 * the user's actions (share, download, pause, resume, remove, save, copy). Components never call the
 * engine themselves: they emit events, and the app shell calls these.
 *
 * Everything it takes is an interface narrower than the real classes, so that component tests run it with
 * a fake engine and no tracker.
 */
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { chunkLength, DIGEST_PATTERN } from '../../shared/manifest.js'
import type { CatalogEntry, ServerMessageOf } from '../../shared/tracker-protocol.js'
import type { Ban } from '../peer/ban-list.js'
import type { DownloadEvents, DownloadProgress, DownloadState } from '../peer/download.js'
import type { EngineEvents } from '../peer/engine.js'
import type { LinkBudget } from '../peer/link-manager.js'
import type { LocalFile, LocalFilesEvents } from '../peer/local-files.js'
import type { ConnectionType } from '../peer/peer-link.js'
import { type PeerRow, peerRows } from '../peer/peer-rows.js'
import type { SwarmEvents } from '../peer/swarm.js'
import type { CatalogQuery, TrackerClientEvents, TrackerStatus } from '../peer/tracker-client.js'
import { TypedEventTarget } from '../peer/typed-events.js'
import type { StoredFile } from '../storage/file-store.js'
import type { IngestCallbacks, IngestJob } from '../storage/ingester.js'
import { measureRoom, type Room, type StorageEstimator } from '../storage/quota.js'
import { errorCodeOf, messageFor } from './error-messages.js'
import { PeerRates } from './peer-rates.js'
import { insecureContextError, type PageEnvironment } from './secure-context.js'

// ---------------------------------------------------------------- what the app needs of the engine

type On<Events extends Record<string, unknown>> = TypedEventTarget<Events>['on']

export interface TrackerLike {
  readonly status: TrackerStatus
  on: On<TrackerClientEvents>
  peers(digest: string): Promise<ServerMessageOf<'peers'>>
}

export interface DownloadLike {
  readonly digest: string
  readonly state: DownloadState
  progress(): DownloadProgress
  on: On<DownloadEvents>
}

export interface SessionLike {
  readonly peerId: string
  readonly destroyed: boolean
  readonly link: { connectionType(): Promise<ConnectionType> }
}

export interface SwarmLike {
  readonly sessions: readonly SessionLike[]
  getDownload(digest: string): DownloadLike | undefined
  on: On<SwarmEvents>
}

export interface LocalLike {
  list(): LocalFile[]
  get(digest: string): LocalFile | undefined
  bytesHere(digest: string): number
  on: On<LocalFilesEvents>
}

/** The part of SwarmEngine the app uses (SwarmEngine satisfies it; tests pass a fake). */
export interface EngineLike {
  readonly tracker: TrackerLike
  readonly swarm: SwarmLike
  readonly local: LocalLike
  /** RTCPeerConnections this tab has built, of how many it may. */
  readonly linkBudget: LinkBudget
  /** Peers (or addresses) refused for abuse now, latest first. */
  readonly activeBans: readonly Ban[]
  on: On<EngineEvents>
  catalog(query?: CatalogQuery): Promise<ServerMessageOf<'catalog'>>
  share(record: StoredFile, source?: Blob): void
  stored(record: StoredFile): void
  fetch(digest: string): Promise<unknown>
  pause(digest: string): void
  remove(digest: string): Promise<void>
}

export interface IngesterLike {
  ingest(file: File, callbacks?: IngestCallbacks): IngestJob
}

export interface AppServicesOptions {
  engine: EngineLike
  ingester: IngesterLike
  /** `navigator.storage`; undefined where the browser has none. */
  storage?: StorageEstimator | undefined
  /** Saves a complete file through a normal browser download (save.ts). */
  saveFile(record: StoredFile): Promise<void>
  /** Streams a complete file to a place the user picks (File System Access API), where the browser can. */
  saveFileTo?: ((record: StoredFile) => Promise<void>) | undefined
  /** `navigator.clipboard`; undefined outside secure contexts. */
  clipboard?: { writeText(text: string): Promise<void> } | undefined
  /** The page's address without its fragment: links to a file are this plus `#<digest>`. */
  pageUrl: string
  /**
   * Where the page runs; default `globalThis`. Outside a secure context, or without `crypto.subtle`, nothing
   * can be hashed: the services say so (INSECURE_CONTEXT) as soon as they are built, and refuse to share,
   * download or resume with that code.
   */
  environment?: PageEnvironment | undefined
  now?: () => number
}

// ---------------------------------------------------------------- the app's own state

export type SharePhase = 'waiting' | 'hashing' | 'storing' | 'failed'

/** A dropped file on its way to being shared. */
export interface ShareJob {
  readonly id: number
  readonly name: string
  readonly size: number
  phase: SharePhase
  bytesDone: number
  bytesTotal: number
  /** Known once hashing is done: from then on the file is seeded while its chunks are stored. */
  digest?: string
  error?: unknown
}

/** A download asked for whose file is not held yet (waiting for the tracker or the manifest), or failed. */
export interface DownloadRequest {
  readonly digest: string
  state: 'queued' | 'error'
  name?: string
  error?: unknown
}

/** Something the user should hear about. */
export interface Problem {
  readonly id: number
  code: ErrorCode | undefined
  /** The sentence shown (from error-messages.ts, or a specific one for failures without a code). */
  message: string
  /** Developer-facing detail, shown on request. May hold peer-supplied text: render it as text only. */
  detail: string
  digest?: string
  /** How many times it happened since it was first shown. */
  count: number
}

/** One peer of a file as the peers view shows it (web/peer/peer-rows.ts, shared with the terminal). */
export type { PeerRow } from '../peer/peer-rows.js'

/** A peer or an address refused for abuse, as the peers view shows it. */
export interface BanRow {
  /** `peer:<id>` or `address:<ip>`: what the ban is kept under. */
  key: string
  /** The peer id or the address alone. */
  who: string
  kind: 'peer' | 'address'
  reason: ErrorCode
  /** Milliseconds until it ends; Infinity for the rest of this visit. */
  remainingMs: number
  strikes: number
}

/** The health of this tab's links, for the peers view. */
export interface LinkHealth {
  budget: LinkBudget
  bans: BanRow[]
}

export type AppEvents = {
  /** The list of files being hashed or stored changed. */
  jobs: undefined
  /** A download was asked for, started or failed before its file was held. */
  requests: undefined
  problems: undefined
  /** A chunk of a download changed state (for chunk maps). */
  chunk: DownloadEvents['chunk'] & { digest: string }
  /** A link from another page asks to download a file, or that question was answered or filled in. */
  'link-request': undefined
}

/**
 * A `#<digest>` link that came from outside the page (another site, a pasted address), waiting for the
 * user: nothing is fetched, saved or seeded until they choose Download.
 */
export interface LinkRequest {
  readonly digest: string
  /** The file's name and size, once the tracker's catalog has them (a file nobody holds has neither). */
  name?: string
  size?: number
  /** Whether the catalog is still being asked (the tracker may be connecting). */
  readonly lookingUp: boolean
}

/** Problems about reaching a file's sources: they end when its download has a source again. */
const SOURCE_PROBLEM_CODES: ReadonlySet<ErrorCode> = new Set([
  'FILE_NOT_FOUND',
  'PEER_UNREACHABLE',
  'NAT_BLOCKED',
  'UDP_BLOCKED',
])
/** How many problems are kept; older ones drop off. */
const MAX_PROBLEMS = 20

export class AppServices extends TypedEventTarget<AppEvents> {
  readonly engine: EngineLike
  readonly rates: PeerRates
  readonly #options: AppServicesOptions
  readonly #jobs = new Map<number, ShareJob & { cancel(): void }>()
  readonly #requests = new Map<string, DownloadRequest>()
  #linkRequest: LinkRequest | undefined
  #problems: Problem[] = []
  #nextId = 1
  /** Downloads whose chunk events are relayed already. */
  readonly #watched = new WeakSet<DownloadLike>()
  /** The last error code each download reported, so that one failure is reported once. */
  readonly #downloadErrors = new Map<string, ErrorCode | undefined>()
  readonly #now: () => number
  /** Why this page cannot hash, when it cannot. */
  readonly #insecure: SwarmError | undefined

  constructor(options: AppServicesOptions) {
    super()
    this.#options = options
    this.engine = options.engine
    this.#now = options.now ?? Date.now
    this.rates = new PeerRates(this.#now)
    const { engine } = this
    engine.on('file', ({ digest, progress }) => this.#onFile(digest, progress))
    engine.on('problem', ({ digest, error }) => this.report(error, digest === undefined ? {} : { digest }))
    engine.tracker.on('error', (error) => {
      const detail = error.digest ? { digest: error.digest } : {}
      this.report(new SwarmError(error.code, error.message), detail)
    })
    // Other bans are shown in the peers view; bad chunks are worth a word where the user is looking.
    engine.swarm.on('ban', ({ peerId, reason }) => {
      if (reason === 'CHUNK_CORRUPT') {
        this.report(new SwarmError('CHUNK_CORRUPT', `peer ${peerId} sent bad chunks three times: dropped`))
      }
    })
    engine.swarm.on('uploaded', ({ peerId, bytes }) => this.rates.add(peerId, 'up', bytes))
    for (const file of engine.local.list()) this.#watch(file.record.digest)
    this.#insecure = insecureContextError(options.environment ?? globalThis)
    if (this.#insecure) this.report(this.#insecure)
  }

  get jobs(): readonly ShareJob[] {
    return [...this.#jobs.values()]
  }

  /** The link from elsewhere waiting for the user's answer, if any. */
  get linkRequest(): LinkRequest | undefined {
    return this.#linkRequest
  }

  get requests(): readonly DownloadRequest[] {
    return [...this.#requests.values()]
  }

  get problems(): readonly Problem[] {
    return this.#problems
  }

  /** Whether the browser offers a "save to…" (File System Access API). */
  get canSaveTo(): boolean {
    return this.#options.saveFileTo !== undefined
  }

  /** The link that opens this page and downloads the file. */
  linkFor(digest: string): string {
    return `${this.#options.pageUrl}#${digest}`
  }

  /** The storage this origin has: used and available. */
  room(): Promise<Room | undefined> {
    return measureRoom(this.#options.storage).catch(() => undefined)
  }

  // ---------------------------------------------------------------- sharing

  /** Hashes, seeds and stores each file (SPEC §2). Files go to the ingest worker one after another. */
  share(files: Iterable<File>): void {
    if (this.#refuseInsecure()) return
    for (const file of files) this.#shareOne(file)
  }

  #shareOne(file: File): void {
    const id = this.#nextId++
    const job: ShareJob & { cancel(): void } = {
      id,
      name: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name,
      size: file.size,
      phase: 'waiting',
      bytesDone: 0,
      bytesTotal: file.size,
      cancel: () => {},
    }
    this.#jobs.set(id, job)
    const running = this.#options.ingester.ingest(file, {
      onProgress: ({ phase, bytesDone, bytesTotal }) => {
        Object.assign(job, { phase, bytesDone, bytesTotal })
        this.emit('jobs', undefined)
      },
      onManifest: (record) => {
        job.digest = record.digest
        job.phase = 'storing'
        job.bytesDone = 0
        this.engine.share(record, file)
        this.#watch(record.digest)
        this.emit('jobs', undefined)
      },
    })
    job.cancel = running.cancel
    this.emit('jobs', undefined)
    running.result.then(
      ({ record }) => {
        this.engine.stored(record)
        this.#jobs.delete(id)
        this.emit('jobs', undefined)
      },
      (error: unknown) => {
        if (!this.#jobs.has(id)) return // dismissed or cancelled by the user
        if (errorCodeOf(error) === 'CANCELLED') {
          this.#jobs.delete(id)
        } else if (job.digest) {
          // Hashed and seeded from the dropped file, but storing failed: the file is still shared from
          // the dropped file for this visit; say what went wrong.
          this.#jobs.delete(id)
          this.report(error, { digest: job.digest })
        } else {
          job.phase = 'failed'
          job.error = error
          this.report(error)
        }
        this.emit('jobs', undefined)
      },
    )
  }

  /** Stops hashing or storing a dropped file (what it stored is deleted), or forgets a failed one. */
  cancelJob(id: number): void {
    const job = this.#jobs.get(id)
    if (!job) return
    this.#jobs.delete(id)
    job.cancel()
    this.emit('jobs', undefined)
  }

  // ---------------------------------------------------------------- downloading

  /**
   * Downloads a file by digest (the catalog's digest control, a `#<digest>` link). Waits for the tracker
   * when it is not connected yet. A file that is here in full is saved again instead.
   */
  async download(digestText: string): Promise<void> {
    const digest = this.#downloadable(digestText)
    if (digest === undefined) return
    const held = this.engine.local.get(digest)
    if (held?.have.complete) return this.save(digest)
    if (this.#requests.get(digest)?.state === 'queued') return
    if (held && this.engine.swarm.getDownload(digest)?.state === 'downloading') return
    const request: DownloadRequest = { digest, state: 'queued' }
    this.#requests.set(digest, request)
    this.emit('requests', undefined)
    try {
      await this.#online()
      if (this.#requests.get(digest) !== request) return // removed meanwhile
      if (!held) {
        // The catalog entry gives the download its name; the search finds a digest by its prefix.
        const page = await this.engine.catalog({ query: digest, limit: 1 }).catch(() => undefined)
        const entry: CatalogEntry | undefined = page?.files.find((f) => f.digest === digest)
        if (entry?.names[0]) request.name = entry.names[0]
      }
      await this.engine.fetch(digest)
      this.#watch(digest)
      if (this.#requests.get(digest) === request) this.#requests.delete(digest)
    } catch (error) {
      if (this.#requests.get(digest) !== request) return
      request.state = 'error'
      request.error = error
      this.report(error, { digest })
    }
    this.emit('requests', undefined)
  }

  /**
   * A `#<digest>` link opened from another page: asks first. The question shows at once; the file's name
   * and size follow when the catalog has them. A later link replaces an unanswered one.
   */
  async askToDownload(digestText: string): Promise<void> {
    const digest = this.#downloadable(digestText)
    if (digest === undefined) return
    const request: LinkRequest = { digest, lookingUp: true }
    this.#linkRequest = request
    this.emit('link-request', undefined)
    await this.#online()
    const page = await this.engine.catalog({ query: digest, limit: 1 }).catch(() => undefined)
    if (this.#linkRequest !== request) return // answered meanwhile
    const entry = page?.files.find((f) => f.digest === digest)
    // A new object, so that whatever renders it sees that it changed.
    const found: LinkRequest = { digest, lookingUp: false }
    if (entry?.names[0]) found.name = entry.names[0]
    if (entry) found.size = entry.size
    this.#linkRequest = found
    this.emit('link-request', undefined)
  }

  /**
   * The digest in `digestText`, normalised, if this page can download at all and it is one; otherwise
   * says why (INSECURE_CONTEXT, or FILE_NOT_FOUND for text that is no digest) and returns undefined.
   */
  #downloadable(digestText: string): string | undefined {
    if (this.#refuseInsecure()) return undefined
    const digest = digestText.trim().toLowerCase()
    if (DIGEST_PATTERN.test(digest)) return digest
    this.report(new SwarmError('INVALID_DIGEST', `not a digest: ${digestText.slice(0, 80)}`))
    return undefined
  }

  /** The user chose Download for the link waiting: it starts like any download. */
  confirmLinkRequest(): void {
    const request = this.#linkRequest
    if (!request) return
    this.#linkRequest = undefined
    this.emit('link-request', undefined)
    void this.download(request.digest)
  }

  /** The user chose Cancel: nothing is fetched. */
  dismissLinkRequest(): void {
    if (!this.#linkRequest) return
    this.#linkRequest = undefined
    this.emit('link-request', undefined)
  }

  pause(digest: string): void {
    this.engine.pause(digest)
  }

  /** Starts a paused or failed download again, from the chunks already stored. */
  resume(digest: string): void {
    if (this.#refuseInsecure()) return
    if (!this.engine.local.get(digest)) {
      void this.download(digest)
      return
    }
    this.#downloadErrors.delete(digest)
    this.engine.fetch(digest).then(
      () => this.#watch(digest),
      (error: unknown) => this.report(error, { digest }),
    )
  }

  /** Stops sharing or downloading a file and deletes it from this browser. */
  async remove(digest: string): Promise<void> {
    for (const job of this.#jobs.values()) {
      if (job.digest === digest) {
        this.#jobs.delete(job.id)
        job.cancel()
        this.emit('jobs', undefined)
      }
    }
    if (this.#requests.delete(digest)) this.emit('requests', undefined)
    this.#downloadErrors.delete(digest)
    if (!this.engine.local.get(digest)) return
    try {
      await this.engine.remove(digest)
    } catch (error) {
      this.report(error, { digest })
    }
  }

  // ---------------------------------------------------------------- saving

  /** Saves a complete file through a normal browser download. */
  async save(digest: string): Promise<void> {
    const file = this.engine.local.get(digest)
    if (!file?.have.complete) {
      this.report(new SwarmError('NOT_HELD', 'the file is not here in full'), { digest })
      return
    }
    try {
      await this.#options.saveFile(file.record)
    } catch (error) {
      this.report(error, { digest })
    }
  }

  /** A finished download: saved at once (SPEC §2). Called by the engine's onComplete. */
  saveCompleted(file: LocalFile): void {
    this.#options
      .saveFile(file.record)
      .catch((error: unknown) => this.report(error, { digest: file.record.digest }))
  }

  /** Streams a complete file to a place the user picks. A cancelled picker is not a problem. */
  async saveTo(digest: string): Promise<void> {
    const file = this.engine.local.get(digest)
    const saveFileTo = this.#options.saveFileTo
    if (!file?.have.complete || !saveFileTo) return this.save(digest)
    try {
      await saveFileTo(file.record)
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return
      this.report(error, { digest })
    }
  }

  /** Copies text (a digest or a link) to the clipboard. Resolves false when the browser refused. */
  async copy(text: string): Promise<boolean> {
    try {
      if (!this.#options.clipboard) throw new Error('no clipboard in this context')
      await this.#options.clipboard.writeText(text)
      return true
    } catch (error) {
      this.report(error, {
        message: 'The browser did not allow copying to the clipboard. Select the text and copy it by hand.',
      })
      return false
    }
  }

  // ---------------------------------------------------------------- peers of a file

  /** The peers holding a file, as the tracker gives them, with how this browser reaches each. */
  peersOf(digest: string): Promise<PeerRow[]> {
    return peerRows(
      { tracker: this.engine.tracker, sessions: this.engine.swarm.sessions, rates: this.rates },
      digest,
    )
  }

  /** How many connections this tab has used of its lifetime budget, and who is refused for abuse. */
  linkHealth(): LinkHealth {
    const now = this.#now()
    return {
      budget: this.engine.linkBudget,
      bans: this.engine.activeBans.map((ban) => {
        const separator = ban.key.indexOf(':')
        return {
          key: ban.key,
          who: ban.key.slice(separator + 1),
          kind: ban.key.startsWith('address:') ? 'address' : 'peer',
          reason: ban.reason,
          remainingMs:
            ban.untilMs === Number.POSITIVE_INFINITY ? ban.untilMs : Math.max(0, ban.untilMs - now),
          strikes: ban.strikes,
        }
      }),
    }
  }

  // ---------------------------------------------------------------- problems

  /** Shows a problem to the user; the same code for the same file again only counts up. */
  report(error: unknown, options: { digest?: string; message?: string } = {}): void {
    const code = errorCodeOf(error)
    const message = options.message ?? messageFor(error)
    const detail = error instanceof Error ? error.message : String(error)
    const same = this.#problems.find(
      (p) => p.code === code && p.digest === options.digest && p.message === message,
    )
    if (same) {
      same.count++
      same.detail = detail
      this.#problems = [same, ...this.#problems.filter((p) => p !== same)]
    } else {
      const problem: Problem = { id: this.#nextId++, code, message, detail, count: 1 }
      if (options.digest) problem.digest = options.digest
      this.#problems = [problem, ...this.#problems].slice(0, MAX_PROBLEMS)
    }
    this.emit('problems', undefined)
  }

  /** Takes back the problems of a file with these codes, once the situation they describe is over. */
  #withdraw(digest: string, codes: ReadonlySet<ErrorCode>): void {
    const kept = this.#problems.filter(
      (p) => p.digest !== digest || p.code === undefined || !codes.has(p.code),
    )
    if (kept.length === this.#problems.length) return
    this.#problems = kept
    this.emit('problems', undefined)
  }

  dismissProblem(id: number): void {
    this.#problems = this.#problems.filter((p) => p.id !== id)
    this.emit('problems', undefined)
  }

  // ---------------------------------------------------------------- internals

  /**
   * Says INSECURE_CONTEXT again (one problem, counted up) and returns true when the page cannot hash:
   * sharing and downloading stop here instead of failing deep inside with an unexpected TypeError.
   */
  #refuseInsecure(): boolean {
    if (!this.#insecure) return false
    this.report(this.#insecure)
    return true
  }

  /** Resolves once the tracker is online (at once if it is). */
  #online(): Promise<void> {
    const tracker = this.engine.tracker
    if (tracker.status.state === 'online') return Promise.resolve()
    return new Promise((resolve) => {
      const off = tracker.on('status', (status) => {
        if (status.state !== 'online') return
        off()
        resolve()
      })
    })
  }

  #onFile(digest: string, progress: DownloadProgress | undefined): void {
    this.#watch(digest)
    // The download reaches a source again: what was said about not reaching any is no longer true.
    if (progress && progress.sources > 0) this.#withdraw(digest, SOURCE_PROBLEM_CODES)
    const code = progress?.state === 'error' ? progress.error?.code : undefined
    if (code !== this.#downloadErrors.get(digest)) {
      this.#downloadErrors.set(digest, code)
      if (code) this.report(progress?.error, { digest })
    }
  }

  /** Relays the chunk events of a file's download, once per download. */
  #watch(digest: string): void {
    const download = this.engine.swarm.getDownload(digest)
    if (!download || this.#watched.has(download)) return
    this.#watched.add(download)
    download.on('chunk', (event) => {
      if (event.state === 'here' && event.peerId) {
        const manifest = this.engine.local.get(digest)?.record.manifest
        if (manifest) this.rates.add(event.peerId, 'down', chunkLength(manifest, event.index))
      }
      this.emit('chunk', { ...event, digest })
    })
  }
}
