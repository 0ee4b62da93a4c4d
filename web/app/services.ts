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
import { type Collection, parseCollection } from '../../shared/collection.js'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { chunkLength, DIGEST_PATTERN } from '../../shared/manifest.js'
import {
  keyFromPassword,
  type SealedHeader,
  type ShareSecret,
  toBase64Url,
} from '../../shared/private-share.js'
import type { CatalogEntry, ServerMessageOf } from '../../shared/tracker-protocol.js'
import type { Ban } from '../peer/ban-list.js'
import type { NameHit, ProviderHit } from '../peer/content-routing.js'
import type { DownloadEvents, DownloadProgress, DownloadState } from '../peer/download.js'
import type { EngineEvents, FetchHints } from '../peer/engine.js'
import type { EntryPointInfo } from '../peer/entry-point.js'
import type { LinkBudget } from '../peer/link-manager.js'
import type { LiveSource, LocalFile, LocalFilesEvents } from '../peer/local-files.js'
import type { ConnectionType } from '../peer/peer-link.js'
import { PeerRates } from '../peer/peer-rates.js'
import { type PeerRow, peerRows } from '../peer/peer-rows.js'
import type { MembershipInput } from '../peer/ring/membership-policy.js'
import type { RingStatus } from '../peer/ring/ring-status.js'
import type { SwarmEvents } from '../peer/swarm.js'
import type { CatalogQuery, TrackerClientEvents, TrackerStatus } from '../peer/tracker-client.js'
import { TypedEventTarget } from '../peer/typed-events.js'
import type { StoredFile } from '../storage/file-store.js'
import type { IngestCallbacks, IngestJob } from '../storage/ingester.js'
import { measureRoom, type Room, type StorageEstimator } from '../storage/quota.js'
import type { ShareOptions } from '../storage/worker-messages.js'
import { CollectionBook, isCollection } from './collections.js'
import { errorCodeOf, messageFor } from './error-messages.js'
import { FileTraffic } from './file-traffic.js'
import type { FileLink, LinkSource } from './hash-link.js'
import type { ZipEntry } from './save-zip.js'
import { insecureContextError, type PageEnvironment } from './secure-context.js'
import { fragmentOf } from './share-link.js'
import { Sharing } from './sharing.js'

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
  /** The catalog entry of a file `catalog` has returned to this page, if any. */
  catalogEntry(digest: string): CatalogEntry | undefined
  share(record: StoredFile, source?: LiveSource): void
  stored(record: StoredFile): void
  fetch(digest: string, hints?: FetchHints): Promise<unknown>
  pause(digest: string): void
  stopSharing(digest: string): Promise<void>
  shareAgain(digest: string): Promise<void>
  updateRecord(record: StoredFile): Promise<void>
  remove(digest: string): Promise<void>
  /** This peer's place in the ring now (the Network panel); changes come as the `ring` event. */
  ringStatus(): RingStatus
  /** Ways in besides the tracker (sibling tabs, CLI `--listen` peers); changes come as `entry-points`. */
  entryPoints(): EntryPointInfo[]
  /** Peers holding a file: the tracker's (when online) and the ring's, merged, each saying where it came from. */
  findProviders(digest: string): Promise<ProviderHit[]>
  /** Shared files whose names hold every word of `query`: the tracker's and the ring's, merged. */
  search(query: string): Promise<NameHit[]>
  /** The page's circumstances for ring membership changed (or the user's "Help the network now"). */
  setMembershipInput(input: MembershipInput): void
}

export interface IngesterLike {
  ingest(file: Blob, callbacks?: IngestCallbacks, share?: ShareOptions & { name?: string }): IngestJob
}

