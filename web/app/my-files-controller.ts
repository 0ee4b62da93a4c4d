/**
 * "My files": every file this browser is preparing, sharing, downloading or has finished, with its state in
 * plain words, progress, speed, ETA, sources, upload figures and chunk map. Members of a collection are
 * grouped under it. The list is paged (PAGE_SIZE rows a page; a collection's files PAGE_SIZE at a time), so
 * that 10,000 files stay quick to render and to move through with the keyboard, and views are built only
 * for the rows shown. Fed by the engine's `file` events (downloads' progress), the local files (added,
 * removed, chunks stored or lost), the app's share jobs, download requests, collections and uploads, and
 * the downloads' chunk events (relayed by the services).
 */
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import type { DownloadProgress } from '../peer/download.js'
import type { LocalFile } from '../peer/local-files.js'
import { CHUNK_HERE, CHUNK_IN_FLIGHT, CHUNK_MISSING, ChunkStates } from './chunk-states.js'
import { isCollection } from './collections.js'
import { errorCodeOf, messageFor } from './error-messages.js'
import { etaSeconds } from './format.js'
import type { AppServices, DownloadRequest, ShareJob } from './services.js'
import { ServicesController } from './services-controller.js'

/** `data-state` of a my-files entry (SPEC §2). */
export type FileState = 'hashing' | 'seeding' | 'queued' | 'downloading' | 'paused' | 'complete' | 'error'

/** Rows a page of my files shows, and files of an open collection shown at a time. */
export const PAGE_SIZE = 50

export interface FileView {
  /** Stable key: the digest, or `job-<id>` while a dropped file has none yet. */
  key: string
  digest?: string
  jobId?: number
  name: string
  size: number
  state: FileState
  /** The state in plain words. */
  label: string
  origin?: 'shared' | 'downloaded'
  /** What the progress bar shows: preparing (hashing, storing), or downloading. */
  activity: 'waiting' | 'hashing' | 'storing' | 'downloading' | 'idle'
  bytesDone: number
  bytesTotal: number
  chunksHere?: number
  chunkCount?: number
  bytesPerSecond?: number
  etaSeconds?: number
  sources?: number
  /** This browser's uploads of the file: rate, and peers served in the last seconds. */
  uploadBytesPerSecond?: number
  downloaders?: number
  error?: { code: ErrorCode | undefined; message: string; detail: string }
  plainSha256?: string
  /** A complete file can be saved again. */
  complete: boolean
  /** Announced and served (false: the user stopped sharing it). */
  shared: boolean
  /** A private share; `link` is its link with the key (SPEC §2's `data-share-link`) when this browser has it. */
  private: boolean
  link?: string
  /** A private share held without its key: kept and shared on, but it cannot be opened here. */
  needsKey: boolean
  /** Saved to Downloads in this visit. */
  saved: boolean
  /** One's own share whose storing was cut short (the page closed while it was being prepared). */
  unfinished: boolean
  chunks?: ChunkStates
}

export interface CollectionView {
  key: string
  digest: string
  /** The collection file's own view (its state, link, actions). */
  file: FileView
  /** Files it lists, and how many of them are here in full. */
  files: number
  filesHere: number
  bytes: number
  /** "Download all" is waiting for its files. */
  wantsAll: boolean
  /** Shown when the collection is open, PAGE_SIZE at a time. */
  members: FileView[]
  /** The collection's list has not been read yet (its file is still downloading, or has no key). */
  unread: boolean
}

export type Row = { kind: 'file'; file: FileView } | { kind: 'collection'; collection: CollectionView }

export class MyFilesController extends ServicesController {
  readonly #chunks = new Map<string, ChunkStates>()
  readonly #progress = new Map<string, DownloadProgress>()
  /** Collections shown open, with how many of their files are shown. */
  readonly #open = new Map<string, number>()
  #page = 0
  /** The top-level keys in display order, cached until something is added or removed. */
  #order: string[] | undefined
  /** What of the share jobs decides the order (how many, how many hashed): progress alone does not. */
  #jobsShape = ''

  /** Whether the browser offers a "save to…" beside the normal save. */
  get canSaveTo(): boolean {
    return this.services?.canSaveTo ?? false
  }

  get canSaveToFolder(): boolean {
    return this.services?.canSaveToFolder ?? false
  }

