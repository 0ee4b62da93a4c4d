/**
 * An engine without a tracker, links or storage: the components and their controllers run against it
 * in real Chromium. Each fake keeps what it was asked and lets a test fire the events the real one would.
 */
import { Bitfield } from '../../../../shared/bitfield.js'
import { ERROR_CODES, SwarmError } from '../../../../shared/errors.js'
import { DEFAULT_TRACKER_LIMITS } from '../../../../shared/limits.js'
import type { CatalogEntry, ServerMessageOf } from '../../../../shared/tracker-protocol.js'
import type {
  AppServicesOptions,
  DownloadLike,
  EngineLike,
  IngesterLike,
  SessionLike,
} from '../../../../web/app/services.js'
import type { Ban } from '../../../../web/peer/ban-list.js'
import type { NameHit, ProviderHit } from '../../../../web/peer/content-routing.js'
import type { DownloadEvents, DownloadProgress, DownloadState } from '../../../../web/peer/download.js'
import type { EngineEvents, FetchHints } from '../../../../web/peer/engine.js'
import type { EntryPointInfo } from '../../../../web/peer/entry-point.js'
import type { LinkBudget } from '../../../../web/peer/link-manager.js'
import type { LocalFile, LocalFilesEvents } from '../../../../web/peer/local-files.js'
import type { ConnectionType } from '../../../../web/peer/peer-link.js'
import type { MembershipInput } from '../../../../web/peer/ring/membership-policy.js'
import { aloneStatus, type RingStatus } from '../../../../web/peer/ring/ring-status.js'
import type { SwarmEvents } from '../../../../web/peer/swarm.js'
import type { CatalogQuery, TrackerClientEvents, TrackerStatus } from '../../../../web/peer/tracker-client.js'
import { TypedEventTarget } from '../../../../web/peer/typed-events.js'
import type { StoredFile } from '../../../../web/storage/file-store.js'
import type { IngestProgress, IngestResult } from '../../../../web/storage/ingest.js'
import type { IngestCallbacks, IngestJob } from '../../../../web/storage/ingester.js'
import type { ShareOptions } from '../../../../web/storage/worker-messages.js'

export { ERROR_CODES }

/** A digest made from a number: 64 lowercase hex characters. */
export function digestOf(n: number): string {
  return n.toString(16).padStart(8, '0').repeat(8)
}

export const CHUNK = 1024 * 1024

export function recordOf(
  digest: string,
  name: string,
  chunkCount: number,
  options: Partial<Pick<StoredFile, 'origin' | 'addedAtMs' | 'plainSha256'>> = {},
): StoredFile {
  const size = chunkCount * CHUNK
  return {
    digest,
    name,
    mime: '',
    manifest: { size, chunkSize: CHUNK, hashes: Array.from({ length: chunkCount }, () => 'a'.repeat(64)) },
    origin: options.origin ?? 'shared',
    addedAtMs: options.addedAtMs ?? 1,
    ...(options.plainSha256 ? { plainSha256: options.plainSha256 } : {}),
  }
}

export function entryOf(digest: string, name: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    digest,
    names: [name],
    size: 3 * CHUNK,
    chunkSize: CHUNK,
    chunkCount: 3,
    seeders: 1,
    leechers: 0,
    ...extra,
  }
}

export class FakeTracker extends TypedEventTarget<TrackerClientEvents> {
  status: TrackerStatus = { state: 'connecting' }
  peersReply: ServerMessageOf<'peers'> | SwarmError = new SwarmError('FILE_NOT_FOUND', 'nobody')
  readonly peersAsked: string[] = []

  setStatus(status: TrackerStatus): void {
    this.status = status
    this.emit('status', status)
  }

  /** Goes online with a welcome, as the real client does (status first, then the welcome). */
  goOnline(peerId = 'MyOwnPeerId_0001'): void {
    this.setStatus({ state: 'online', peerId, iceServers: [] })
    this.emit('welcome', {
      type: 'welcome',
      protocol: 1,
      peerId,
      iceServers: [],
      heartbeatMs: 30_000,
      limits: { ...DEFAULT_TRACKER_LIMITS },
    })
  }

  catalogChanged(revision: number): void {
    this.emit('catalog-changed', { revision })
  }

  fail(code: (typeof ERROR_CODES)[number], message: string, digest?: string): void {
    this.emit('error', { code, message, ...(digest ? { digest } : {}) })
  }

  async peers(digest: string): Promise<ServerMessageOf<'peers'>> {
    this.peersAsked.push(digest)
    if (this.peersReply instanceof SwarmError) throw this.peersReply
    return this.peersReply
  }
}

export class FakeDownload extends TypedEventTarget<DownloadEvents> implements DownloadLike {
  state: DownloadState = 'downloading'
  current: DownloadProgress

