/**
 * One file being downloaded from every source that has pieces of it (SPEC §5): a few chunks in flight
 * per source, rarest first, an endgame for the last chunks, and a source that sends three chunks failing
 * their hash is banned. Every chunk is verified before it is stored (LocalFiles.write), and each stored
 * chunk is announced to others by the swarm at once.
 *
 * Stalls are judged per source, by its progress (docs/PROTOCOL.md, "Downloading"): a source that has
 * requests out and has delivered nothing for SOURCE_QUIET_MS is quiet, and its chunks are asked of a
 * source that is not, at once, while its own requests stay out; one quiet for REQUEST_STALL_MS has its
 * requests cancelled and counts a stall. A source that stalled gets fewer requests, and is asked after
 * the others, until it delivers again: its stall count decays with each STALL_DECAY_CHUNKS it delivers.
 * A new source is on probation, one request at a time, until its first chunk checks out.
 */
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import { chunkLength } from '../../shared/manifest.js'
import type { ControlMessage } from '../../shared/wire-protocol.js'
import { pickChunk } from './chunk-picker.js'
import type { Clock } from './clock.js'
import type { LocalFile, LocalFiles } from './local-files.js'
import type { PeerSession } from './peer-session.js'
import { TypedEventTarget } from './typed-events.js'

/** Chunks requested from one source at once: enough to keep a fast link busy while one is verified. */
export const IN_FLIGHT_PER_SOURCE = 4
/**
 * A source's next request leaves as soon as its chunk is in whole, not once it is checked and stored, while
 * no more than this many chunks wait for storage, and no more than the store takes (ChunkStore.writeAhead:
 * the CLI's folder takes 4, IndexedDB none); past it, requests wait as they always did (for storage, or the
 * next tick), so a disk slower than the network holds at most this many more chunks in memory.
 */
export const MAX_CHUNKS_VERIFYING = 4
/** Sources one download talks to at once (SPEC §5 cap). */
export const MAX_SOURCES_PER_FILE = 8
/**
 * A source with requests out that delivers nothing for this long is stalled: its requests are cancelled and
 * asked of others, and it counts a stall.
 */
export const REQUEST_STALL_MS = 10_000
/**
 * A source with requests out that delivers nothing for this long is quiet: its chunks are asked of another
 * source at once (its own requests stay out). Loopback delivers a 256 KiB frame every ~10 ms and a slow
 * relayed path one every few hundred ms; 2 s of silence is not a slow source but a stalled one. Once the
 * download has timed its chunks, the threshold is 3 × the usual time from a request to its last byte, within
 * MIN_QUIET_MS and SOURCE_QUIET_MS: on a fast swarm a stalled source is seen in well under a second.
 */
export const SOURCE_QUIET_MS = 2_000
export const MIN_QUIET_MS = 500
/** Weight of each new chunk's time in the running average the quiet threshold follows. */
const CHUNK_TIME_WEIGHT = 0.2
/**
 * Bytes a source must deliver to count as progress: a peer cannot keep its requests alive by dribbling a
 * byte now and then. One smallest frame (MIN_FRAME_BYTES).
 */
export const PROGRESS_BYTES = 16 * 1024
/** Chunks a stalled source must deliver for one of its stalls to be forgiven. */
export const STALL_DECAY_CHUNKS = 4
/** Bad chunks after which a source is banned for the session (SPEC §5). */
export const MAX_BAD_CHUNKS = 3
/** Stalls after which a source is dropped from this download (it advertises but does not answer). */
export const MAX_STALLS = 3
/** In the endgame, how many sources may be asked for the same chunk at once. */
export const ENDGAME_REQUESTS_PER_CHUNK = 2
/**
 * In the endgame a chunk is asked of a second source only once its request is late: out for this many
 * times the usual chunk time (and never before the download has timed one). Asking at once for every last
 * chunk twice cost 3–9% of a flash crowd's bytes in duplicates (bench/flash, issue 16); a source that
 * stops altogether is left by the quiet rule anyway.
 */
