/**
 * The headless peer's folder (docs/CLI.md, "The folder"): one folder for upload and download.
 *
 * - A regular file in DIR is a complete file: hashed on start (unless the hash cache knows it by name,
 *   size and mtime) and shared in place. Files added while running are picked up, files removed stop
 *   being shared (a watcher, debounced, and a slow rescan in case it misses something).
 * - A file being downloaded exists only as `<digest>.<index>.chunk` files. On start each is checked
 *   against its manifest again; one that fails is deleted and fetched again. When a download completes
 *   its chunks are combined into the file under its sanitised name (combine.ts) and the chunk files go.
 * - Chunk files whose manifest is unknown are kept and reported, and adopted once the tracker or a peer
 *   gives a manifest that matches their digest.
 *
 * `open` prepares everything the engine needs (the stores, with the complete files registered and the
 * chunk files checked); `attach` then starts hashing, watching and combining with the engine.
 */
import { type FSWatcher, watch } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import { type Manifest, manifestDigest } from '../../shared/manifest.js'
import type { SwarmEngine } from '../../web/peer/engine.js'
import type { LocalFile } from '../../web/peer/local-files.js'
import { TypedEventTarget } from '../../web/peer/typed-events.js'
import { sanitizeFileName, shareableName } from '../../web/storage/file-name.js'
import type { FileStore, StoredFile } from '../../web/storage/file-store.js'
import { readVerifiedChunk } from '../../web/storage/verified-chunks.js'
import { CliError, EXIT_FAILURE, usageError } from '../errors.js'
import { combineChunks } from './combine.js'
import { ensureDiskRoom } from './disk-space.js'
import { FolderChunkStore } from './folder-chunk-store.js'
import { FolderFileStore } from './folder-file-store.js'
import { HashCache } from './hash-cache.js'
import { hashFile } from './hash-file.js'
import { errnoOf, type FolderIo, nodeIo, removeQuietly } from './io.js'
import { FolderLayout } from './layout.js'
import { type ListedFile, type Listing, listFolder, type SkipReason } from './listing.js'
import { lockFolder } from './lock.js'

/** After the last change the watcher saw, wait this long before looking: a copy in progress makes many events. */
export const WATCH_DEBOUNCE_MS = 500
/** A file changed more recently than this is still being written: hashed once it settles. */
export const SETTLE_MS = 1_000
/** The watcher can miss events (some network file systems send none): everything is looked at this often too. */
export const RESCAN_MS = 60_000
/** Files hashed while running are announced together at most this often (the tracker counts messages). */
const SHARE_BATCH_MS = 1_000
/** Hashing progress is reported at most this often. */
const PROGRESS_MS = 250

export type FolderEvents = {
  /** The start-up scan is done. */
  scanned: { files: number; bytes: number; fromCache: number; toHash: number; downloads: number }
  hashing: { name: string; bytesDone: number; bytesTotal: number }
  /** A complete file is shared: hashed now, or known from the hash cache (`fromCache`). */
  shared: { name: string; digest: string; size: number; fromCache: boolean }
  /** A file stopped being shared: deleted or changed in DIR. */
  unshared: { name: string; digest: string; reason: 'removed' | 'changed' }
  /** Several files in DIR have the same bytes: shared once. */
  duplicate: { digest: string; names: string[] }
  /** Something in DIR that is not shared, and why. */
  skipped: { name: string; reason: SkipReason | 'too-large' }
  /** `.chunk` files whose manifest is unknown: kept, not announced. */
  'unknown-chunks': { digest: string; chunks: number }
  /** `.chunk` files that failed their check on start, deleted (fetched again). */
  'chunks-dropped': { digest: string; indices: number[] }
  /** Unknown chunk files became a download, their manifest found. */
  adopted: { digest: string; name: string; chunks: number; chunkCount: number }
  /** A finished download is now a complete file in DIR. */
  combined: { digest: string; name: string; path: string; size: number }
  problem: { digest?: string; name?: string; error: SwarmError }
}