  constructor(
    readonly digest: string,
    chunkCount: number,
  ) {
    super()
    this.current = {
      state: 'downloading',
      bytesHere: 0,
      bytesTotal: chunkCount * CHUNK,
      chunksHere: 0,
      chunkCount,
      bytesPerSecond: 0,
      sources: 0,
    }
  }

  progress(): DownloadProgress {
    return this.current
  }

  chunk(event: DownloadEvents['chunk']): void {
    this.emit('chunk', event)
  }
}

export class FakeSession implements SessionLike {
  destroyed = false
  readonly link: { connectionType(): Promise<ConnectionType> }
  constructor(
    readonly peerId: string,
    type: ConnectionType,
  ) {
    this.link = { connectionType: async () => type }
  }
}

export class FakeSwarm extends TypedEventTarget<SwarmEvents> {
  sessions: SessionLike[] = []
  readonly downloads = new Map<string, FakeDownload>()

  getDownload(digest: string): FakeDownload | undefined {
    return this.downloads.get(digest)
  }

  uploaded(peerId: string, bytes: number, digest = '0'.repeat(64)): void {
    this.emit('uploaded', { peerId, digest, bytes })
  }
}

export class FakeLocal extends TypedEventTarget<LocalFilesEvents> {
  readonly files = new Map<string, LocalFile>()

  list(): LocalFile[] {
    return [...this.files.values()]
  }

  get(digest: string): LocalFile | undefined {
    return this.files.get(digest)
  }

  bytesHere(digest: string): number {
    const file = this.files.get(digest)
    return file ? file.have.count * CHUNK : 0
  }

  add(record: StoredFile, chunksHere: number[] | 'all' = 'all'): LocalFile {
    const count = record.manifest.hashes.length
    const have = chunksHere === 'all' ? Bitfield.full(count) : new Bitfield(count)
    if (chunksHere !== 'all') for (const index of chunksHere) have.set(index)
    const file = { record, have }
    this.files.set(record.digest, file)
    this.emit('file-added', file)
    return file
  }

  replace(record: StoredFile): void {
    const held = this.files.get(record.digest)
    if (!held) return
    const file = { record, have: held.have }
    this.files.set(record.digest, file)
    this.emit('file-added', file)
  }

  store(digest: string, index: number): void {
    this.files.get(digest)?.have.set(index)
    this.emit('chunk-stored', { digest, index })
  }

  drop(digest: string): void {
    this.files.delete(digest)
    this.emit('file-removed', { digest })
  }
}

export class FakeEngine extends TypedEventTarget<EngineEvents> implements EngineLike {
  readonly tracker = new FakeTracker()
  readonly swarm = new FakeSwarm()
  readonly local = new FakeLocal()
  catalogEntries: CatalogEntry[] = []
  readonly catalogQueries: CatalogQuery[] = []
  readonly fetched: string[] = []
  readonly paused: string[] = []
  readonly removed: string[] = []
  readonly shared: string[] = []
  readonly storedDigests: string[] = []
  revision = 0
  linkBudget: LinkBudget = { built: 0, budget: 500, state: 'ok' }
  activeBans: Ban[] = []
  ring: RingStatus = aloneStatus({ nodeId: 'ab'.repeat(32), peerId: 'MyOwnPeerId_0001' }, false)
  entries: EntryPointInfo[] = []
  /** What findProviders answers (a SwarmError: it rejects with it). */
  providers: ProviderHit[] | SwarmError = []
  /** What search answers, and the queries it was asked. */
  nameHits: NameHit[] = []
  readonly searches: string[] = []

  readonly membershipInputs: MembershipInput[] = []

  ringStatus(): RingStatus {
    return this.ring
  }

  setMembershipInput(input: MembershipInput): void {
    this.membershipInputs.push(input)
  }

  /** Changes the ring status as the real engine would, with its `ring` event. */
  setRing(update: Partial<RingStatus>): void {
    this.ring = { ...this.ring, ...update }
    this.emit('ring', this.ring)
  }

  entryPoints(): EntryPointInfo[] {
    return this.entries
  }

  setEntryPoints(entries: EntryPointInfo[]): void {
    this.entries = entries
    this.emit('entry-points', entries)
  }

  async findProviders(_digest: string): Promise<ProviderHit[]> {
    if (this.providers instanceof SwarmError) throw this.providers
    return this.providers
  }

  async search(query: string): Promise<NameHit[]> {
    this.searches.push(query)
    const words = query.toLowerCase().split(/\s+/).filter(Boolean)
    return this.nameHits.filter((hit) =>
      words.every((w) => hit.names.some((n) => n.toLowerCase().includes(w))),
    )
  }

  readonly #shown = new Map<string, CatalogEntry>()