  get page(): number {
    return Math.min(this.#page, Math.max(0, this.pages - 1))
  }

  get pages(): number {
    return Math.max(1, Math.ceil(this.total / PAGE_SIZE))
  }

  /** Top-level rows in all (files and collections). */
  get total(): number {
    return this.#topLevel().length
  }

  setPage(page: number): void {
    this.#page = Math.max(0, Math.min(page, this.pages - 1))
    this.update()
  }

  isOpen(digest: string): boolean {
    return this.#open.has(digest)
  }

  toggle(digest: string): void {
    if (this.#open.has(digest)) this.#open.delete(digest)
    else this.#open.set(digest, PAGE_SIZE)
    this.update()
  }

  showMore(digest: string): void {
    this.#open.set(digest, (this.#open.get(digest) ?? 0) + PAGE_SIZE)
    this.update()
  }

  /** The rows of the page shown, newest first: files being prepared, downloads asked for, then files held. */
  get rows(): Row[] {
    const services = this.services
    if (!services) return []
    const keys = this.#topLevel().slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE)
    const jobs = new Map<string, ShareJob>()
    const jobsById = new Map<string, ShareJob>()
    for (const job of services.jobs) {
      if (job.digest) jobs.set(job.digest, job)
      jobsById.set(`job-${job.id}`, job)
    }
    const requests = new Map(services.requests.map((r) => [r.digest, r]))
    return keys.map((key): Row => {
      const job = jobsById.get(key)
      if (job) return { kind: 'file', file: jobView(job) }
      const held = services.engine.local.get(key)
      if (!held) return { kind: 'file', file: requestView(requests.get(key)!) }
      const file = this.#fileView(services, held, jobs.get(key))
      if (!isCollection(held.record)) return { kind: 'file', file }
      return { kind: 'collection', collection: this.#collectionView(services, file, jobs) }
    })
  }

  /** Every file's view (members included), for tests and scripts that want the whole list. */
  get files(): FileView[] {
    const views: FileView[] = []
    for (const row of this.rows) {
      if (row.kind === 'file') views.push(row.file)
      else views.push(row.collection.file, ...row.collection.members)
    }
    return views
  }

  protected subscribe(services: AppServices): (() => void)[] {
    const { engine } = services
    const update = () => this.update()
    const reorder = () => {
      this.#order = undefined
      this.update()
    }
    return [
      engine.on('file', ({ digest, progress }) => {
        if (progress) this.#progress.set(digest, progress)
        else if (!engine.local.get(digest)) this.#forget(digest)
        this.#order = undefined
        this.update()
      }),
      engine.on('complete', update),
      engine.local.on('file-added', ({ record }) => {
        this.#chunks.delete(record.digest) // built again from what is here
        reorder()
      }),
      engine.local.on('file-removed', ({ digest }) => {
        this.#forget(digest)
        reorder()
      }),
      engine.local.on('chunk-stored', ({ digest, index }) => {
        this.#statesOf(services, digest)?.set(index, CHUNK_HERE)
        this.update()
      }),
      engine.local.on('chunk-lost', ({ digest, index }) => {
        this.#statesOf(services, digest)?.lose(index)
        this.update()
      }),
      services.on('chunk', ({ digest, index, state, peerId }) => {
        const chunks = this.#statesOf(services, digest)
        if (!chunks) return
        const value = state === 'here' ? CHUNK_HERE : state === 'in-flight' ? CHUNK_IN_FLIGHT : CHUNK_MISSING
        chunks.set(index, value, peerId)
        this.update()
      }),
      services.on('jobs', () => {
        const jobs = services.jobs
        const shape = `${jobs.length}:${jobs.filter((job) => job.digest).length}`
        if (shape !== this.#jobsShape) this.#order = undefined
        this.#jobsShape = shape
        this.update()
      }),
      services.on('requests', reorder),
      services.on('collections', reorder),
      services.on('uploaded', update),
    ]
  }

  #forget(digest: string): void {
    this.#chunks.delete(digest)
    this.#progress.delete(digest)
  }

  /**
   * Keys of the top-level rows: jobs without a digest yet (newest first), downloads asked for and not
   * held, then held files newest first, leaving out members of a collection known here (shown under it),
   * files being prepared as members of a collection, and files whose removal can still be undone.
   */
  #topLevel(): string[] {
    const services = this.services
    if (!services) return []
    if (this.#order) return this.#order
    const local = services.engine.local
    const order: string[] = []
    const grouped = new Set<string>()
    for (const job of services.jobs) {
      if (job.group) {
        if (job.digest) grouped.add(job.digest)
        continue
      }
      if (!job.digest) order.push(`job-${job.id}`)
    }
    for (const request of services.requests) {
      if (!local.get(request.digest) && !services.isRemoving(request.digest)) order.push(request.digest)
    }
    const held = local
      .list()
      .filter(
        ({ record }) =>
          !services.isRemoving(record.digest) &&
          !grouped.has(record.digest) &&
          !(record.listed === false && services.collections.collectionOf(record.digest)),
      )
      .sort((a, b) => b.record.addedAtMs - a.record.addedAtMs)
    for (const file of held) order.push(file.record.digest)
    this.#order = order
    return order
  }

  #collectionView(services: AppServices, file: FileView, jobs: Map<string, ShareJob>): CollectionView {
    const digest = file.digest!
    const collection = services.collections.get(digest)
    const record = services.engine.local.get(digest)!.record
    const local = services.engine.local
    let filesHere = 0
    for (const member of collection?.files ?? []) if (local.get(member.digest)?.have.complete) filesHere++
    const view: CollectionView = {
      key: digest,
      digest,
      file,
      files: collection?.files.length ?? record.collection?.files ?? 0,
      filesHere,
      bytes: collection?.files.reduce((sum, m) => sum + m.size, 0) ?? record.collection?.bytes ?? 0,
      wantsAll: services.wantsAll(digest),
      members: [],
      unread: collection === undefined,
    }
    const shown = this.#open.get(digest)
    if (collection && shown !== undefined) {
      for (const member of collection.files.slice(0, shown)) {
        const held = local.get(member.digest)
        view.members.push(
          held
            ? this.#fileView(services, held, jobs.get(member.digest), member.path)
            : memberAwayView(member.digest, member.path, member.size),
        )
      }
    }
    return view
  }

  #statesOf(services: AppServices, digest: string): ChunkStates | undefined {
    const file = services.engine.local.get(digest)
    return file ? this.#chunkStates(file) : undefined
  }

  #chunkStates(file: LocalFile): ChunkStates {
    const digest = file.record.digest
    let chunks = this.#chunks.get(digest)
    if (!chunks || chunks.count !== file.have.length) {
      chunks = ChunkStates.from(file.have.length, (index) => file.have.has(index))
      this.#chunks.set(digest, chunks)
    }
    return chunks
  }

