/**
 * Sharing dropped files: each goes to the ingest worker (hashing, then storing) and is seeded from the
 * dropped File as soon as its manifest is known. Public files are listed; private ones are sealed with a
 * fresh key (or one derived from a password) and never listed; several files chosen together, or a folder,
 * can be shared as one collection: its members unlisted, then a small collection file listing them.
 * The jobs it keeps are what the drop zone and my files show while files are prepared.
 */
import {
  COLLECTION_MIME,
  type Collection,
  collectionNameOf,
  encodeCollection,
} from '../../shared/collection.js'
import { keyFromPassword, newKey, newSalt, toBase64Url } from '../../shared/private-share.js'
import type { LiveSource } from '../peer/local-files.js'
import { TypedEventTarget } from '../peer/typed-events.js'
import { sealedReader } from '../storage/chunk-reader.js'
import { shareableName } from '../storage/file-name.js'
import type { StoredFile } from '../storage/file-store.js'
import type { ShareOptions } from '../storage/worker-messages.js'
import { errorCodeOf } from './error-messages.js'
import type { EngineLike, IngesterLike, ShareHow, ShareJob } from './services.js'

export type SharingEvents = {
  jobs: undefined
  /** A file or collection is stored in full: safe to close the page as far as it is concerned. */
  shared: { record: StoredFile }
  problem: { error: unknown; digest?: string }
}

type Job = ShareJob & { cancel(): void }

/**
 * Files handed to the ingest worker ahead of the one it is working on. The worker takes one file at a time
 * anyway; handing it 1,000 at once cost one 400 ms task on the page (bench/responsiveness), a few at a
 * time costs a few ms per file, spread over the run.
 */
export const INGEST_AHEAD = 4

/** What a share needs before it is handed to the worker: its key, when private. */
interface Sealing {
  key: Uint8Array
  salt?: Uint8Array
}

export class Sharing extends TypedEventTarget<SharingEvents> {
  readonly #jobs = new Map<number, Job>()
  /** Files waiting for their turn in the worker, and how many are there now. */
  readonly #waiting: (() => void)[] = []
  #running = 0
  #jobsDue = false
  #nextId = 1

  constructor(
    private readonly engine: EngineLike,
    private readonly ingester: IngesterLike,
  ) {
    super()
  }

  get jobs(): readonly ShareJob[] {
    return [...this.#jobs.values()]
  }

  /** Whether any file is still being prepared (hashed or stored). */
  get preparing(): boolean {
    for (const job of this.#jobs.values()) if (job.phase !== 'failed') return true
    return false
  }

  /** Shares files: each on its own, or as one collection (a folder always is one). */
  async share(files: readonly File[], how: ShareHow = {}): Promise<StoredFile[]> {
    const inFolder = files.some((file) => relativePathOf(file).includes('/'))
    if (files.length > 1 && (how.collection || inFolder)) {
      const collection = await this.#shareCollection(files, how)
      return collection ? [collection] : []
    }
    // The first files go to the worker before this returns (private ones once their key is made).
    const started = await inSlices(files, (file) =>
      how.private
        ? this.#sealing(how).then((sealing) => this.#shareOne(file, sealing, {}))
        : this.#shareOne(file, undefined, {}),
    )
    const done = await Promise.all(started)
    return done.filter((record): record is StoredFile => record !== undefined)
  }

  /** Stops preparing a file (what it stored is deleted), or forgets a failed one. */
  cancel(id: number): void {
    const job = this.#jobs.get(id)
    if (!job) return
    this.#jobs.delete(id)
    job.cancel()
    this.#jobsChanged()
  }

  /** Cancels the preparing of a file that is removed. */
  cancelDigest(digest: string): void {
    for (const job of this.#jobs.values()) if (job.digest === digest) this.cancel(job.id)
  }

  async #sealing(how: ShareHow): Promise<Sealing | undefined> {
    if (!how.private) return undefined
    if (!how.password) return { key: newKey() }
    const salt = newSalt()
    return { key: await keyFromPassword(how.password, salt), salt }
  }

  /**
   * One file through the worker. Resolves with its record once stored, or undefined when it failed (the
   * failure is reported) or was cancelled.
   */
  #shareOne(
    file: Blob,
    sealing: Sealing | undefined,
    options: { name?: string; group?: string; listed?: false; collection?: ShareOptions['collection'] },
  ): Promise<StoredFile | undefined> {
    const id = this.#nextId++
    const name = options.name ?? relativePathOf(file as File)
    const job: Job = {
      id,
      name,
      size: file.size,
      ...(options.group ? { group: options.group } : {}),
      phase: 'waiting',
      bytesDone: 0,
      bytesTotal: file.size,
      cancel: () => {},
    }
    this.#jobs.set(id, job)
    const share: ShareOptions & { name?: string } = {}
    if (options.name) share.name = options.name
    if (sealing) share.sealed = sealing.salt ? { key: sealing.key, salt: sealing.salt } : { key: sealing.key }
    if (options.listed === false) share.listed = false
    if (options.collection) share.collection = options.collection
    job.cancel = () => {} // waiting: its turn finds it gone from the jobs
    this.#jobsChanged()
    return new Promise<StoredFile | undefined>((resolve) => {
      this.#waiting.push(() => {
        if (!this.#jobs.has(id)) return resolve(undefined) // cancelled while it waited
        this.#running++
        this.#ingest(job, file, sealing, share)
          .then(resolve, () => resolve(undefined))
          .finally(() => {
            this.#running--
            this.#pump()
          })
      })
      this.#pump()
    })
  }