  catalogEntry(digest: string): CatalogEntry | undefined {
    return this.#shown.get(digest)
  }

  async catalog(query: CatalogQuery = {}): Promise<ServerMessageOf<'catalog'>> {
    this.catalogQueries.push(query)
    const text = query.query?.trim().toLowerCase() ?? ''
    const matching = this.catalogEntries.filter(
      (entry) =>
        !text ||
        entry.names.some((name) => name.toLowerCase().includes(text)) ||
        (text.length >= 4 && /^[0-9a-f]+$/.test(text) && entry.digest.startsWith(text)),
    )
    const offset = query.offset ?? 0
    const limit = query.limit ?? 50
    // As SwarmEngine does: entries the page was shown are remembered (catalogEntry).
    for (const entry of matching.slice(offset, offset + limit)) this.#shown.set(entry.digest, entry)
    return {
      type: 'catalog',
      revision: this.revision,
      total: matching.length,
      offset,
      files: matching.slice(offset, offset + limit),
    }
  }

  share(record: StoredFile): void {
    this.shared.push(record.digest)
    this.local.add(record, 'all')
    this.emit('file', { digest: record.digest, progress: undefined })
  }

  stored(record: StoredFile): void {
    this.storedDigests.push(record.digest)
  }

  async fetch(digest: string, _hints?: FetchHints): Promise<unknown> {
    this.fetched.push(digest)
    return undefined
  }

  pause(digest: string): void {
    this.paused.push(digest)
  }

  readonly stopped: string[] = []

  async stopSharing(digest: string): Promise<void> {
    this.stopped.push(digest)
    const held = this.local.get(digest)
    if (held) await this.updateRecord({ ...held.record, notShared: true })
  }

  async shareAgain(digest: string): Promise<void> {
    const held = this.local.get(digest)
    if (!held) return
    const { notShared: _, ...record } = held.record
    await this.updateRecord(record)
  }

  async updateRecord(record: StoredFile): Promise<void> {
    const held = this.local.get(record.digest)
    if (!held) return
    this.local.replace(record)
    this.emit('file', { digest: record.digest, progress: undefined })
  }

  async remove(digest: string): Promise<void> {
    this.removed.push(digest)
    this.local.drop(digest)
    this.emit('file', { digest, progress: undefined })
  }

  /** A download's progress, relayed as the real engine relays it. */
  progress(digest: string, progress: DownloadProgress): void {
    const download = this.swarm.downloads.get(digest)
    if (download) {
      download.current = progress
      download.state = progress.state
    }
    this.emit('file', { digest, progress })
  }

  problem(error: SwarmError, digest?: string): void {
    this.emit('problem', digest ? { digest, error } : { error })
  }
}

/** An ingester whose jobs the test drives: progress, manifest, done or failed. */
export class FakeIngester implements IngesterLike {
  readonly jobs: {
    file: Blob
    callbacks: IngestCallbacks
    share: ShareOptions & { name?: string }
    resolve(result: IngestResult): void
    reject(error: unknown): void
    cancelled: boolean
  }[] = []

  ingest(
    file: Blob,
    callbacks: IngestCallbacks = {},
    share: ShareOptions & { name?: string } = {},
  ): IngestJob {
    let resolve!: (result: IngestResult) => void
    let reject!: (error: unknown) => void
    const result = new Promise<IngestResult>((res, rej) => {
      resolve = res
      reject = rej
    })
    const job = { file, callbacks, share, resolve, reject, cancelled: false }
    this.jobs.push(job)
    return {
      result,
      cancel: () => {
        job.cancelled = true
        reject(new SwarmError('CANCELLED', 'cancelled'))
      },
    }
  }

  progress(index: number, progress: IngestProgress): void {
    this.jobs[index]!.callbacks.onProgress?.(progress)
  }
}

export interface Fakes {
  engine: FakeEngine
  ingester: FakeIngester
  saved: StoredFile[]
  copied: string[]
}

/** Options for AppServices over fresh fakes; `saved` and `copied` record what was saved and copied. */
export function fakeOptions(
  overrides: Partial<AppServicesOptions> = {},
): { options: AppServicesOptions } & Fakes {
  const engine = new FakeEngine()
  const ingester = new FakeIngester()
  const saved: StoredFile[] = []
  const copied: string[] = []
  const options: AppServicesOptions = {
    engine,
    ingester,
    storage: { estimate: async () => ({ quota: 10 * 1024 ** 3, usage: 5 * 1024 ** 2 }) },
    saveFile: async (record) => {
      saved.push(record)
    },
    clipboard: {
      writeText: async (text) => {
        copied.push(text)
      },
    },
    pageUrl: 'http://swarm.test/',
    ...overrides,
  }
  return { options, engine, ingester, saved, copied }
}