export interface FolderOptions {
  dir: string
  io?: FolderIo
  /**
   * Only these files (`swarmdrop get`): their downloads are resumed from their chunk files and combined,
   * and the rest of DIR is neither hashed nor shared. Default: the whole folder (`swarmdrop share`).
   */
  only?: readonly string[]
  /** Default true. */
  watch?: boolean
  now?(): number
}

interface SharedName {
  digest: string
  size: number
  mtimeMs: number
}

export class Folder extends TypedEventTarget<FolderEvents> {
  readonly layout: FolderLayout
  readonly chunks: FolderChunkStore
  /** The engine's file store: in `only` mode, a view of those files. */
  readonly files: FileStore
  readonly #records: FolderFileStore
  readonly #io: FolderIo
  readonly #only: ReadonlySet<string> | undefined
  readonly #now: () => number
  readonly #watchEnabled: boolean
  #cache!: HashCache
  #unlock: () => Promise<void> = async () => {}
  #engine: SwarmEngine | undefined
  /** Complete files shared, by name; several names may hold the same bytes. */
  readonly #byName = new Map<string, SharedName>()
  /** The same, by digest (a folder of 10,000 files must not be searched name by name for each). */
  readonly #namesByDigest = new Map<string, Set<string>>()
  /** Files waiting to be hashed, by name. */
  readonly #toHash = new Map<string, ListedFile>()
  #hashing: Promise<void> | undefined
  /** Stops the file being hashed when the folder closes: quitting must not wait for gigabytes. */
  readonly #stopHashing = new AbortController()
  readonly #shareBatch: StoredFile[] = []
  #shareTimer: ReturnType<typeof setTimeout> | undefined
  /** Chunk files with no manifest: digest → chunk count. */
  readonly #unknown = new Map<string, number>()
  readonly #adopting = new Map<string, Promise<boolean>>()
  /** Finished downloads not combined yet (waiting their turn, or for disk space). */
  readonly #toCombine = new Set<string>()
  #combining: Promise<void> | undefined
  /** Names a combine is placing into DIR right now: the watcher leaves them to it. */
  readonly #placing = new Set<string>()
  readonly #skippedReported = new Set<string>()
  #watcher: FSWatcher | undefined
  #debounce: ReturnType<typeof setTimeout> | undefined
  #rescanTimer: ReturnType<typeof setInterval> | undefined
  #scanning: Promise<void> | undefined
  #rescanAgain = false
  #closed = false

  private constructor(options: FolderOptions) {
    super()
    this.layout = new FolderLayout(options.dir)
    this.#io = options.io ?? nodeIo
    this.#only = options.only ? new Set(options.only) : undefined
    this.#now = options.now ?? Date.now
    this.#watchEnabled = options.watch ?? !options.only
    this.chunks = new FolderChunkStore(this.layout, {
      io: this.#io,
      onCompleteFileChanged: (digest) => this.#onCompleteFileChanged(digest),
    })
    this.#records = new FolderFileStore(this.layout, { io: this.#io })
    this.files = this.#only ? onlyThese(this.#records, this.#only) : this.#records
  }

  /**
   * Checks DIR, takes its lock, and prepares the stores: complete files the cache knows are registered,
   * chunk files are checked against their manifests. `listen` subscribes to the folder's events before
   * that scan, which reports what it finds. Throws a CliError (exit 2) when DIR is missing or not a folder,
   * and (exit 1) when it cannot be read and written or another swarmdrop holds it.
   */
  static async open(options: FolderOptions, listen?: (folder: Folder) => void): Promise<Folder> {
    const folder = new Folder(options)
    await checkFolder(folder.layout.dir)
    await folder.layout.prepare()
    folder.#unlock = await lockFolder(folder.layout)
    try {
      listen?.(folder)
      await folder.#scanAtStart()
    } catch (error) {
      await folder.#unlock()
      throw error
    }
    return folder
  }