  #fileView(services: AppServices, file: LocalFile, job: ShareJob | undefined, path?: string): FileView {
    const { record, have } = file
    const digest = record.digest
    const download = services.engine.swarm.getDownload(digest)
    const progress = download ? (this.#progress.get(digest) ?? download.progress()) : undefined
    const bytesHere = services.engine.local.bytesHere(digest)
    const needsKey = record.sealed !== undefined && record.sealed.key === undefined
    const link = needsKey ? undefined : services.linkFor(digest)
    const view: FileView = {
      key: digest,
      digest,
      name: path ?? record.name,
      size: record.manifest.size,
      state: 'paused',
      label: 'Paused',
      origin: record.origin,
      activity: 'idle',
      bytesDone: bytesHere,
      bytesTotal: record.manifest.size,
      chunksHere: have.count,
      chunkCount: have.length,
      complete: have.complete,
      shared: !record.notShared,
      private: record.sealed !== undefined,
      needsKey,
      saved: services.wasSaved(digest),
      unfinished: false,
      chunks: this.#chunkStates(file),
    }
    if (link && record.sealed) view.link = link
    if (record.plainSha256) view.plainSha256 = record.plainSha256
    if (record.origin === 'shared' || have.complete) {
      view.uploadBytesPerSecond = services.traffic.rate(digest)
      view.downloaders = services.traffic.downloaders(digest)
    }
    if (job) {
      // Hashed and seeded from the dropped file, but not safe to close until every chunk is stored.
      Object.assign(view, {
        state: 'hashing',
        label: 'Preparing',
        activity: 'storing',
        bytesDone: job.bytesDone,
        bytesTotal: job.bytesTotal,
        complete: false,
      })
      view.jobId = job.id
      return view
    }
    if (services.hasWrongKey(digest)) {
      view.state = 'error'
      view.label = 'Does not open with this key'
      view.error = describe(new SwarmError('WRONG_KEY', 'the key does not open this private file'))
      return view
    }
    if (have.complete) return completeView(view, record.origin)
    if (record.origin === 'shared') view.unfinished = true
    if (!download || !progress) {
      if (view.unfinished) view.label = 'Not fully stored'
      return view // held in part, not downloading: resumable
    }
    view.sources = progress.sources
    view.bytesPerSecond = progress.bytesPerSecond
    switch (progress.state) {
      case 'downloading': {
        const waiting = progress.sources === 0
        view.state = waiting ? 'queued' : 'downloading'
        view.label = view.unfinished
          ? 'Not fully stored: finishing from others'
          : waiting
            ? 'Waiting for someone who has this file'
            : 'Downloading'
        view.activity = 'downloading'
        if (waiting) view.bytesPerSecond = 0
        const eta = etaSeconds(view.bytesTotal - bytesHere, view.bytesPerSecond)
        if (eta !== undefined) view.etaSeconds = eta
        break
      }
      case 'paused':
        view.state = 'paused'
        view.label = view.unfinished ? 'Not fully stored' : 'Paused'
        view.bytesPerSecond = 0
        break
      case 'error':
        view.state = 'error'
        view.label = 'Stopped by an error'
        view.bytesPerSecond = 0
        view.error = describe(progress.error)
        break
      case 'complete':
        return completeView(view, record.origin)
    }
    return view
  }
}