export const ENDGAME_LATE_FACTOR = 2
/** How long a source that said it is busy is left alone. */
export const BUSY_BACKOFF_MS = 2_000
/** How often stalls are looked for and idle sources given work. */
export const TICK_MS = 500
/**
 * Window over which speed is measured, counting bytes as their frames arrive: when a source leaves or the
 * path goes quiet, the figure is zero within this long (issue 14: it used to read the last speed for ~20 s).
 */
const SPEED_WINDOW_MS = 2_000

export type DownloadState = 'downloading' | 'paused' | 'complete' | 'error'

export interface DownloadProgress {
  state: DownloadState
  bytesHere: number
  bytesTotal: number
  chunksHere: number
  chunkCount: number
  /** Bytes a second over the last few seconds. */
  bytesPerSecond: number
  sources: number
  error?: SwarmError
}

export type DownloadEvents = {
  progress: DownloadProgress
  /** A chunk changed state, for the chunk map: requested from a peer, stored (from whom), or failed. */
  chunk: { index: number; state: 'in-flight' | 'here' | 'missing'; peerId?: string }
  complete: LocalFile
  /** A source sent bad data three times and is banned for the session. */
  ban: { peerId: string }
}

interface Request {
  readonly id: number
  readonly index: number
  readonly source: Source
  readonly buffer: Uint8Array
  received: number
  readonly sentAtMs: number
}

interface Source {
  readonly session: PeerSession
  /** null until the source says which chunks it has. */
  have: Bitfield | null
  readonly requests: Map<number, Request>
  /** Chunks this source failed or refused: asked of others instead. */
  readonly avoid: Set<number>
  badChunks: number
  /** Chunks it has delivered that checked out: until its first, it is on probation (one request at a time). */
  delivered: number
  stalls: number
  /** Chunks delivered since its last stall was forgiven (STALL_DECAY_CHUNKS forgive one). */
  deliveredSinceStall: number
  /** When it last made progress (PROGRESS_BYTES delivered), or its first request went out after none. */
  progressMs: number
  /** Bytes delivered since `progressMs`, towards the next PROGRESS_BYTES. */
  progressBytes: number
  busyUntilMs: number
  readonly unsubscribe: (() => void)[]
}

export interface DownloadOptions {
  file: LocalFile
  local: LocalFiles
  clock: Clock
  random?: () => number
  /** Called when a source must be banned for the session (three bad chunks). */
  ban(peerId: string): void
}

export class Download extends TypedEventTarget<DownloadEvents> {
  readonly digest: string
  #state: DownloadState = 'paused'
  #error: SwarmError | undefined
  readonly #sources = new Map<string, Source>()
  /** Requests out per chunk index. */
  readonly #requestsByIndex = new Map<number, Request[]>()
  /** Chunks received in full and being checked and stored: not to be asked for again meanwhile. */
  readonly #verifying = new Set<number>()
  #tick: unknown
  #destroyed = false
  readonly #delivered: { atMs: number; bytes: number }[] = []
  /** Running average of the time from a request to its chunk's last byte, once one has come. */
  #chunkMs: number | undefined
  readonly #random: () => number

  constructor(private readonly options: DownloadOptions) {
    super()
    this.digest = options.file.record.digest
    this.#random = options.random ?? Math.random
  }

  get state(): DownloadState {
    return this.#state
  }

  get file(): LocalFile {
    return this.options.local.get(this.digest) ?? this.options.file
  }