  /** Starts hashing new files, combining finished downloads, adopting unknown chunks and watching DIR. */
  attach(engine: SwarmEngine): void {
    this.#engine = engine
    engine.tracker.on('status', (status) => {
      if (status.state === 'online') void this.adoptUnknown()
    })
    void this.#hashQueued()
    for (const { record, have } of engine.local.list()) {
      if (have.complete && !this.chunks.completeFile(record.digest)) this.#toCombine.add(record.digest)
    }
    void this.#combineQueued()
    if (this.#watchEnabled) this.#startWatching()
  }

  /** A download finished (the engine's onComplete): its chunks become the file. */
  onComplete(file: LocalFile): void {
    this.#toCombine.add(file.record.digest)
    void this.#combineQueued()
  }

  /** Tries again to combine finished downloads that could not be (a full disk). */
  retryCombine(digest?: string): boolean {
    const waiting = digest ? this.#toCombine.has(digest) : this.#toCombine.size > 0
    void this.#combineQueued()
    return waiting
  }

  /** Whether a finished download of `digest` waits to be combined. */
  awaitsCombine(digest: string): boolean {
    return this.#toCombine.has(digest)
  }

  /** Digests of chunk files whose manifest is unknown, with their chunk counts. */
  get unknownChunks(): ReadonlyMap<string, number> {
    return this.#unknown
  }

  /** Names in DIR that hold `digest` complete. */
  namesOf(digest: string): string[] {
    return [...(this.#namesByDigest.get(digest) ?? [])]
  }

  /** Files waiting to be hashed. */
  get hashQueueLength(): number {
    return this.#toHash.size
  }

  /**
   * Turns unknown chunk files into downloads whose manifest the tracker or a peer can give (all of them,
   * or one digest). Chunks are checked against the manifest first; the name is the catalog's.
   */
  async adoptUnknown(digest?: string): Promise<boolean> {
    const engine = this.#engine
    if (!engine) return false
    let adopted = false
    for (const candidate of digest ? [digest] : [...this.#unknown.keys()]) {
      // An adoption of this digest on its way (the welcome's, say) is waited for: a `get` meanwhile asks
      // again once it failed, since a holder may have come since it asked (finding none can take the
      // ring a moment).
      const running = this.#adopting.get(candidate)
      if (running && ((await running) || digest === undefined)) {
        adopted ||= !this.#unknown.has(candidate)
        continue
      }
      if (!this.#unknown.has(candidate)) continue
      const adopting = this.#adopt(engine, candidate)
      this.#adopting.set(candidate, adopting)
      try {
        adopted = (await adopting) || adopted
      } finally {
        if (this.#adopting.get(candidate) === adopting) this.#adopting.delete(candidate)
      }
    }
    return adopted
  }

  /**
   * Stops sharing a file and deletes it from DIR: its chunk files and record, and every complete copy
   * that is still as it was hashed (one changed since is left alone). Returns the names deleted.
   */
  async remove(digest: string): Promise<string[]> {
    const names = this.namesOf(digest)
    this.chunks.clearComplete(digest)
    this.#toCombine.delete(digest)
    const batched = this.#shareBatch.findIndex((record) => record.digest === digest)
    if (batched >= 0) this.#shareBatch.splice(batched, 1) // hashed, not announced yet: it never will be
    if (this.#engine) await this.#engine.remove(digest)
    else await this.#records.delete(digest)
    const removed: string[] = []
    for (const name of names) {
      const shared = this.#byName.get(name)!
      this.#forgetName(name)
      this.#cache.delete(name)
      const path = this.layout.filePath(name)
      const now = await stat(path).catch(() => undefined)
      if (now && now.size === shared.size && now.mtimeMs === shared.mtimeMs) {
        await removeQuietly(path)
        removed.push(name)
      }
      this.emit('unshared', { name, digest, reason: 'removed' })
    }
    return removed
  }

  /** Stops watching and hashing, saves the cache and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#stopHashing.abort()
    this.#watcher?.close()
    clearTimeout(this.#debounce)
    clearInterval(this.#rescanTimer)
    this.#flushShares()
    await Promise.allSettled([this.#hashing, this.#combining, this.#scanning])
    await this.chunks.close()
    await this.#cache.save().catch(() => {})
    await this.#unlock()
  }

  // ---------------------------------------------------------------- start-up

  async #scanAtStart(): Promise<void> {
    await emptyFolder(this.layout.tmpDir) // whatever a crash left half-written
    this.#cache = await HashCache.load(this.layout, this.#io)
    if (this.#cache.damaged) {
      this.emit('problem', {
        error: new SwarmError('STORAGE_FAILED', 'the hash cache was damaged: files are hashed again'),
      })
    }
    await this.chunks.load()
    const records = await this.#loadRecords()
    const listing = this.#only ? await this.#listOnly(this.#only) : await listFolder(this.layout.dir)
    this.#reportSkipped(listing.skipped)
    let fromCache = 0
    for (const file of listing.files) {
      const digest = this.#cache.lookup(file.name, file.size, file.mtimeMs)
      const record = digest ? records.get(digest) : undefined
      if (record && record.manifest.size === file.size) {
        this.#register(file, record)
        this.emit('shared', { name: file.name, digest: record.digest, size: file.size, fromCache: true })
        fromCache++
      } else {
        this.#toHash.set(file.name, file)
      }
    }
    if (!this.#only) this.#cache.retainOnly(new Set(listing.files.map((f) => f.name)))
    const downloads = await this.#checkDownloads(records)
    await this.#cache.save().catch((error) => this.emit('problem', { error: asSwarmError(error) }))
    this.emit('scanned', {
      files: listing.files.length,
      bytes: listing.files.reduce((sum, f) => sum + f.size, 0),
      fromCache,
      toHash: this.#toHash.size,
      downloads,
    })
    for (const [digest, names] of this.#namesByDigest) if (names.size > 1) this.#reportDuplicate(digest)
  }

  /** In `only` mode, the files the cache says hold those digests, if they are still as they were hashed. */
  async #listOnly(digests: ReadonlySet<string>): Promise<Listing> {
    const files: ListedFile[] = []
    for (const digest of digests) {
      for (const known of this.#cache.namesOf(digest)) {
        const now = await stat(this.layout.filePath(known.name)).catch(() => undefined)
        if (now?.isFile() && now.size === known.size && now.mtimeMs === known.mtimeMs) files.push(known)
      }
    }
    return { files, skipped: [] }
  }

  /** Every record that parses; one that does not is deleted, and its chunk files become unknown ones. */
  async #loadRecords(): Promise<Map<string, StoredFile>> {
    const { files, unreadable } = await this.#records.list()
    for (const key of unreadable) await this.#records.delete(key)
    return new Map(files.filter((r) => !this.#only || this.#only.has(r.digest)).map((r) => [r.digest, r]))
  }

  /**
   * Downloads in progress: chunk files are checked against their record's manifest (the bad deleted),
   * records of files that are neither complete in DIR nor downloading are dropped, and chunk files
   * without a record are kept as unknown. Returns how many downloads there are.
   */
  async #checkDownloads(records: Map<string, StoredFile>): Promise<number> {
    let downloads = 0
    for (const record of records.values()) {
      const { digest } = record
      if (this.chunks.completeFile(digest)) {
        await this.chunks.deleteChunkFiles(digest) // left over from a combine cut short after placing the file
      } else if (record.origin === 'downloaded') {
        await this.#checkChunkFiles(record.digest, record.manifest)
        downloads++
      } else {
        // A shared file that is gone or changed: hashed again if it is here. Chunk files of it (a copy of
        // them put here) become unknown ones below, adopted as any others.
        await this.#records.delete(digest)
        records.delete(digest)
      }
    }
    for (const digest of this.chunks.chunkFileDigests()) {
      if (records.has(digest) || (this.#only && !this.#only.has(digest))) continue
      const chunks = this.chunks.chunkFileIndices(digest).length
      if (chunks === 0) continue
      this.#unknown.set(digest, chunks)
      this.emit('unknown-chunks', { digest, chunks })
    }
    return downloads
  }

  /** Reads every chunk file of a download and checks it; one that fails (or does not fit) is deleted. */
  async #checkChunkFiles(digest: string, manifest: Manifest): Promise<number[]> {
    const dropped: number[] = []
    const count = manifest.hashes.length
    for (const index of this.chunks.chunkFileIndices(digest)) {
      const good = index < count && (await readVerifiedChunk(this.chunks, manifest, digest, index))
      if (!good) {
        await this.chunks.delete(digest, index)
        dropped.push(index)
      }
    }
    if (dropped.length > 0) this.emit('chunks-dropped', { digest, indices: dropped })
    return dropped
  }

  #register(file: ListedFile, record: StoredFile): void {
    this.#setName(file.name, { digest: record.digest, size: file.size, mtimeMs: file.mtimeMs })
    if (!this.chunks.completeFile(record.digest)) {
      this.chunks.setComplete(record.digest, {
        path: this.layout.filePath(file.name),
        size: file.size,
        mtimeMs: file.mtimeMs,
        chunkSize: record.manifest.chunkSize,
        chunkCount: record.manifest.hashes.length,
      })
    }
  }

  #setName(name: string, shared: SharedName): void {
    this.#forgetName(name)
    this.#byName.set(name, shared)
    const names = this.#namesByDigest.get(shared.digest) ?? new Set()
    names.add(name)
    this.#namesByDigest.set(shared.digest, names)
  }

  #forgetName(name: string): void {
    const shared = this.#byName.get(name)
    if (!shared) return
    this.#byName.delete(name)
    const names = this.#namesByDigest.get(shared.digest)
    names?.delete(name)
    if (names?.size === 0) this.#namesByDigest.delete(shared.digest)
  }

  #reportSkipped(skipped: { name: string; reason: SkipReason }[]): void {
    for (const { name, reason } of skipped) {
      if (this.#skippedReported.has(name)) continue
      this.#skippedReported.add(name)
      this.emit('skipped', { name, reason })
    }
  }

  #reportDuplicate(digest: string): void {
    const names = this.namesOf(digest)
    if (names.length > 1) this.emit('duplicate', { digest, names })
  }

  // ---------------------------------------------------------------- hashing

  async #hashQueued(): Promise<void> {
    if (this.#hashing || this.#closed) return this.#hashing
    this.#hashing = (async () => {
      while (!this.#closed) {
        const next = this.#nextSettled()
        if (!next) break
        this.#toHash.delete(next.name)
        await this.#hashOne(next)
      }
      this.#flushShares()
      await this.#cache.save().catch((error) => this.emit('problem', { error: asSwarmError(error) }))
    })().finally(() => {
      this.#hashing = undefined
    })
    return this.#hashing
  }

  /** The next file to hash whose last change is older than SETTLE_MS; others wait for a rescan. */
  #nextSettled(): ListedFile | undefined {
    const now = this.#now()
    for (const file of this.#toHash.values()) if (now - file.mtimeMs >= SETTLE_MS) return file
    if (this.#toHash.size > 0) this.#scheduleRescan(SETTLE_MS)
    return undefined
  }

  async #hashOne(file: ListedFile): Promise<void> {
    const path = this.layout.filePath(file.name)
    let lastProgress = 0
    try {
      const hashed = await hashFile(path, {
        signal: this.#stopHashing.signal,
        onProgress: (bytesDone, bytesTotal) => {
          const now = this.#now()
          if (now - lastProgress < PROGRESS_MS && bytesDone < bytesTotal) return
          lastProgress = now
          this.emit('hashing', { name: file.name, bytesDone, bytesTotal })
        },
      })
      const record: StoredFile = {
        digest: await manifestDigest(hashed.manifest),
        name: shareableName({ name: file.name }),
        mime: '',
        manifest: hashed.manifest,
        origin: 'shared',
        addedAtMs: this.#now(),
      }
      await this.#shareHashed({ name: file.name, size: hashed.size, mtimeMs: hashed.mtimeMs }, record)
    } catch (error) {
      const swarmError = asSwarmError(error)
      if (swarmError.code === 'CANCELLED') return // closing
      if (swarmError.code === 'SOURCE_CHANGED' || errnoOf(error) === 'ENOENT') {
        this.#scheduleRescan(SETTLE_MS) // still being written, or gone: the rescan sees which
      } else if (swarmError.code === 'FILE_TOO_LARGE') {
        this.emit('skipped', { name: file.name, reason: 'too-large' })
      } else if (errnoOf(error) === 'EACCES' || errnoOf(error) === 'EISDIR') {
        this.emit('skipped', { name: file.name, reason: 'unreadable' })
      } else {
        this.emit('problem', { name: file.name, error: swarmError })
      }
    }
  }

  async #shareHashed(file: ListedFile, record: StoredFile): Promise<void> {
    const engine = this.#engine
    const { digest } = record
    this.#cache.set(file.name, { size: file.size, mtimeMs: file.mtimeMs, digest })
    if (this.chunks.completeFile(digest)) {
      this.#register(file, record) // the same bytes under another name
      this.#reportDuplicate(digest)
      return
    }
    const downloading = engine?.local.get(digest)
    if (downloading) {
      // Someone put the whole file in DIR while it was being downloaded: it is complete now.
      engine!.swarm.removeDownload(digest)
      this.#toCombine.delete(digest)
    } else {
      await this.#records.put(record)
    }
    this.#register(file, record)
    await this.chunks.deleteChunkFiles(digest)
    this.emit('shared', { name: file.name, digest, size: file.size, fromCache: false })
    this.#shareBatch.push(downloading ? { ...downloading.record, origin: 'shared' } : record)
    if (downloading) await this.#records.put({ ...downloading.record, origin: 'shared' })
    this.#shareTimer ??= setTimeout(() => this.#flushShares(), SHARE_BATCH_MS)
  }