function completeView(view: FileView, origin: 'shared' | 'downloaded'): FileView {
  view.bytesDone = view.bytesTotal
  view.complete = true
  delete view.bytesPerSecond
  delete view.sources
  if (view.needsKey) {
    view.state = 'complete'
    view.label = 'Needs the link’s key'
    return view
  }
  if (origin === 'shared') {
    view.state = view.shared ? 'seeding' : 'complete'
    view.label = view.shared ? 'Sharing' : 'Not shared'
    return view
  }
  view.state = 'complete'
  view.label = view.saved ? 'Saved to Downloads' : 'Downloaded'
  if (!view.shared) view.label += ' · not shared'
  return view
}

/** The flags of an entry with nothing of the file here yet (a job, a request, a member not fetched). */
const NOTHING_HERE = {
  complete: false,
  shared: false,
  private: false,
  needsKey: false,
  saved: false,
  unfinished: false,
} as const

function jobView(job: ShareJob): FileView {
  const view: FileView = {
    key: `job-${job.id}`,
    jobId: job.id,
    name: job.name,
    size: job.size,
    state: job.phase === 'failed' ? 'error' : 'hashing',
    label: job.phase === 'failed' ? 'Could not be shared' : 'Preparing',
    activity: job.phase === 'failed' ? 'idle' : job.phase,
    bytesDone: job.bytesDone,
    bytesTotal: job.bytesTotal,
    ...NOTHING_HERE,
  }
  if (job.phase === 'failed') view.error = describe(job.error)
  return view
}

function requestView(request: DownloadRequest): FileView {
  const view: FileView = {
    key: request.digest,
    digest: request.digest,
    name: request.name ?? `${request.digest.slice(0, 16)}…`,
    size: 0,
    state: request.state === 'error' ? 'error' : 'queued',
    label:
      request.state === 'waiting'
        ? 'Waiting for someone who has this file'
        : request.state === 'queued'
          ? 'Starting'
          : 'Stopped by an error',
    activity: request.state === 'error' ? 'idle' : 'waiting',
    bytesDone: 0,
    bytesTotal: 0,
    ...NOTHING_HERE,
  }
  if (request.state === 'error') view.error = describe(request.error)
  return view
}

/** A member of a collection that is not here (nor asked for). */
function memberAwayView(digest: string, path: string, size: number): FileView {
  return {
    key: digest,
    digest,
    name: path,
    size,
    state: 'paused',
    label: 'Not downloaded',
    activity: 'idle',
    bytesDone: 0,
    bytesTotal: size,
    ...NOTHING_HERE,
  }
}

function describe(error: unknown): NonNullable<FileView['error']> {
  return {
    code: errorCodeOf(error),
    message: messageFor(error),
    detail: error instanceof Error ? error.message : String(error ?? ''),
  }
}