/** Reading stored files for what the services show and save beyond a single download. */
export interface FileAccess {
  /** The name and type sealed in a private share's first chunk (WRONG_KEY when it does not open). */
  sealedHeader(record: StoredFile): Promise<SealedHeader>
  /** A small file's whole content, opened if sealed (a collection's list of files). */
  bytes(record: StoredFile): Promise<Uint8Array>
  /** Saves a collection's files as one streamed `.zip` through an ordinary download. */
  saveZip(name: string, entries: readonly ZipEntry[]): Promise<void>
  /** Writes a collection's files into a folder the user picks; undefined where the browser cannot. */
  saveToFolder?: ((name: string, entries: readonly ZipEntry[]) => Promise<void>) | undefined
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
  /** Stored files beyond a single download: private names, collections, zips. */
  files?: FileAccess | undefined
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

/** How files are shared (the drop zone's choices). */
export interface ShareHow {
  /** Private: not listed, sealed with a fresh key; the link carries it (default: public). */
  private?: boolean
  /** With `private`: the link carries a salt instead, and the key is derived from this password. */
  password?: string
  /** Several files as one collection (a folder always is one). */
  collection?: boolean
}

/** A dropped file on its way to being shared. */
export interface ShareJob {
  readonly id: number
  readonly name: string
  readonly size: number
  /** The collection it is shared in, when it is. */
  readonly group?: string
  phase: SharePhase
  bytesDone: number
  bytesTotal: number
  /** Known once hashing is done: from then on the file is seeded while its chunks are stored. */
  digest?: string
  error?: unknown
}

/**
 * A download asked for whose file is not held yet: queued (waiting for the tracker or the manifest),
 * waiting (nobody online has it: asked again every few seconds, and started as soon as someone does), or
 * failed.
 */
export interface DownloadRequest {
  readonly digest: string
  state: 'queued' | 'waiting' | 'error'
  name?: string
  error?: unknown
}

/** A short message at the bottom of the page; some can be undone for a while. */
export interface Toast {
  readonly id: number
  readonly text: string
  readonly undo?: () => void
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
  toasts: undefined
  /** Collections known here changed (one read, one's files complete). */
  collections: undefined
  /** Something finished that a screen reader should hear (a polite live region shows `text`). */
  announce: { text: string }
  /** A file this browser shares was uploaded to someone. */
  uploaded: { digest: string }
  /** A download was asked for, started or failed before its file was held. */
  requests: undefined
  problems: undefined
  /** A chunk of a download changed state (for chunk maps). */
  chunk: DownloadEvents['chunk'] & { digest: string }
  /** A link asks to download a file, or that question was answered, filled in or failed. */
  'link-request': undefined
}

/**
 * A link waiting for the user's answer (hash-link.ts): a public `#<digest>` or a private link that came
 * from outside the page (another site, a pasted address), or a password link (its password is needed).
 * Nothing is fetched, saved or seeded until they choose Download. Each change is a new object, so that
 * whatever renders it sees that it changed.
 */
export interface LinkRequest {
  readonly digest: string
  /** A private link's secret: its key, or the salt a password link derives its key with. */
  readonly secret?: ShareSecret
  /** The file's name and size, once the tracker's catalog has them (a file nobody holds has neither; a private one is never listed). */
  readonly name?: string
  readonly size?: number
  /** Whether the catalog is still being asked (the tracker may be connecting). */
  readonly lookingUp: boolean
  /** `ask` until Download; `opening` while a password's key is derived; `error` when it could not start. */
  readonly state: 'ask' | 'opening' | 'error'
  readonly error?: unknown
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
/** How long Remove and Stop sharing can be undone. */
export const UNDO_MS = 10_000
/** How often a link nobody has yet is asked about again (one small `peers` request). */
export const WAIT_POLL_MS = 3_000
/** How often, at most, the tracker is asked who else holds a file being uploaded. */
const SEEDERS_REFRESH_MS = 5_000
/** The name a private share has here until its sealed header is opened. */
export const PRIVATE_PLACEHOLDER = 'Private file'

/** Other browsers holding a file of ours, as the tracker last said (for the leave warning). */
interface OtherHolders {
  seeders: number
  downloading: number
  atMs: number
}
/** Before the tracker has answered: someone is downloading (bytes are going out) and nobody else seeds. */
const UNKNOWN_HOLDERS: OtherHolders = { seeders: 0, downloading: 1, atMs: 0 }

export class AppServices extends TypedEventTarget<AppEvents> {
  readonly engine: EngineLike
  readonly rates: PeerRates
  /** Uploads per file: the sharer's rate and downloaders. */
  readonly traffic: FileTraffic
  readonly collections = new CollectionBook()
  readonly #options: AppServicesOptions
  readonly #sharing: Sharing
  readonly #requests = new Map<string, DownloadRequest>()
  #linkRequest: LinkRequest | undefined
  #problems: Problem[] = []
  #toasts: Toast[] = []
  #nextId = 1
  /** Downloads whose chunk events are relayed already. */
  readonly #watched = new WeakSet<DownloadLike>()
  /** The last error code each download reported, so that one failure is reported once. */
  readonly #downloadErrors = new Map<string, ErrorCode | undefined>()
  /** Private shares whose key turned out wrong: they stay, shown as such, and are never saved. */
  readonly #wrongKey = new Set<string>()
  /** Collections whose "Download all" is waiting for their files. */
  readonly #wantAll = new Set<string>()
  /** Members of a collection the user asked to download one by one: saved when done, as any file. */
  readonly #wantSaved = new Set<string>()
  /** Files saved to Downloads in this visit (the row says so). */
  readonly #saved = new Set<string>()
  /** Files removed but not deleted yet, while their Undo lasts. */
  readonly #removing = new Map<string, ReturnType<typeof setTimeout>>()
  /** Private files whose sealed header is being read (so it is read once, and waited for by all). */
  readonly #naming = new Map<string, Promise<StoredFile | undefined>>()
  #waitTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * For files of ours being uploaded, as the tracker last said: how many other browsers hold them whole, how
   * many hold only part (still downloading), and when it was asked. Leaving the page warns only while this
   * browser is the only source of someone's unfinished download.
   */
  readonly #otherHolders = new Map<string, OtherHolders>()
  readonly #now: () => number
  /** Why this page cannot hash, when it cannot. */
  readonly #insecure: SwarmError | undefined

