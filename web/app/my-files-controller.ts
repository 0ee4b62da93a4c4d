/**
 * "My files": every file this browser is hashing, seeding, downloading or has finished, with its state,
 * progress, speed, ETA, sources and chunk map. Fed by the engine's `file` events (downloads' progress),
 * the local files (added, removed, chunks stored or lost), the app's share jobs and download requests,
 * and the downloads' chunk events (relayed by the services).
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { DownloadProgress } from '../peer/download.js'
import type { LocalFile } from '../peer/local-files.js'
import { CHUNK_HERE, CHUNK_IN_FLIGHT, CHUNK_MISSING, ChunkStates } from './chunk-states.js'
import { errorCodeOf, messageFor } from './error-messages.js'
import { etaSeconds } from './format.js'
import type { AppServices, DownloadRequest, ShareJob } from './services.js'
import { ServicesController } from './services-controller.js'

/** `data-state` of a my-files entry (SPEC §2). */
export type FileState = 'hashing' | 'seeding' | 'queued' | 'downloading' | 'paused' | 'complete' | 'error'

export interface FileView {
  /** Stable key: the digest, or `job-<id>` while a dropped file has none yet. */
  key: string
  digest?: string
  jobId?: number
  name: string
  size: number
  state: FileState
  origin?: 'shared' | 'downloaded'
  /** What the progress bar shows: hashing, storing, or downloading. */
  activity: 'waiting' | 'hashing' | 'storing' | 'downloading' | 'idle'
  bytesDone: number
  bytesTotal: number
  chunksHere?: number
  chunkCount?: number
  bytesPerSecond?: number
  etaSeconds?: number
  sources?: number
  error?: { code: ErrorCode | undefined; message: string; detail: string }
  plainSha256?: string
  /** A complete file can be saved again. */
  complete: boolean
  chunks?: ChunkStates
}

export class MyFilesController extends ServicesController {
  readonly #chunks = new Map<string, ChunkStates>()
  readonly #progress = new Map<string, DownloadProgress>()

  /** Whether the browser offers a "save to…" beside the normal save. */
  get canSaveTo(): boolean {
    return this.services?.canSaveTo ?? false
  }

  /** Every file, newest first: files being hashed, then downloads asked for, then files held. */
  get files(): FileView[] {
    const services = this.services
    if (!services) return []
    const views: FileView[] = []
    const jobsByDigest = new Map<string, ShareJob>()
    for (const job of services.jobs) {
      if (job.digest) jobsByDigest.set(job.digest, job)
      else views.push(jobView(job))
    }
    const local = services.engine.local
    for (const request of services.requests) {
      if (!local.get(request.digest)) views.push(requestView(request))
    }
    const held = [...local.list()].sort((a, b) => b.record.addedAtMs - a.record.addedAtMs)
    for (const file of held) views.push(this.#fileView(services, file, jobsByDigest.get(file.record.digest)))
    return views
  }

  protected subscribe(services: AppServices): (() => void)[] {
    const { engine } = services
    const update = () => this.update()
    return [
      engine.on('file', ({ digest, progress }) => {
        if (progress) this.#progress.set(digest, progress)
        else if (!engine.local.get(digest)) this.#forget(digest)
        this.update()
      }),
      engine.on('complete', update),
      engine.local.on('file-added', ({ record }) => {
        this.#chunks.delete(record.digest) // built again from what is here
        this.update()
      }),
      engine.local.on('file-removed', ({ digest }) => {
        this.#forget(digest)
        this.update()
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
      services.on('jobs', update),
      services.on('requests', update),
    ]
  }

  #forget(digest: string): void {
    this.#chunks.delete(digest)
    this.#progress.delete(digest)
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

  #fileView(services: AppServices, file: LocalFile, job: ShareJob | undefined): FileView {
    const { record, have } = file
    const digest = record.digest
    const download = services.engine.swarm.getDownload(digest)
    const progress = download ? (this.#progress.get(digest) ?? download.progress()) : undefined
    const bytesHere = services.engine.local.bytesHere(digest)
    const view: FileView = {
      key: digest,
      digest,
      name: record.name,
      size: record.manifest.size,
      state: 'paused',
      origin: record.origin,
      activity: 'idle',
      bytesDone: bytesHere,
      bytesTotal: record.manifest.size,
      chunksHere: have.count,
      chunkCount: have.length,
      complete: have.complete,
      chunks: this.#chunkStates(file),
    }
    if (record.plainSha256) view.plainSha256 = record.plainSha256
    if (job) {
      // Hashed: seeded from the dropped file while its chunks are stored.
      Object.assign(view, {
        state: 'seeding',
        activity: 'storing',
        bytesDone: job.bytesDone,
        bytesTotal: job.bytesTotal,
        complete: false,
      })
      view.jobId = job.id
      return view
    }
    if (have.complete) {
      view.state = record.origin === 'shared' ? 'seeding' : 'complete'
      view.bytesDone = view.bytesTotal
      return view
    }
    if (!download || !progress) return view // held in part, not downloading: resumable
    view.sources = progress.sources
    view.bytesPerSecond = progress.bytesPerSecond
    switch (progress.state) {
      case 'downloading': {
        view.state = progress.sources === 0 ? 'queued' : 'downloading'
        view.activity = 'downloading'
        const eta = etaSeconds(view.bytesTotal - bytesHere, progress.bytesPerSecond)
        if (eta !== undefined) view.etaSeconds = eta
        break
      }
      case 'paused':
        view.state = 'paused'
        break
      case 'error':
        view.state = 'error'
        view.error = describe(progress.error)
        break
      case 'complete':
        view.state = 'complete'
        break
    }
    return view
  }
}

function jobView(job: ShareJob): FileView {
  const view: FileView = {
    key: `job-${job.id}`,
    jobId: job.id,
    name: job.name,
    size: job.size,
    state: job.phase === 'failed' ? 'error' : 'hashing',
    activity: job.phase === 'failed' ? 'idle' : job.phase,
    bytesDone: job.bytesDone,
    bytesTotal: job.bytesTotal,
    complete: false,
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
    state: request.state,
    activity: request.state === 'queued' ? 'waiting' : 'idle',
    bytesDone: 0,
    bytesTotal: 0,
    complete: false,
  }
  if (request.state === 'error') view.error = describe(request.error)
  return view
}

function describe(error: unknown): NonNullable<FileView['error']> {
  return {
    code: errorCodeOf(error),
    message: messageFor(error),
    detail: error instanceof Error ? error.message : String(error ?? ''),
  }
}