  get sourceIds(): string[] {
    return [...this.#sources.keys()]
  }

  start(): void {
    if (this.#destroyed || this.#state === 'complete') return
    if (this.file.have.complete) return this.#complete()
    this.#state = 'downloading'
    this.#error = undefined
    this.#scheduleTick()
    this.#fill()
    this.#report()
  }

  /** Stops requesting; requests out are cancelled. Stored chunks stay. */
  pause(error?: SwarmError): void {
    if (this.#destroyed || this.#state === 'complete') return
    this.#state = error ? 'error' : 'paused'
    this.#error = error
    this.options.clock.clearTimeout(this.#tick)
    for (const source of this.#sources.values()) {
      for (const request of [...source.requests.values()]) this.#cancel(request)
    }
    this.#report()
  }

  /** Adds a source: a peer session that has (or may have) chunks of this file. */
  addSource(session: PeerSession): void {
    if (this.#destroyed || this.#sources.has(session.peerId) || this.#sources.size >= MAX_SOURCES_PER_FILE)
      return
    if (session.destroyed) return
    const source: Source = {
      session,
      have: null,
      requests: new Map(),
      avoid: new Set(),
      badChunks: 0,
      delivered: 0,
      stalls: 0,
      deliveredSinceStall: 0,
      progressMs: this.options.clock.now(),
      progressBytes: 0,
      busyUntilMs: 0,
      unsubscribe: [],
    }
    source.unsubscribe.push(
      session.on('control', (message) => this.#onControl(source, message)),
      session.on('chunk', (frame) => this.#onChunkFrame(source, frame)),
      session.on('close', () => this.#removeSource(source)),
    )
    this.#sources.set(session.peerId, source)
    session.send({ type: 'interested', digest: this.digest }).catch(() => this.#removeSource(source))
    this.#report()
  }

  get wantsSources(): boolean {
    return this.#state === 'downloading' && this.#sources.size < MAX_SOURCES_PER_FILE
  }

  hasSource(peerId: string): boolean {
    return this.#sources.has(peerId)
  }

  progress(): DownloadProgress {
    const file = this.file
    const now = this.options.clock.now()
    while (this.#delivered.length > 0 && this.#delivered[0]!.atMs < now - SPEED_WINDOW_MS)
      this.#delivered.shift()
    const recent = this.#delivered.reduce((sum, d) => sum + d.bytes, 0)
    const progress: DownloadProgress = {
      state: this.#state,
      bytesHere: this.options.local.bytesHere(this.digest),
      bytesTotal: file.record.manifest.size,
      chunksHere: file.have.count,
      chunkCount: file.have.length,
      // Nothing moves while paused, stopped or done: the figure says so at once, not after the window.
      bytesPerSecond: this.#state === 'downloading' ? recent / (SPEED_WINDOW_MS / 1000) : 0,
      sources: this.#sources.size,
    }
    if (this.#error) progress.error = this.#error
    return progress
  }

  /** Stops everything, once. Stored chunks stay. */
  destroy(): void {
    if (this.#destroyed) return
    this.pause()
    this.#destroyed = true
    for (const source of [...this.#sources.values()]) this.#removeSource(source, false)
  }

  // ---------------------------------------------------------------- events from sources

  #onControl(source: Source, message: Exclude<ControlMessage, { type: 'hello' }>): void {
    switch (message.type) {
      case 'have': {
        if (message.digest !== this.digest) return
        const chunkCount = this.file.have.length
        if (message.chunkCount !== chunkCount) return this.#removeSource(source) // another shape: not a source
        try {
          source.have =
            message.have === 'all' ? Bitfield.full(chunkCount) : Bitfield.fromBase64(chunkCount, message.have)
        } catch {
          return this.#removeSource(source)
        }
        return this.#fill()
      }
      case 'have-chunk':
        if (message.digest !== this.digest || !source.have || message.index >= source.have.length) return
        source.have.set(message.index)
        source.avoid.delete(message.index) // it says it has it now: worth asking again
        return this.#fill()
      case 'reject': {
        const request = source.requests.get(message.id)
        if (!request) return
        this.#progress(source, 0, true)
        this.#forget(request)
        if (message.reason === 'busy') source.busyUntilMs = this.options.clock.now() + BUSY_BACKOFF_MS
        else source.avoid.add(request.index)
        this.#emitChunk(request.index, 'missing')
        return this.#fill()
      }
      default:
        return // interest, requests and manifests are the swarm's business (serving)
    }
  }

  #onChunkFrame(source: Source, frame: { requestId: number; offset: number; bytes: Uint8Array }): void {
    const request = source.requests.get(frame.requestId)
    if (!request) return // cancelled, or another download's request on the same link
    if (frame.offset + frame.bytes.length > request.buffer.length) {
      source.session.fail(new SwarmError('BAD_MESSAGE', 'chunk frame runs past the chunk'))
      return
    }
    request.buffer.set(frame.bytes, frame.offset)
    request.received += frame.bytes.length
    const done = request.received >= request.buffer.length
    // Speed counts bytes as their frames arrive, so it falls to zero as soon as they stop (issue 14).
    this.#delivered.push({ atMs: this.options.clock.now(), bytes: frame.bytes.length })
    this.#progress(source, frame.bytes.length, done)
    if (done) void this.#verify(request)
  }

  /** Counts bytes a source delivered; a whole chunk or PROGRESS_BYTES of them is progress. */
  #progress(source: Source, bytes: number, whole: boolean): void {
    source.progressBytes += bytes
    if (!whole && source.progressBytes < PROGRESS_BYTES) return
    source.progressBytes = 0
    source.progressMs = this.options.clock.now()
  }

  /** A source with requests out that has made no progress for the quiet threshold. */
  #quiet(source: Source, now: number): boolean {
    return source.requests.size > 0 && now - source.progressMs >= this.#quietMs()
  }

  /** SOURCE_QUIET_MS, or 3 × the usual chunk time once known, within MIN_QUIET_MS and SOURCE_QUIET_MS. */
  #quietMs(): number {
    if (this.#chunkMs === undefined) return SOURCE_QUIET_MS
    return Math.min(SOURCE_QUIET_MS, Math.max(MIN_QUIET_MS, 3 * this.#chunkMs))
  }

  async #verify(request: Request): Promise<void> {
    this.#forget(request)
    const { index, source } = request
    if (this.file.have.has(index) || this.#verifying.has(index)) return this.#fill() // another copy won (endgame)
    this.#verifying.add(index)
    // The source's next request goes out now, not after the chunk is hashed and written: the ~10 ms of that
    // (more on a loaded machine) left it with one chunk fewer to send, and its link ran dry between chunks
    // (bench/cli, issue 11). A source on probation waits for its first chunk to check out, as before.
    // Not into IndexedDB (its writeAhead is none): under load its writes lag, and a reload then loses every
    // chunk waiting (issue 4's resume fetches ≤ 5% twice; swarm.e2e.ts measured 8% with 4 allowed).
    const ahead = Math.min(this.options.local.chunks.writeAhead ?? 0, MAX_CHUNKS_VERIFYING)
    if (source.delivered > 0 && this.#verifying.size <= ahead) this.#fill()
    try {
      await this.options.local.write(this.digest, index, request.buffer, source.session.peerId)
    } catch (error) {
      this.#verifying.delete(index)
      if (this.#destroyed) return
      const swarmError = error instanceof SwarmError ? error : new SwarmError('STORAGE_FAILED', String(error))
      if (swarmError.code === 'CHUNK_CORRUPT') return this.#onBadChunk(source, index)
      // Storage full or failing: stop cleanly; what is stored stays (SPEC §3).
      return this.pause(swarmError)
    }
    this.#verifying.delete(index)
    if (this.#destroyed) return
    source.delivered++
    const took = this.options.clock.now() - request.sentAtMs
    this.#chunkMs =
      this.#chunkMs === undefined ? took : this.#chunkMs + CHUNK_TIME_WEIGHT * (took - this.#chunkMs)
    if (source.stalls > 0 && ++source.deliveredSinceStall >= STALL_DECAY_CHUNKS) {
      source.stalls--
      source.deliveredSinceStall = 0
    }
    this.#emitChunk(index, 'here', source.session.peerId)
    for (const duplicate of this.#requestsByIndex.get(index) ?? []) this.#cancel(duplicate)
    if (this.file.have.complete) return this.#complete()
    this.#report()
    this.#fill()
  }

  #onBadChunk(source: Source, index: number): void {
    source.badChunks++
    source.avoid.add(index)
    this.#emitChunk(index, 'missing')
    if (source.badChunks >= MAX_BAD_CHUNKS) {
      const peerId = source.session.peerId
      this.#removeSource(source)
      this.options.ban(peerId)
      this.emit('ban', { peerId })
    }
    this.#fill()
  }

  // ---------------------------------------------------------------- scheduling

  /** Gives every idle source work, rarest chunks first. */
  #fill(): void {
    if (this.#state !== 'downloading' || this.#destroyed) return
    this.#requestFromIdleSources()
    // Every source may have failed some chunk once (a stall, a refusal) and be left with nothing it may be
    // asked for: then nothing is out, and the download would wait forever beside sources that hold what
    // is missing. Forgive the old failures and try again; a source that keeps failing gets dropped.
    if (this.#requestsByIndex.size === 0 && this.#verifying.size === 0 && !this.file.have.complete) {
      let forgiven = false
      for (const source of this.#sources.values()) {
        if (source.avoid.size > 0) {
          source.avoid.clear()
          forgiven = true
        }
      }
      if (forgiven) this.#requestFromIdleSources()
    }
  }

  /**
   * Gives sources work, those that stalled least first. A chunk whose every request is on a quiet source
   * counts as not requested: it is asked of a source that is not quiet, as any unrequested chunk.
   */
  #requestFromIdleSources(): void {
    const file = this.file
    const now = this.options.clock.now()
    const live = (i: number) => this.#liveRequests(i, now)
    const endgame = this.#unrequestedMissing(file, now) === 0
    const sources = [...this.#sources.values()].sort((a, b) => a.stalls - b.stalls)
    for (const source of sources) {
      if (!source.have || source.busyUntilMs > now || source.session.destroyed) continue
      if (this.#quiet(source, now)) continue
      // A source that has delivered nothing yet is asked for one chunk at a time (a source that says it has
      // everything and then stalls holds one chunk, not four); one that stalled is trusted with fewer
      // requests: 4, 2, 1 after 0, 1, 2 stalls.
      const allowance = source.delivered === 0 ? 1 : Math.max(1, IN_FLIGHT_PER_SOURCE >> source.stalls)
      while (source.requests.size < allowance) {
        const have = source.have
        const index = pickChunk({
          chunkCount: file.have.length,
          here: file.have,
          sourceHas: (i) => have.has(i),
          availability: (i) => this.#availability(i),
          inFlight: endgame ? (i) => this.#endgameLoad(i, now) : live,
          excluded: (i) =>
            this.#verifying.has(i) ||
            source.avoid.has(i) ||
            (this.#requestsByIndex.get(i) ?? []).some((r) => r.source === source),
          maxRequestsPerChunk: endgame ? ENDGAME_REQUESTS_PER_CHUNK : 1,
          random: this.#random,
        })
        if (index === undefined) break
        this.#request(source, index)
      }
    }
  }

  #request(source: Source, index: number): void {
    // A source's progress clock starts with its first request out: it has had nothing to deliver before.
    if (source.requests.size === 0) {
      source.progressMs = this.options.clock.now()
      source.progressBytes = 0
    }
    const id = source.session.nextRequestId()
    const request: Request = {
      id,
      index,
      source,
      buffer: new Uint8Array(chunkLength(this.file.record.manifest, index)),
      received: 0,
      sentAtMs: this.options.clock.now(),
    }
    source.requests.set(id, request)
    const siblings = this.#requestsByIndex.get(index) ?? []
    siblings.push(request)
    this.#requestsByIndex.set(index, siblings)
    this.#emitChunk(index, 'in-flight', source.session.peerId)
    source.session
      .send({ type: 'request', id, digest: this.digest, index })
      .catch(() => this.#removeSource(source))
  }

  #cancel(request: Request): void {
    this.#forget(request)
    request.source.session.send({ type: 'cancel', id: request.id }).catch(() => {})
  }

  #forget(request: Request): void {
    request.source.requests.delete(request.id)
    request.source.session.endRequest(request.id)
    const siblings = (this.#requestsByIndex.get(request.index) ?? []).filter((r) => r !== request)
    if (siblings.length > 0) this.#requestsByIndex.set(request.index, siblings)
    else this.#requestsByIndex.delete(request.index)
  }

  #availability(index: number): number {
    let count = 0
    for (const source of this.#sources.values()) if (source.have?.has(index)) count++
    return count
  }

  /** Requests out for a chunk on sources that are not quiet. */
  #liveRequests(index: number, now: number): number {
    let count = 0
    for (const request of this.#requestsByIndex.get(index) ?? [])
      if (!this.#quiet(request.source, now)) count++
    return count
  }

  /**
   * Requests out for a chunk as the endgame counts them: a chunk with a live request that is not late yet
   * counts as fully asked for (no duplicate); one whose live requests are all late, as they are.
   */
  #endgameLoad(index: number, now: number): number {
    const lateAfterMs =
      this.#chunkMs === undefined ? Number.POSITIVE_INFINITY : ENDGAME_LATE_FACTOR * this.#chunkMs
    let live = 0
    for (const request of this.#requestsByIndex.get(index) ?? []) {
      if (this.#quiet(request.source, now)) continue
      if (now - request.sentAtMs < lateAfterMs) return ENDGAME_REQUESTS_PER_CHUNK
      live++
    }
    return live
  }

  #unrequestedMissing(file: LocalFile, now: number): number {
    let count = 0
    for (let index = 0; index < file.have.length; index++) {
      if (!file.have.has(index) && this.#liveRequests(index, now) === 0 && !this.#verifying.has(index))
        count++
    }
    return count
  }

  #scheduleTick(): void {
    this.options.clock.clearTimeout(this.#tick)
    this.#tick = this.options.clock.setTimeout(() => {
      if (this.#state !== 'downloading' || this.#destroyed) return
      this.#checkStalls()
      this.#fill()
      this.#report()
      this.#scheduleTick()
    }, TICK_MS)
  }

  /**
   * A source with requests out and no progress for REQUEST_STALL_MS has them cancelled and asked of others
   * (they were asked of others already once it went quiet); a source that keeps stalling is dropped. Its
   * requests stall together, and that is one stall: when the path to a peer goes quiet (a network outage,
   * SPEC §6) the source stays, and is asked again once the path heals.
   */
  #checkStalls(): void {
    const now = this.options.clock.now()
    for (const source of [...this.#sources.values()]) {
      if (source.requests.size === 0 || now - source.progressMs < REQUEST_STALL_MS) continue
      for (const request of [...source.requests.values()]) {
        this.#cancel(request)
        source.avoid.add(request.index)
        this.#emitChunk(request.index, 'missing')
      }
      source.stalls++
      source.deliveredSinceStall = 0
      if (source.stalls >= MAX_STALLS) this.#removeSource(source)
    }
  }

  #removeSource(source: Source, refill = true): void {
    if (this.#sources.get(source.session.peerId) !== source) return
    this.#sources.delete(source.session.peerId)
    for (const off of source.unsubscribe) off()
    for (const request of [...source.requests.values()]) {
      this.#forget(request)
      this.#emitChunk(request.index, 'missing')
    }
    if (!source.session.destroyed)
      source.session.send({ type: 'not-interested', digest: this.digest }).catch(() => {})
    if (refill) {
      this.#report()
      this.#fill()
    }
  }

  #complete(): void {
    this.#state = 'complete'
    this.options.clock.clearTimeout(this.#tick)
    for (const source of [...this.#sources.values()]) this.#removeSource(source, false)
    this.#report()
    this.emit('complete', this.file)
  }

  #emitChunk(index: number, state: 'in-flight' | 'here' | 'missing', peerId?: string): void {
    this.emit('chunk', peerId === undefined ? { index, state } : { index, state, peerId })
  }

  #report(): void {
    this.emit('progress', this.progress())
  }
}
