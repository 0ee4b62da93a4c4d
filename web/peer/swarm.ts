/**
 * The swarm: this peer's sessions with other peers, what it serves to them, and the downloads it runs
 * over them. Everything downloaded is shared: each verified chunk is announced to interested peers at
 * once and served from then on (SPEC §5). It takes its links, storage and clock through interfaces, so it
 * runs the same in browsers, in Node tests with in-memory links, and in the future Node peer (SPEC §9).
 */
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import {
  canonicalManifestBytes,
  type Manifest,
  parseCanonicalManifest,
  sha256Hex,
} from '../../shared/manifest.js'
import type { ControlMessage, ControlMessageOf } from '../../shared/wire-protocol.js'
import type { Clock } from './clock.js'
import { Download, IN_FLIGHT_PER_SOURCE } from './download.js'
import type { LocalFiles } from './local-files.js'
import type { PeerLink } from './peer-link.js'
import { PeerSession } from './peer-session.js'
import { TypedEventTarget } from './typed-events.js'

/** Chunk uploads running at once over all links (SPEC §5 upload slots): more only splits the uplink. */
export const UPLOAD_SLOTS = 8
/**
 * A session nobody uses (no download takes from it, the peer wants nothing from us, no upload runs) is
 * closed after this long: links count against the tab's cap, and a long-running tab meets many peers.
 */
export const IDLE_SESSION_MS = 60_000
/** How often idle sessions are looked for. */
const IDLE_SWEEP_MS = 15_000
/** How long a peer has to deliver a manifest it was asked for. */
export const MANIFEST_TIMEOUT_MS = 10_000

/** Where links come from: the link manager in browsers, in-memory pairs in tests. */
export interface LinkProvider {
  connect(peerId: string): Promise<PeerLink>
  on(type: 'link', listener: (link: PeerLink) => void): () => void
}

export type SwarmEvents = {
  session: PeerSession
  'session-closed': { peerId: string; error?: Error }
  ban: { peerId: string }
  /** Bytes served to other peers, for upload figures (per peer, and per file for the sharer's rows). */
  uploaded: { peerId: string; digest: string; bytes: number }
}

export interface SwarmOptions {
  local: LocalFiles
  links: LinkProvider
  clock: Clock
  random?: () => number
  uploadSlots?: number
}

export class Swarm extends TypedEventTarget<SwarmEvents> {
  readonly #sessions = new Map<string, PeerSession>()
  readonly #connecting = new Map<string, Promise<PeerSession>>()
  readonly #downloads = new Map<string, Download>()
  /** Files each peer is interested in: they hear of each chunk we store. */
  readonly #interest = new Map<string, Set<string>>()
  readonly #banned = new Set<string>()
  /** Uploads running: per peer, the request ids, so a cancel stops the frames still to send. */
  readonly #uploads = new Map<string, Set<number>>()
  /** Per peer, the last chunk send queued: chunks go to one peer whole, one after another (#sendInTurn). */
  readonly #sending = new Map<string, Promise<void>>()
  #uploadsRunning = 0
  #destroyed = false
  readonly #unsubscribe: (() => void)[]
  /** When each session last carried a frame either way. */
  readonly #lastUsedMs = new Map<string, number>()
  #idleSweep: unknown