  /**
   * Says the jobs changed, once per task however many changed in it: a drop of 1,000 files adds 1,000
   * jobs at once, and each listener reads every job (O(n²) when said per job: 300 ms of one task).
   */
  #jobsChanged(): void {
    if (this.#jobsDue) return
    this.#jobsDue = true
    queueMicrotask(() => {
      this.#jobsDue = false
      this.emit('jobs', undefined)
    })
  }

  /** Starts waiting files while fewer than INGEST_AHEAD are in the worker. */
  #pump(): void {
    while (this.#running < INGEST_AHEAD && this.#waiting.length > 0) this.#waiting.shift()!()
  }

  #ingest(
    job: Job,
    file: Blob,
    sealing: Sealing | undefined,
    share: ShareOptions & { name?: string },
  ): Promise<StoredFile | undefined> {
    const { id } = job
    const running = this.ingester.ingest(
      file,
      {
        onProgress: ({ phase, bytesDone, bytesTotal }) => {
          Object.assign(job, { phase, bytesDone, bytesTotal })
          this.#jobsChanged()
        },
        onManifest: (record) => {
          job.digest = record.digest
          job.phase = 'storing'
          job.bytesDone = 0
          void this.#seed(record, file, sealing)
          this.#jobsChanged()
        },
      },
      share,
    )
    job.cancel = running.cancel
    return running.result.then(
      ({ record }) => {
        this.engine.stored(record)
        this.#jobs.delete(id)
        this.#jobsChanged()
        this.emit('shared', { record })
        return record
      },
      (error: unknown) => {
        if (!this.#jobs.has(id)) return undefined // dismissed or cancelled by the user
        if (errorCodeOf(error) === 'CANCELLED') {
          this.#jobs.delete(id)
        } else if (job.digest) {
          // Hashed and seeded from the dropped file, but storing failed: the file is still shared from
          // the dropped file for this visit; say what went wrong.
          this.#jobs.delete(id)
          this.emit('problem', { error, digest: job.digest })
        } else {
          job.phase = 'failed'
          job.error = error
          this.emit('problem', { error })
        }
        this.#jobsChanged()
        return undefined
      },
    )
  }

  /** Seeds a hashed file from what was dropped while its chunks are stored (sealed on the fly if private). */
  async #seed(record: StoredFile, file: Blob, sealing: Sealing | undefined): Promise<void> {
    let source: LiveSource = file
    if (sealing) source = await sealedReader(file, { name: record.name, mime: record.mime }, sealing.key)
    this.engine.share(record, source)
  }

  /**
   * The members first (unlisted, each with a key of its own when private), then the collection file that
   * lists them, listed under the collection's name (or sealed, its members' keys inside it).
   */
  async #shareCollection(files: readonly File[], how: ShareHow): Promise<StoredFile | undefined> {
    const paths = files.map((file) => relativePathOf(file))
    const name = collectionNameOf(paths)
    const started = await inSlices(files, (file, index) => {
      const sealing = how.private ? { key: newKey() } : undefined
      const stored = this.#shareOne(file, sealing, { name: paths[index]!, group: name, listed: false })
      return stored.then((record) => record && { record, sealing })
    })
    const members = await Promise.all(started)
    if (members.some((member) => member === undefined)) return undefined // reported already
    const collection: Collection = {
      swarmdrop: 'collection',
      v: 1,
      name,
      files: members.map((member, index) => ({
        path: paths[index]!,
        digest: member!.record.digest,
        size: files[index]!.size,
        ...(files[index]!.type && /^[\x21-\x7e]{1,127}$/.test(files[index]!.type)
          ? { mime: files[index]!.type }
          : {}),
        ...(member!.sealing ? { key: toBase64Url(member!.sealing.key) } : {}),
      })),
    }
    const bytes = files.reduce((sum, file) => sum + file.size, 0)
    const list = new Blob([encodeCollection(collection) as Uint8Array<ArrayBuffer>], {
      type: COLLECTION_MIME,
    })
    return this.#shareOne(list, await this.#sealing(how), {
      name,
      collection: { files: files.length, bytes },
    })
  }
}

/**
 * Files taken into jobs at a time, one slice a task: Chromium reads a chosen file's size from disk on first
 * use, ~0.3 ms a file here, so 1,000 files taken in one task blocked the page for 300 ms.
 */
export const FILES_PER_SLICE = 50

/** Maps items in slices of FILES_PER_SLICE, yielding to the page between slices. */
async function inSlices<T, R>(items: readonly T[], map: (item: T, index: number) => R): Promise<R[]> {
  const out: R[] = []
  for (let start = 0; start < items.length; start += FILES_PER_SLICE) {
    if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0))
    const end = Math.min(items.length, start + FILES_PER_SLICE)
    for (let index = start; index < end; index++) out.push(map(items[index]!, index))
  }
  return out
}

/** A dropped file's path inside its folder, or its name; made valid for the protocol. */
function relativePathOf(file: File): string {
  return shareableName(file)
}