  constructor(options: AppServicesOptions) {
    super()
    this.#options = options
    this.engine = options.engine
    this.#now = options.now ?? Date.now
    this.rates = new PeerRates(this.#now)
    this.traffic = new FileTraffic(this.#now)
    const { engine } = this
    this.#sharing = new Sharing(engine, options.ingester)
    this.#sharing.on('jobs', () => this.emit('jobs', undefined))
    this.#sharing.on('problem', ({ error, digest }) => this.report(error, digest ? { digest } : {}))
    this.#sharing.on('shared', ({ record }) => this.#onShared(record))
    engine.on('file', ({ digest, progress }) => this.#onFile(digest, progress))
    engine.on('problem', ({ digest, error }) => this.report(error, digest === undefined ? {} : { digest }))
    engine.tracker.on('error', (error) => {
      const detail = error.digest ? { digest: error.digest } : {}
      this.report(new SwarmError(error.code, error.message), detail)
    })
    engine.tracker.on('catalog-changed', () => {
      this.#pollWaiting()
      for (const digest of this.traffic.serving()) void this.#countOtherHolders(digest)
    })
    // Other bans are shown in the peers view; bad chunks are worth a word where the user is looking.
    engine.swarm.on('ban', ({ peerId, reason }) => {
      if (reason === 'CHUNK_CORRUPT') {
        this.report(new SwarmError('CHUNK_CORRUPT', `peer ${peerId} sent bad chunks three times: dropped`))
      }
    })
    engine.swarm.on('uploaded', ({ peerId, digest, bytes }) => {
      this.rates.add(peerId, 'up', bytes)
      this.traffic.add(digest, peerId, bytes)
      const known = this.#otherHolders.get(digest)
      const held = this.engine.local.get(digest) !== undefined
      if (held && (!known || this.#now() - known.atMs > SEEDERS_REFRESH_MS))
        void this.#countOtherHolders(digest)
      this.emit('uploaded', { digest })
    })
    engine.local.on('chunk-stored', ({ digest, index }) => {
      if (index === 0) void this.#learnName(digest)
    })
    for (const file of engine.local.list()) {
      this.#watch(file.record.digest)
      if (file.have.complete && isCollection(file.record)) void this.#readCollection(file.record)
      if (file.have.has(0)) void this.#learnName(file.record.digest)
    }
    this.#insecure = insecureContextError(options.environment ?? globalThis)
    if (this.#insecure) this.report(this.#insecure)
  }

  get jobs(): readonly ShareJob[] {
    return this.#sharing.jobs
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

  get toasts(): readonly Toast[] {
    return this.#toasts
  }

  /** Whether the browser offers a "save to…" (File System Access API). */
  get canSaveTo(): boolean {
    return this.#options.saveFileTo !== undefined
  }

  /** Whether the browser can write a collection into a folder the user picks. */
  get canSaveToFolder(): boolean {
    return this.#options.files?.saveToFolder !== undefined
  }

  /**
   * The link that opens this page on a file: `#<digest>`, or for a private share `#<digest>.<key>` (the
   * salt instead of the key for a password link). Undefined for a private share held without its key.
   */
  linkFor(digest: string): string | undefined {
    const record = this.engine.local.get(digest)?.record
    const fragment = record ? fragmentOf(record) : digest
    return fragment === undefined ? undefined : `${this.#options.pageUrl}#${fragment}`
  }

  /** A file removed by the user whose Undo still lasts: hidden, and deleted when the Undo ends. */
  isRemoving(digest: string): boolean {
    return this.#removing.has(digest)
  }

  /** Whether a file was saved to Downloads in this visit. */
  wasSaved(digest: string): boolean {
    return this.#saved.has(digest)
  }

  /** A private share held here whose key did not open it. */
  hasWrongKey(digest: string): boolean {
    return this.#wrongKey.has(digest)
  }

  /** Whether "Download all" of a collection is waiting for its files. */
  wantsAll(digest: string): boolean {
    return this.#wantAll.has(digest)
  }

  /** The storage this origin has: used and available. */
  room(): Promise<Room | undefined> {
    return measureRoom(this.#options.storage).catch(() => undefined)
  }

  /**
   * Why leaving the page now would hurt, or undefined: a file still being prepared (its chunks are not all
   * stored, so it cannot be shared after the page closes), or a file being uploaded right now (within the
   * last 2 s, to a browser still connected) that, as the tracker last said, no other browser holds whole
   * while some browser is still downloading it: this one is the only source of an unfinished download. A
   * downloader that left is no reason to keep the page (its link is gone at once), nor one that finished
   * (the tracker's next answer, asked on every catalog change, says so).
   */
  leaveWarning(): 'preparing' | 'serving' | undefined {
    if (this.#sharing.preparing) return 'preparing'
    const connected = new Set(
      this.engine.swarm.sessions.filter((session) => !session.destroyed).map((session) => session.peerId),
    )
    const onlySource = this.traffic.serving().some((digest) => {
      const others = this.#otherHolders.get(digest) ?? UNKNOWN_HOLDERS
      if (this.traffic.rate(digest) === 0 || others.seeders > 0 || others.downloading === 0) return false
      for (const peerId of this.traffic.downloadersOf(digest)) if (connected.has(peerId)) return true
      return false
    })
    return onlySource ? 'serving' : undefined
  }

  /** Asks the tracker which other browsers hold a file, whole or in part (for the leave warning). */
  async #countOtherHolders(digest: string): Promise<void> {
    const known = this.#otherHolders.get(digest) ?? UNKNOWN_HOLDERS
    this.#otherHolders.set(digest, { ...known, atMs: this.#now() })
    try {
      const reply = await this.engine.tracker.peers(digest)
      const seeders = reply.peers.filter((peer) => peer.have === 'all').length
      const downloading = reply.peers.length - seeders
      this.#otherHolders.set(digest, { seeders, downloading, atMs: this.#now() })
    } catch {
      // Offline, or nobody else holds it: the counts stay as they were.
    }
  }

  // ---------------------------------------------------------------- sharing

  /** Hashes, seeds and stores files (SPEC §2): public by default; private, or as one collection, on request. */
  share(files: Iterable<File>, how: ShareHow = {}): void {
    if (this.#refuseInsecure()) return
    const list = [...files]
    if (list.length === 0) return
    this.#sharing.share(list, how).then(
      (records) => {
        if (how.private && records.length === 1) {
          const link = this.linkFor(records[0]!.digest)
          if (link) this.toast(`Private link ready for ${records[0]!.name}`)
        }
      },
      (error: unknown) => this.report(error),
    )
  }

  /** Stops hashing or storing a dropped file (what it stored is deleted), or forgets a failed one. */
  cancelJob(id: number): void {
    this.#sharing.cancel(id)
  }

  // ---------------------------------------------------------------- downloading

  /**
   * Downloads a file by digest (the catalog's Download, a `#<digest>` link). Waits for the tracker when it
   * is not connected yet, and for a holder when nobody has the file yet. A file here in full is saved again.
   */
  async download(digestText: string, hints: FetchHints = {}): Promise<void> {
    const digest = this.#downloadable(digestText)
    if (digest === undefined) return
    const held = this.engine.local.get(digest)
    const heldKey = held?.record.sealed?.key
    if (
      held &&
      hints.sealed?.key &&
      (!heldKey || (this.#wrongKey.has(digest) && heldKey !== hints.sealed.key))
    ) {
      // A private share held without its key, or with one that did not open it (a mistyped password),
      // now opened with a link that has another: the one kept is never replaced while it opens the file.
      this.#wrongKey.delete(digest)
      await this.engine.updateRecord({ ...held.record, sealed: hints.sealed })
      if (held.have.complete) return this.#finish(digest)
    }
    if (held?.have.complete) return isCollection(held.record) ? this.downloadAll(digest) : this.save(digest)
    const pending = this.#requests.get(digest)
    if (pending && pending.state !== 'error') return
    if (held && this.engine.swarm.getDownload(digest)?.state === 'downloading') return
    const request: DownloadRequest = { digest, state: 'queued' }
    if (hints.name) request.name = hints.name
    this.#requests.set(digest, request)
    this.emit('requests', undefined)
    await this.#start(request, held ? {} : hints)
  }

  async #start(request: DownloadRequest, hints: FetchHints): Promise<void> {
    const { digest } = request
    try {
      await this.#online()
      if (this.#requests.get(digest) !== request) return // removed meanwhile
      const found = this.engine.local.get(digest) ? hints : await this.#hintsFor(request, hints)
      if (this.#requests.get(digest) !== request) return
      await this.engine.fetch(digest, found)
      this.#watch(digest)
      if (this.#requests.get(digest) === request) this.#requests.delete(digest)
    } catch (error) {
      if (this.#requests.get(digest) !== request) return
      if (errorCodeOf(error) === 'FILE_NOT_FOUND') {
        // Nobody has it (yet): wait for a holder, and start by itself when one comes.
        request.state = 'waiting'
        this.#scheduleWait()
      } else {
        request.state = 'error'
        request.error = error
        this.report(error, { digest })
      }
    }
    this.emit('requests', undefined)
  }

  /**
   * What a new download starts with: the catalog's name (and collection info), or, for a file that is
   * not listed, whether its holders say it is a private share. FILE_NOT_FOUND when nobody holds it.
   */
  async #hintsFor(request: DownloadRequest, hints: FetchHints): Promise<FetchHints> {
    const { digest } = request
    if (hints.sealed) return hints
    // A digest clicked in the catalog: the page has its entry already, and a listed file is never a private
    // share. Asking the tracker again would hold the first chunk back by a round trip or two (issue 16).
    const known = this.engine.catalogEntry(digest)
    if (known?.names[0]) return this.#hintsOfEntry(request, known, hints)
    // The tracker is down and the ring answered: the engine names the file from the ring's name index.
    if (this.engine.tracker.status.state !== 'online') return hints
    // A link: the catalog and the holders are asked at once, not one after the other.
    const holders = this.engine.tracker.peers(digest).then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    )
    const page = await this.engine.catalog({ query: digest, limit: 1 }).catch(() => undefined)
    const entry: CatalogEntry | undefined = page?.files.find((f) => f.digest === digest)
    if (entry?.names[0]) return this.#hintsOfEntry(request, entry, hints)
    const answer = await holders
    if ('error' in answer) throw answer.error
    const peers = answer.reply
    if (!peers.sealed) return { listed: false, ...hints }
    request.name = PRIVATE_PLACEHOLDER
    return { ...hints, name: PRIVATE_PLACEHOLDER, sealed: {}, listed: false }
  }

  #hintsOfEntry(request: DownloadRequest, entry: CatalogEntry, hints: FetchHints): FetchHints {
    request.name = entry.names[0]
    return entry.collection ? { ...hints, collection: entry.collection } : hints
  }

  /** Asks again, every few seconds and on each catalog change, for links nobody had. */
  #scheduleWait(): void {
    if (this.#waitTimer !== undefined) return
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = undefined
      this.#pollWaiting()
    }, WAIT_POLL_MS)
  }

  #pollWaiting(): void {
    const waiting = [...this.#requests.values()].filter((r) => r.state === 'waiting')
    if (waiting.length === 0) return
    for (const request of waiting) {
      request.state = 'queued'
      void this.#start(request, {})
    }
  }

  /**
   * A link opened in the page (hash-link.ts). One the user clicked on the page itself starts at once, like
   * activating a digest in the catalog; one from elsewhere asks first (`askToDownload`), and so does a
   * password link wherever it came from, since its password is needed.
   */
  openLink(link: FileLink, from: LinkSource): void {
    if (from === 'page' && link.secret?.kind !== 'password') {
      void this.#startLink(link).catch((error: unknown) => this.report(error, { digest: link.digest }))
      return
    }
    void this.askToDownload(link)
  }

  /**
   * Asks before downloading what a link names. The question shows at once; for a public link the file's
   * name and size follow when the catalog has them (a private share is never listed: its name is sealed
   * inside it). A later link replaces an unanswered one.
   */
  async askToDownload(link: FileLink | string): Promise<void> {
    const digest = this.#downloadable(typeof link === 'string' ? link : link.digest)
    if (digest === undefined) return
    const secret = typeof link === 'string' ? undefined : link.secret
    const base = secret ? { digest, secret } : { digest }
    const request: LinkRequest = { ...base, lookingUp: !secret, state: 'ask' }
    this.#setLinkRequest(request)
    if (secret) return
    await this.#online()
    const page = await this.engine.catalog({ query: digest, limit: 1 }).catch(() => undefined)
    if (this.#linkRequest !== request) return // answered meanwhile
    const entry = page?.files.find((f) => f.digest === digest)
    const name = entry?.names[0]
    this.#setLinkRequest({
      ...base,
      ...(name === undefined ? {} : { name }),
      ...(entry ? { size: entry.size } : {}),
      lookingUp: false,
      state: 'ask',
    })
  }

  #setLinkRequest(request: LinkRequest | undefined): void {
    this.#linkRequest = request
    this.emit('link-request', undefined)
  }

  /**
   * The digest in `digestText`, normalised, if this page can download at all and it is one; otherwise
   * says why (INSECURE_CONTEXT, or INVALID_DIGEST for text that is no digest) and returns undefined.
   */
  #downloadable(digestText: string): string | undefined {
    if (this.#refuseInsecure()) return undefined
    const digest = digestText.trim().toLowerCase()
    if (DIGEST_PATTERN.test(digest)) return digest
    this.report(new SwarmError('INVALID_DIGEST', `not a digest: ${digestText.slice(0, 80)}`))
    return undefined
  }

  /**
   * The user chose Download for the link waiting: it starts like any download, with the private link's
   * key (or the key its password gives). Without a password where one is asked, the question stays and
   * says so.
   */
  async confirmLinkRequest(password?: string): Promise<void> {
    const request = this.#linkRequest
    if (!request || request.state === 'opening') return
    const { error: _previous, ...asked } = request
    const opening: LinkRequest = { ...asked, state: 'opening' }
    this.#setLinkRequest(opening)
    try {
      const hints = await this.#hintsOfLink(request, password)
      if (this.#linkRequest !== opening) return // cancelled while the key was derived
      this.#setLinkRequest(undefined)
      await this.download(request.digest, hints)
    } catch (error) {
      if (this.#linkRequest === opening) this.#setLinkRequest({ ...asked, state: 'error', error })
    }
  }

  /** The user chose Cancel: nothing is fetched. */
  dismissLinkRequest(): void {
    if (this.#linkRequest) this.#setLinkRequest(undefined)
  }

  /** Downloads what a link names, at once (a link the user clicked on the page). */
  async #startLink(link: FileLink): Promise<void> {
    await this.download(link.digest, await this.#hintsOfLink(link))
  }

  /**
   * What a download from a link starts with: nothing for a public link; for a private one its key (from
   * the link, or derived from the password with the link's salt), unlisted, named later from its seal.
   */
  async #hintsOfLink(link: FileLink, password?: string): Promise<FetchHints> {
    const secret = link.secret
    if (!secret) return {}
    let sealed: FetchHints['sealed']
    if (secret.kind === 'key') sealed = { key: toBase64Url(secret.key) }
    else {
      if (!password) throw new SwarmError('WRONG_KEY', 'this link asks for a password')
      const key = await keyFromPassword(password, secret.salt)
      sealed = { key: toBase64Url(key), salt: toBase64Url(secret.salt) }
    }
    return { name: PRIVATE_PLACEHOLDER, sealed, listed: false }
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

  // ---------------------------------------------------------------- collections

  /**
   * "Download all": fetches the collection file if it is not here, then every member, and saves them as
   * one streamed zip once all are here.
   */
  async downloadAll(digest: string, hints: FetchHints = {}): Promise<void> {
    this.#wantAll.add(digest)
    this.emit('collections', undefined)
    const held = this.engine.local.get(digest)
    if (!held?.have.complete) return this.download(digest, hints)
    const collection = this.collections.get(digest) ?? (await this.#readCollection(held.record))
    if (collection) await this.#fetchMembers(digest, collection)
  }

  /** Downloads one member of a collection, saved when done like any file. */
  async downloadMember(collectionDigest: string, memberDigest: string): Promise<void> {
    const member = this.collections.get(collectionDigest)?.files.find((m) => m.digest === memberDigest)
    if (!member) return
    this.#wantSaved.add(memberDigest)
    await this.download(memberDigest, this.#memberHints(member))
  }

  /** Saves a collection whose files are all here as one zip (or into a folder, where the browser can). */
  async saveAll(digest: string, into: 'zip' | 'folder' = 'zip'): Promise<void> {
    const files = this.#options.files
    const collection = this.collections.get(digest)
    if (!files || !collection) return
    const entries: ZipEntry[] = []
    for (const member of collection.files) {
      const held = this.engine.local.get(member.digest)
      if (!held?.have.complete) {
        this.report(new SwarmError('NOT_HELD', `${member.path} is not here in full`), { digest })
        return
      }
      entries.push({ path: member.path, record: held.record })
    }
    try {
      if (into === 'folder' && files.saveToFolder) await files.saveToFolder(collection.name, entries)
      else {
        await files.saveZip(collection.name, entries)
        this.#announce(`Saved ${collection.name}.zip to Downloads`)
      }
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return
      this.report(error, { digest })
    }
  }

  #memberHints(member: Collection['files'][number]): FetchHints {
    const hints: FetchHints = { name: member.path, listed: false }
    if (member.mime) hints.mime = member.mime
    if (member.key) hints.sealed = { key: member.key }
    return hints
  }

  async #fetchMembers(digest: string, collection: Collection): Promise<void> {
    let missing = 0
    for (const member of collection.files) {
      if (this.engine.local.get(member.digest)?.have.complete) continue
      missing++
      void this.download(member.digest, this.#memberHints(member))
    }
    if (missing === 0) await this.#collectionDone(digest)
  }

  async #readCollection(record: StoredFile): Promise<Collection | undefined> {
    const files = this.#options.files
    if (!files || (record.sealed && !record.sealed.key)) return undefined
    try {
      const collection = parseCollection(await files.bytes(record))
      if (!collection) throw new SwarmError('BAD_MESSAGE', 'not a collection file')
      this.collections.set(record.digest, collection)
      this.emit('collections', undefined)
      return collection
    } catch (error) {
      this.report(error, { digest: record.digest })
      return undefined
    }
  }

  /** Every member of a collection is here: save the zip if "Download all" asked for it. */
  async #collectionDone(digest: string): Promise<void> {
    if (!this.#wantAll.delete(digest)) return
    this.emit('collections', undefined)
    await this.saveAll(digest)
  }

  async #memberDone(memberDigest: string): Promise<void> {
    const digest = this.collections.collectionOf(memberDigest)
    if (!digest || !this.#wantAll.has(digest)) return
    const collection = this.collections.get(digest)
    if (collection?.files.every((m) => this.engine.local.get(m.digest)?.have.complete)) {
      await this.#collectionDone(digest)
    }
  }

  // ---------------------------------------------------------------- stop sharing, remove, undo

  /** Stops sharing a file but keeps it here; Undo (or Share again) shares it again. */
  async stopSharing(digest: string): Promise<void> {
    const name = this.#nameOf(digest)
    try {
      await this.engine.stopSharing(digest)
    } catch (error) {
      this.report(error, { digest })
      return
    }
    this.toast(`Stopped sharing ${name}. It stays in this browser.`, () => void this.shareAgain(digest))
  }

  async shareAgain(digest: string): Promise<void> {
    try {
      await this.engine.shareAgain(digest)
    } catch (error) {
      this.report(error, { digest })
    }
  }

  /**
   * Removes a file from this browser: at once it is hidden and no longer shared or downloaded; it is
   * deleted when the Undo ends (or the page is left: `flushRemovals`). A collection takes its members along.
   */
  async remove(digest: string): Promise<void> {
    this.#sharing.cancelDigest(digest)
    if (this.#requests.delete(digest)) this.emit('requests', undefined)
    this.#downloadErrors.delete(digest)
    const held = this.engine.local.get(digest)
    if (!held) return
    const name = this.#nameOf(digest)
    const wasShared = !held.record.notShared
    this.engine.pause(digest)
    if (wasShared) await this.engine.stopSharing(digest).catch(() => {})
    this.#removing.set(
      digest,
      setTimeout(() => void this.#deleteNow(digest), UNDO_MS),
    )
    this.#onFile(digest, undefined)
    this.emit('requests', undefined)
    this.toast(`Removed ${name}.`, () => {
      const timer = this.#removing.get(digest)
      if (timer === undefined) return
      clearTimeout(timer)
      this.#removing.delete(digest)
      this.emit('requests', undefined)
      if (wasShared) void this.shareAgain(digest)
    })
  }

  /** Deletes at once every file whose removal could still be undone (the page is being left). */
  flushRemovals(): void {
    for (const digest of [...this.#removing.keys()]) void this.#deleteNow(digest)
  }

  async #deleteNow(digest: string): Promise<void> {
    const timer = this.#removing.get(digest)
    if (timer === undefined) return
    clearTimeout(timer)
    this.#removing.delete(digest)
    const collection = this.collections.get(digest)
    this.collections.delete(digest)
    this.#wantAll.delete(digest)
    this.traffic.forget(digest)
    try {
      await this.engine.remove(digest)
      // Members go with their collection, unless another collection here lists them too.
      for (const member of collection?.files ?? []) {
        const held = this.engine.local.get(member.digest)
        if (held?.record.listed === false && !this.collections.collectionOf(member.digest)) {
          await this.engine.remove(member.digest)
        }
      }
    } catch (error) {
      this.report(error, { digest })
    }
    this.emit('requests', undefined)
  }

  /** Shows a message at the bottom of the page for UNDO_MS; with `undo`, an Undo button beside it. */
  toast(text: string, undo?: () => void): void {
    const toast: Toast = undo ? { id: this.#nextId++, text, undo } : { id: this.#nextId++, text }
    this.#toasts = [...this.#toasts, toast].slice(-3)
    this.emit('toasts', undefined)
    setTimeout(() => this.dismissToast(toast.id), UNDO_MS)
  }

  /** Runs a toast's Undo, once, and closes it. */
  undo(id: number): void {
    const toast = this.#toasts.find((t) => t.id === id)
    this.dismissToast(id)
    toast?.undo?.()
  }

  dismissToast(id: number): void {
    const kept = this.#toasts.filter((t) => t.id !== id)
    if (kept.length === this.#toasts.length) return
    this.#toasts = kept
    this.emit('toasts', undefined)
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
      this.#saved.add(digest)
      this.#announce(`Saved ${file.record.name} to Downloads`)
      this.emit('requests', undefined)
    } catch (error) {
      if (errorCodeOf(error) === 'WRONG_KEY') this.#markWrongKey(digest)
      this.report(error, { digest })
    }
  }

  /**
   * A finished download (the engine's onComplete): saved at once (SPEC §2), except what is not a file of
   * its own to the user — a collection (its files follow), a member of one being fetched for "Download
   * all" (the zip follows), a private share held without its key.
   */
  saveCompleted(file: LocalFile): void {
    void this.#finish(file.record.digest)
  }

  async #finish(digest: string): Promise<void> {
    const held = this.engine.local.get(digest)
    if (!held?.have.complete) return
    let record = held.record
    if (record.sealed) {
      if (!record.sealed.key) return // shared on; it needs its link's key
      const named = await this.#learnName(digest)
      if (!named) return
      record = named
    }
    if (isCollection(record)) {
      const collection = await this.#readCollection(record)
      if (collection) {
        this.#wantAll.add(digest) // a collection asked for is asked for whole
        await this.#fetchMembers(digest, collection)
      }
      return
    }
    const collection = this.collections.collectionOf(digest)
    if (collection && this.#wantAll.has(collection) && !this.#wantSaved.delete(digest)) {
      await this.#memberDone(digest) // the zip of the whole collection follows
      return
    }
    this.#notifyDone(record.name)
    await this.save(digest)
  }

  /**
   * Reads a private share's sealed header once its first chunk is here, so that it shows its real name
   * (and is saved under it). Resolves with the record named, or undefined (no key, wrong key, not yet).
   */
  #learnName(digest: string): Promise<StoredFile | undefined> {
    let naming = this.#naming.get(digest)
    if (!naming) {
      naming = this.#readName(digest).finally(() => this.#naming.delete(digest))
      this.#naming.set(digest, naming)
    }
    return naming
  }

  async #readName(digest: string): Promise<StoredFile | undefined> {
    const held = this.engine.local.get(digest)
    const files = this.#options.files
    if (!held?.record.sealed?.key || !files || !held.have.has(0)) return undefined
    if (held.record.name !== PRIVATE_PLACEHOLDER) return held.record
    try {
      const header = await files.sealedHeader(held.record)
      const named = { ...held.record, name: header.name, mime: header.mime }
      await this.engine.updateRecord(named)
      return named
    } catch (error) {
      if (errorCodeOf(error) === 'WRONG_KEY') this.#markWrongKey(digest)
      else this.report(error, { digest })
      return undefined
    }
  }

  #markWrongKey(digest: string): void {
    if (this.#wrongKey.has(digest)) return
    this.#wrongKey.add(digest)
    this.report(new SwarmError('WRONG_KEY', 'the key does not open this private file'), { digest })
    this.emit('requests', undefined)
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

  /**
   * The peers holding a file, as the tracker and the ring give them (each says where it was found), with
   * how this browser reaches each. The ring is asked always; the tracker while it is online.
   */
  async peersOf(digest: string): Promise<PeerRow[]> {
    const providers = await this.engine.findProviders(digest).catch((): ProviderHit[] => [])
    const held = this.engine.local.get(digest)
    return peerRows(
      {
        tracker: this.engine.tracker,
        sessions: this.engine.swarm.sessions,
        rates: this.rates,
        providers,
        ...(held ? { chunkCount: held.record.manifest.hashes.length } : {}),
      },
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
  /**
   * Resolves once files can be found: the tracker is connected, or the ring answers (this peer is linked
   * into it as a member or a client: issue 13, search and signalling go through it while the server is down).
   */
  #online(): Promise<void> {
    const tracker = this.engine.tracker
    const ringAnswers = () => ['member', 'client'].includes(this.engine.ringStatus().state)
    if (tracker.status.state === 'online' || ringAnswers()) return Promise.resolve()
    return new Promise((resolve) => {
      const offs = [
        tracker.on('status', (status) => status.state === 'online' && done()),
        this.engine.on('ring', () => ringAnswers() && done()),
      ]
      const done = () => {
        for (const off of offs) off()
        resolve()
      }
    })
  }

  #nameOf(digest: string): string {
    return this.engine.local.get(digest)?.record.name ?? `${digest.slice(0, 12)}…`
  }

  #onShared(record: StoredFile): void {
    if (isCollection(record)) void this.#readCollection(record)
    this.#announce(`${record.name} is ready and shared`)
  }

  /** A live-region sentence, and the tab's title, for something that finished. */
  #announce(text: string): void {
    this.emit('announce', { text })
  }

  /** Says a download finished: announced; a desktop notification too when the tab is hidden and allowed. */
  #notifyDone(name: string): void {
    const notification = (globalThis as { Notification?: typeof Notification }).Notification
    const hidden = (globalThis as { document?: Document }).document?.visibilityState === 'hidden'
    if (hidden && notification?.permission === 'granted') {
      try {
        new notification('Download finished', { body: name, tag: 'swarmdrop-done' })
      } catch {
        // Some browsers allow notifications only from a service worker: the live region still says it.
      }
    }
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