  #flushShares(): void {
    clearTimeout(this.#shareTimer)
    this.#shareTimer = undefined
    const batch = this.#shareBatch.splice(0)
    if (batch.length === 0 || this.#closed) return
    this.#engine?.shareStored(batch)
    // Saved as it goes: a start cut short after hashing half a large folder keeps that half.
    void this.#cache.save().catch((error) => this.emit('problem', { error: asSwarmError(error) }))
  }

  // ---------------------------------------------------------------- combining

  async #combineQueued(): Promise<void> {
    if (this.#combining || this.#closed) return this.#combining
    this.#combining = (async () => {
      const waiting = [...this.#toCombine]
      for (const digest of waiting) {
        if (this.#closed) break
        if (await this.#combine(digest)) this.#toCombine.delete(digest)
      }
    })().finally(() => {
      this.#combining = undefined
    })
    return this.#combining
  }

  /** Combines one finished download; false when it must wait (a full disk), true when done or moot. */
  async #combine(digest: string): Promise<boolean> {
    const engine = this.#engine
    const local = engine?.local.get(digest)
    if (!engine || !local?.have.complete || this.chunks.completeFile(digest)) return true
    const { record } = local
    const wanted = sanitizeFileName(record.name)
    try {
      await ensureDiskRoom(this.layout.dir, record.manifest.size, `assembling ${wanted}`)
      const combined = await combineChunks({
        layout: this.layout,
        io: this.#io,
        record,
        name: wanted,
        readChunk: (index) => engine.local.read(digest, index),
        beforePlacing: ({ name, size, mtimeMs }) => {
          this.#placing.add(name)
          this.#cache.set(name, { size, mtimeMs, digest })
        },
      })
      this.#placing.clear()
      const shared = { ...record, origin: 'shared' as const }
      this.#register({ name: combined.name, size: combined.size, mtimeMs: combined.mtimeMs }, shared)
      await this.chunks.deleteChunkFiles(digest)
      await this.#records
        .put(shared)
        .catch((error) => this.emit('problem', { digest, error: asSwarmError(error) }))
      await this.#cache.save().catch(() => {})
      this.emit('combined', {
        digest,
        name: combined.name,
        path: combined.path,
        size: combined.size,
      })
      return true
    } catch (error) {
      this.#placing.clear()
      const swarmError = asSwarmError(error)
      this.emit('problem', { digest, name: wanted, error: swarmError })
      if (swarmError.code === 'CHUNK_CORRUPT') {
        // A chunk went bad on disk since it was stored (and is gone now): fetch it again, then combine.
        engine.swarm.removeDownload(digest)
        void engine.fetch(digest).catch(() => {})
        return true
      }
      return false
    }
  }

  // ---------------------------------------------------------------- unknown chunk files

  async #adopt(engine: SwarmEngine, digest: string): Promise<boolean> {
    let manifest: Manifest
    try {
      manifest = await engine.manifestOf(digest)
    } catch {
      return false // nobody has it (yet): the chunk files stay, unknown
    }
    // Listed in the catalog, the file gets the name it is shared under (the engine remembers entries listed).
    await engine.catalog({ query: digest }).catch(() => undefined)
    await this.#checkChunkFiles(digest, manifest)
    const have = new Bitfield(manifest.hashes.length)
    for (const index of this.chunks.chunkFileIndices(digest)) have.set(index)
    this.#unknown.delete(digest)
    const download = await engine.adopt(digest, manifest, have)
    const { name } = download.file.record
    this.emit('adopted', { digest, name, chunks: have.count, chunkCount: have.length })
    return true
  }