  constructor(private readonly options: SwarmOptions) {
    super()
    this.#unsubscribe = [
      options.links.on('link', (link) => this.#adopt(link)),
      options.local.on('chunk-stored', ({ digest, index }) => this.#announceChunk(digest, index)),
    ]
    this.#scheduleIdleSweep()
  }

  get sessions(): PeerSession[] {
    return [...this.#sessions.values()]
  }

  isBanned(peerId: string): boolean {
    return this.#banned.has(peerId)
  }

  /** The session with a peer, connecting if there is none. */
  session(peerId: string): Promise<PeerSession> {
    if (this.#banned.has(peerId)) return Promise.reject(new SwarmError('PEER_NOT_FOUND', 'peer is banned'))
    const open = this.#sessions.get(peerId)
    if (open && !open.destroyed) return open.ready.then(() => open)
    const pending = this.#connecting.get(peerId)
    if (pending) return pending
    const connecting = this.options.links
      .connect(peerId)
      .then((link) => {
        const session = this.#adopt(link)
        if (!session) throw new SwarmError('PEER_NOT_FOUND', 'peer is banned')
        return session.ready.then(() => session)
      })
      .finally(() => this.#connecting.delete(peerId))
    this.#connecting.set(peerId, connecting)
    return connecting
  }

  download(digest: string): Download {
    const existing = this.#downloads.get(digest)
    if (existing) return existing
    const file = this.options.local.get(digest)
    if (!file)
      throw new SwarmError('FILE_NOT_FOUND', 'add the file (with its manifest) before downloading it')
    const options = {
      file,
      local: this.options.local,
      clock: this.options.clock,
      ban: (peerId: string) => this.ban(peerId),
    }
    const download = new Download(this.options.random ? { ...options, random: this.options.random } : options)
    this.#downloads.set(digest, download)
    return download
  }

  getDownload(digest: string): Download | undefined {
    return this.#downloads.get(digest)
  }

  removeDownload(digest: string): void {
    this.#downloads.get(digest)?.destroy()
    this.#downloads.delete(digest)
  }

  /** Drops a peer and refuses it for the rest of the session. */
  ban(peerId: string): void {
    this.#banned.add(peerId)
    this.#sessions.get(peerId)?.fail(new SwarmError('CHUNK_CORRUPT', 'too many chunks failed their hash'))
    this.emit('ban', { peerId })
  }

  /** Asks peers, one after another, for a file's manifest; the first that checks against the digest wins. */
  async fetchManifest(digest: string, peerIds: readonly string[]): Promise<Manifest> {
    for (const peerId of peerIds) {
      try {
        const session = await this.session(peerId)
        return await this.#requestManifest(session, digest)
      } catch {
        // next peer
      }
    }
    throw new SwarmError('FILE_NOT_FOUND', 'no peer gave a manifest that matches the digest')
  }

  /** Closes every session and download, once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.options.clock.clearTimeout(this.#idleSweep)
    for (const off of this.#unsubscribe) off()
    for (const download of this.#downloads.values()) download.destroy()
    this.#downloads.clear()
    for (const session of [...this.#sessions.values()]) session.destroy()
  }

  // ---------------------------------------------------------------- sessions

  #adopt(link: PeerLink): PeerSession | undefined {
    if (this.#destroyed || this.#banned.has(link.remotePeerId)) {
      link.destroy()
      return undefined
    }
    const previous = this.#sessions.get(link.remotePeerId)
    if (previous && !previous.destroyed && previous.link === link) return previous
    previous?.destroy()
    const session = new PeerSession(link, this.options.clock)
    const peerId = session.peerId
    this.#sessions.set(peerId, session)
    const used = () => this.#lastUsedMs.set(peerId, this.options.clock.now())
    used()
    session.on('control', (message) => {
      used()
      this.#onControl(session, message)
    })
    session.on('chunk', used)
    session.on('manifest', used)
    session.on('close', ({ error }) => {
      if (this.#sessions.get(peerId) === session) this.#sessions.delete(peerId)
      this.#interest.delete(peerId)
      this.#uploads.delete(peerId)
      this.#sending.delete(peerId)
      this.#lastUsedMs.delete(peerId)
      this.emit('session-closed', error ? { peerId, error } : { peerId })
    })
    this.emit('session', session)
    return session
  }

  #scheduleIdleSweep(): void {
    this.#idleSweep = this.options.clock.setTimeout(() => {
      if (this.#destroyed) return
      this.#closeIdleSessions()
      this.#scheduleIdleSweep()
    }, IDLE_SWEEP_MS)
  }

  #closeIdleSessions(): void {
    const now = this.options.clock.now()
    for (const [peerId, session] of [...this.#sessions]) {
      const idleFor = now - (this.#lastUsedMs.get(peerId) ?? now)
      const wanted =
        (this.#interest.get(peerId)?.size ?? 0) > 0 ||
        (this.#uploads.get(peerId)?.size ?? 0) > 0 ||
        [...this.#downloads.values()].some((download) => download.hasSource(peerId))
      if (!wanted && idleFor >= IDLE_SESSION_MS) session.destroy()
    }
  }

  // ---------------------------------------------------------------- serving

  #onControl(session: PeerSession, message: Exclude<ControlMessage, { type: 'hello' }>): void {
    switch (message.type) {
      case 'interested':
        return this.#onInterested(session, message.digest)
      case 'not-interested':
        this.#interest.get(session.peerId)?.delete(message.digest)
        return
      case 'request':
        return void this.#serveChunk(session, message)
      case 'get-manifest':
        return void this.#serveManifest(session, message)
      case 'cancel':
        this.#uploads.get(session.peerId)?.delete(message.id)
        return
      case 'error':
        session.destroy(new SwarmError(message.code, `peer said: ${message.message}`))
        return
      case 'have':
      case 'have-chunk':
      case 'reject':
        return // a download's business
      default:
        return assertNeverMessage(message)
    }
  }

  #onInterested(session: PeerSession, digest: string): void {
    const interests = this.#interest.get(session.peerId) ?? new Set()
    interests.add(digest)
    this.#interest.set(session.peerId, interests)
    const file = this.options.local.get(digest)
    const have = file?.have ?? new Bitfield(0)
    session
      .send({ type: 'have', digest, chunkCount: have.length, have: have.complete ? 'all' : have.toBase64() })
      .catch(() => {})
  }

  async #serveChunk(session: PeerSession, message: ControlMessageOf<'request'>): Promise<void> {
    const reject = (reason: 'not-held' | 'busy') =>
      session.send({ type: 'reject', id: message.id, reason }).catch(() => {})
    const file = this.options.local.get(message.digest)
    if (!file || message.index >= file.have.length || !file.have.has(message.index)) return reject('not-held')
    if (this.#uploadsRunning >= (this.options.uploadSlots ?? UPLOAD_SLOTS)) return reject('busy')
    const running = this.#uploads.get(session.peerId) ?? new Set()
    // One peer may not hold every slot: it gets at most what one download asks of one source.
    if (running.size >= IN_FLIGHT_PER_SOURCE) return reject('busy')
    this.#uploads.set(session.peerId, running)
    running.add(message.id)
    this.#uploadsRunning++
    try {
      const bytes = await this.options.local.read(message.digest, message.index)
      if (!bytes) return reject('not-held') // it failed its check on read and is gone now
      if (!running.has(message.id)) return // cancelled while reading
      const cancelled = () => !running.has(message.id)
      await this.#sendInTurn(session.peerId, async () => {
        if (!cancelled()) await session.sendChunk(message.id, bytes, cancelled)
      })
      this.emit('uploaded', { peerId: session.peerId, digest: message.digest, bytes: bytes.length })
    } catch {
      // the link closed mid-chunk: the downloader asks elsewhere
    } finally {
      running.delete(message.id)
      this.#uploadsRunning--
    }
  }

  /**
   * Runs `send` after the chunk sends queued before it to the same peer. Chunks read at once would
   * otherwise go out frame by frame in turn and finish together: the downloader gets them in bursts and
   * asks for the next ones in bursts, and when storage is slow the channel runs dry in between
   * (bench/transfer: 90th percentile of the interval between stored chunks ~170 ms interleaved, ~75 ms in
   * turn, at the same throughput on loopback). Reading the next chunks still overlaps with sending this one.
   */
  #sendInTurn(peerId: string, send: () => Promise<void>): Promise<void> {
    const turn = (this.#sending.get(peerId) ?? Promise.resolve()).then(send)
    const tail = turn.catch(() => {}) // the next send goes ahead even if this one failed
    this.#sending.set(peerId, tail)
    void tail.then(() => {
      if (this.#sending.get(peerId) === tail) this.#sending.delete(peerId)
    })
    return turn
  }

  async #serveManifest(session: PeerSession, message: ControlMessageOf<'get-manifest'>): Promise<void> {
    const file = this.options.local.get(message.digest)
    if (!file) {
      await session.send({ type: 'reject', id: message.id, reason: 'not-held' }).catch(() => {})
      return
    }
    await session.sendManifest(message.id, canonicalManifestBytes(file.record.manifest)).catch(() => {})
  }

  #announceChunk(digest: string, index: number): void {
    for (const [peerId, digests] of this.#interest) {
      if (!digests.has(digest)) continue
      this.#sessions
        .get(peerId)
        ?.send({ type: 'have-chunk', digest, index })
        .catch(() => {})
    }
  }

  // ---------------------------------------------------------------- manifests from peers

  #requestManifest(session: PeerSession, digest: string): Promise<Manifest> {
    const id = session.nextRequestId()
    return new Promise<Manifest>((resolve, reject) => {
      let buffer: Uint8Array | undefined
      let received = 0
      const finish = (outcome: () => void) => {
        offManifest()
        offControl()
        offClose()
        this.options.clock.clearTimeout(timer)
        outcome()
      }
      const timer = this.options.clock.setTimeout(
        () => finish(() => reject(new SwarmError('FILE_NOT_FOUND', 'the peer sent no manifest in time'))),
        MANIFEST_TIMEOUT_MS,
      )
      const offManifest = session.on('manifest', (frame) => {
        if (frame.requestId !== id) return
        buffer ??= new Uint8Array(frame.total)
        if (frame.total !== buffer.length)
          return finish(() => reject(new SwarmError('MANIFEST_MISMATCH', 'inconsistent frames')))
        buffer.set(frame.bytes, frame.offset)
        received += frame.bytes.length
        if (received < buffer.length) return
        const canonical = buffer
        void (async () => {
          try {
            const manifest = parseCanonicalManifest(canonical)
            if ((await sha256Hex(canonical)) !== digest) throw new Error('digest mismatch')
            finish(() => resolve(manifest))
          } catch {
            finish(() =>
              reject(new SwarmError('MANIFEST_MISMATCH', 'the manifest does not match the digest')),
            )
          }
        })()
      })
      const offControl = session.on('control', (message) => {
        if (message.type === 'reject' && message.id === id) {
          finish(() => reject(new SwarmError('FILE_NOT_FOUND', 'the peer does not hold this file')))
        }
      })
      const offClose = session.on('close', () =>
        finish(() => reject(new SwarmError('PEER_NOT_FOUND', 'closed'))),
      )
      session.send({ type: 'get-manifest', id, digest }).catch((error) => finish(() => reject(error)))
    })
  }
}

function assertNeverMessage(message: never): void {
  throw new Error(`unhandled control message ${JSON.stringify(message)}`)
}