  // ---------------------------------------------------------------- watching

  #startWatching(): void {
    try {
      this.#watcher = watch(this.layout.dir, { persistent: false }, () =>
        this.#scheduleRescan(WATCH_DEBOUNCE_MS),
      )
      this.#watcher.on('error', () => this.#watcher?.close()) // e.g. DIR deleted: the rescan timer goes on
    } catch (error) {
      this.emit('problem', { error: asSwarmError(error) }) // inotify watches used up: the rescan timer does it
    }
    this.#rescanTimer = setInterval(() => void this.#rescan(), RESCAN_MS)
    this.#rescanTimer.unref()
  }

  #scheduleRescan(delayMs: number): void {
    if (this.#closed || !this.#watchEnabled) return
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => void this.#rescan(), delayMs)
  }

  /** Looks at DIR again: new and changed files are hashed, removed ones stop being shared. */
  async #rescan(): Promise<void> {
    if (this.#closed) return
    if (this.#scanning) {
      this.#rescanAgain = true
      return
    }
    this.#scanning = (async () => {
      do {
        this.#rescanAgain = false
        await this.#rescanOnce().catch((error) => this.emit('problem', { error: asSwarmError(error) }))
      } while (this.#rescanAgain && !this.#closed)
    })().finally(() => {
      this.#scanning = undefined
    })
    await this.#scanning
  }

  async #rescanOnce(): Promise<void> {
    const listing = await listFolder(this.layout.dir)
    this.#reportSkipped(listing.skipped)
    const present = new Set<string>()
    for (const file of listing.files) {
      present.add(file.name)
      if (this.#placing.has(file.name)) continue
      const shared = this.#byName.get(file.name)
      if (shared && shared.size === file.size && shared.mtimeMs === file.mtimeMs) continue
      if (shared) await this.#unshare(file.name, 'changed')
      const digest = this.#cache.lookup(file.name, file.size, file.mtimeMs)
      const record = digest ? await this.#records.get(digest) : undefined
      if (record && this.chunks.completeFile(record.digest)) this.#register(file, record)
      else this.#toHash.set(file.name, file)
    }
    for (const name of [...this.#byName.keys()]) {
      if (!present.has(name) && !this.#placing.has(name)) await this.#unshare(name, 'removed')
    }
    for (const name of [...this.#toHash.keys()]) if (!present.has(name)) this.#toHash.delete(name)
    this.#cache.retainOnly(present)
    void this.#hashQueued()
    void this.#combineQueued()
  }

  /** Stops sharing a name; the bytes stay shared while another name in DIR holds them. */
  async #unshare(name: string, reason: 'removed' | 'changed'): Promise<void> {
    const shared = this.#byName.get(name)
    if (!shared) return
    this.#forgetName(name)
    this.#cache.delete(name)
    const { digest } = shared
    const batched = this.#shareBatch.findIndex((record) => record.digest === digest)
    if (batched >= 0 && this.namesOf(digest).length === 0) this.#shareBatch.splice(batched, 1)
    const [other] = this.namesOf(digest)
    if (other) {
      const otherShared = this.#byName.get(other)!
      const complete = this.chunks.completeFile(digest)!
      this.chunks.setComplete(digest, {
        ...complete,
        path: this.layout.filePath(other),
        ...pick(otherShared),
      })
    } else {
      this.chunks.clearComplete(digest) // first: removing it from the engine must not touch the file
      await this.#engine
        ?.remove(digest)
        .catch((error) => this.emit('problem', { digest, error: asSwarmError(error) }))
      if (!this.#engine) await this.#records.delete(digest)
    }
    this.emit('unshared', { name, digest, reason })
  }

  /** A complete file's bytes no longer match: every name holding them is looked at again (and re-hashed). */
  #onCompleteFileChanged(digest: string): void {
    for (const name of this.namesOf(digest)) {
      const shared = this.#byName.get(name)!
      this.#cache.delete(name)
      // Forget the size and mtime it had, so that the rescan treats it as changed even if they are the same.
      this.#setName(name, { ...shared, mtimeMs: -1 })
    }
    this.#scheduleRescan(0)
  }
}

/** DIR must exist and be a folder (else bad usage), and be readable and writable (else a failure). */
async function checkFolder(dir: string): Promise<void> {
  try {
    await readdir(dir)
  } catch (error) {
    const code = errnoOf(error)
    if (code === 'ENOENT') throw usageError(`${dir} does not exist: create it, or give another folder`)
    if (code === 'ENOTDIR') throw usageError(`${dir} is not a folder`)
    throw new CliError(`cannot read ${dir}: ${(error as Error).message}`, EXIT_FAILURE)
  }
  const probe = join(dir, `.swarmdrop-write-test-${process.pid}`)
  try {
    await nodeIo.writeFile(probe, new Uint8Array(0))
    await removeQuietly(probe)
  } catch (error) {
    throw new CliError(`cannot write in ${dir}: ${(error as Error).message}`, EXIT_FAILURE)
  }
}

async function emptyFolder(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await removeQuietly(join(dir, name)).catch(() => {})
}

function pick(shared: SharedName): { size: number; mtimeMs: number } {
  return { size: shared.size, mtimeMs: shared.mtimeMs }
}

function asSwarmError(error: unknown): SwarmError {
  if (error instanceof SwarmError) return error
  return new SwarmError('STORAGE_FAILED', error instanceof Error ? error.message : String(error), {
    cause: error,
  })
}

/** A FileStore that holds some files only: the rest of the folder's records are not this process's business. */
function onlyThese(store: FileStore, digests: ReadonlySet<string>): FileStore {
  return {
    put: (record) => (digests.has(record.digest) ? store.put(record) : Promise.resolve()),
    get: (key) => (digests.has(key) ? store.get(key) : Promise.resolve(undefined)),
    list: async () => {
      const { files, unreadable } = await store.list()
      return {
        files: files.filter((r) => digests.has(r.digest)),
        unreadable: unreadable.filter((k) => digests.has(k)),
      }
    },
    delete: (key) => (digests.has(key) ? store.delete(key) : Promise.resolve()),
  }
}
