/**
 * The swarm: this peer's sessions with other peers, what it serves to them, and the downloads it runs
 * over them. Everything downloaded is shared: each verified chunk is announced to interested peers at
 * once and served from then on (SPEC §5). It takes its links, storage and clock through interfaces, so it
 * runs the same in browsers, in Node tests with in-memory links, and in the Node peer (SPEC §9).
 *
 * It also keeps the tab's defences that span sessions: budgets per remote peer (peer-budgets.ts), upload
 * slots shared fairly (upload-slots.ts), and the memory of abuse (ban-list.ts): a session the router
 * closed for a violation bans the peer, by id and by the address its link was selected on.
 */
import { assertNever } from '../../shared/assert-never.js'
import { Bitfield } from '../../shared/bitfield.js'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import {
  canonicalManifestBytes,
  type Manifest,
  parseCanonicalManifest,
  sha256Hex,
} from '../../shared/manifest.js'
import type { ControlMessage, ControlMessageOf } from '../../shared/wire-protocol.js'
import { addressKey, BanList, peerKey } from './ban-list.js'
import type { Clock } from './clock.js'
import { Download } from './download.js'
import type { LocalFiles } from './local-files.js'
import { PeerBudgets } from './peer-budgets.js'
import type { PeerLink } from './peer-link.js'
import { PeerSession } from './peer-session.js'
import { ProtocolRegistrar } from './protocol-registrar.js'
import { SuperSeed } from './super-seed.js'
import { TypedEventTarget } from './typed-events.js'
import { UPLOAD_SLOTS, UploadSlots } from './upload-slots.js'

export { UPLOAD_SLOTS }
/**
 * A session nobody uses (no download takes from it, the peer wants nothing from us, no upload runs) is
 * closed after this long: links count against the tab's cap, and a long-running tab meets many peers.
 */
export const IDLE_SESSION_MS = 60_000
/** How often super-seeded files' offers are topped up (a fraction of SPREAD_WAIT_MS). */
const SUPER_SEED_TICK_MS = 250
/** How often idle sessions are looked for. */
const IDLE_SWEEP_MS = 15_000
/** How long a peer has to deliver a manifest it was asked for. */
export const MANIFEST_TIMEOUT_MS = 10_000
/**
 * Longest the remote address of a new link is waited for before the session goes on without it: it is
 * read from the connection's stats (`getStats`), which answer within milliseconds.
 */
export const ADDRESS_LOOKUP_MS = 1_000

/**
 * Violations the router closes a link for that count as abuse (ban-list.ts). Not here: an `error` the peer
 * sent us, a link that failed, INTERNAL (a bug of ours).
 */
const OFFENCES: ReadonlySet<ErrorCode> = new Set([
  'BAD_MESSAGE',
  'UNKNOWN_TYPE',
  'RATE_LIMITED',
  'HELLO_REQUIRED',
  'TIMEOUT',
  'CHUNK_CORRUPT',
])

/** Where links come from: the link manager in browsers, in-memory pairs in tests. */
export interface LinkProvider {
  connect(peerId: string, options?: { forDownload?: boolean }): Promise<PeerLink>
  on(type: 'link', listener: (link: PeerLink) => void): () => void
}

export type SwarmEvents = {
  session: PeerSession
  'session-closed': { peerId: string; error?: Error }
  /** A peer was refused for abuse: `reason` is the violation's code (CHUNK_CORRUPT: for the session). */
  ban: { peerId: string; reason: ErrorCode }
  /** Bytes served to other peers, for upload figures (per peer, and per file for the sharer's rows). */
  uploaded: { peerId: string; digest: string; bytes: number }
}

export interface SwarmOptions {
  local: LocalFiles
  links: LinkProvider
  clock: Clock
  random?: () => number
  /** Default UPLOAD_SLOTS (8). */
  uploadSlots?: number
  /** Protocols beside file transfer; default a registrar of the swarm's own (none registered). */
  registrar?: ProtocolRegistrar
  /** The memory of abuse, shared with the link manager; default one of the swarm's own. */
  bans?: BanList
}

/** What is known of a peer a session was opened with: for the keys its abuse is remembered by. */
interface PeerInfo {
  address: string | undefined
}

export class Swarm extends TypedEventTarget<SwarmEvents> {
  readonly registrar: ProtocolRegistrar
  readonly bans: BanList
  readonly #budgets: PeerBudgets
  readonly #slots: UploadSlots
  readonly #sessions = new Map<string, PeerSession>()
  readonly #peers = new Map<string, PeerInfo>()
  readonly #connecting = new Map<string, Promise<PeerSession>>()
  readonly #downloads = new Map<string, Download>()
  /** Files each peer is interested in: they hear of each chunk we store. */
  readonly #interest = new Map<string, Set<string>>()
  /** Per file this peer holds whole and others fetch: what each of them is offered and holds (super-seed.ts). */
  readonly #superSeeds = new Map<string, SuperSeed>()
  /** Per peer, the last chunk send queued: chunks go to one peer whole, one after another (#sendInTurn). */
  readonly #sending = new Map<string, Promise<void>>()
  #destroyed = false
  readonly #unsubscribe: (() => void)[]
  /** When each session last carried a frame either way. */
  readonly #lastUsedMs = new Map<string, number>()
  #idleSweep: unknown
  #superSeedTick: unknown

  constructor(private readonly options: SwarmOptions) {
    super()
    this.registrar = options.registrar ?? new ProtocolRegistrar()
    this.registrar.attach({ readySessions: () => this.sessions.filter((s) => s.isReady && !s.destroyed) })
    this.bans = options.bans ?? new BanList(options.clock)
    this.#budgets = new PeerBudgets(options.clock)
    this.#slots = new UploadSlots(options.clock, options.uploadSlots ?? UPLOAD_SLOTS)
    this.#unsubscribe = [
      options.links.on('link', (link) => this.#adopt(link)),
      options.local.on('chunk-stored', ({ digest, index, from }) => this.#announceChunk(digest, index, from)),
    ]
    this.#scheduleIdleSweep()
  }

  get sessions(): PeerSession[] {
    return [...this.#sessions.values()]
  }

  /** Whether a peer is refused now: by its id, or by the address its last link was seen at. */
  isBanned(peerId: string): boolean {
    return this.bans.banOf(this.#keysOf(peerId)) !== undefined
  }

  /** Whether an address is refused now (the key of a banned peer's address; loopback never is). */
  isAddressBanned(address: string): boolean {
    const key = addressKey(address)
    return key !== undefined && this.bans.banOf([key]) !== undefined
  }

  /**
   * The session with a peer, connecting if there is none. `forDownload`: the link serves a download the
   * user asked for, and may take the last of the tab's link budget or an idle link's place.
   */
  session(peerId: string, options: { forDownload?: boolean } = {}): Promise<PeerSession> {
    if (this.isBanned(peerId)) return Promise.reject(new SwarmError('PEER_BANNED', `${peerId} is banned`))
    const open = this.#sessions.get(peerId)
    if (open && !open.destroyed) return open.ready.then(() => open)
    const pending = this.#connecting.get(peerId)
    if (pending) return pending
    const connecting = this.options.links
      .connect(peerId, options)
      .then((link) => {
        const session = this.#adopt(link)
        if (!session) throw new SwarmError('PEER_BANNED', `${peerId} is banned`)
        return session.ready.then(() => session)
      })
      .finally(() => this.#connecting.delete(peerId))
    this.#connecting.set(peerId, connecting)
    return connecting
  }

  /**
   * Peers whose links may be closed to make room for a download's link, least recently used first: open
   * sessions nobody uses (no download takes from them, the peer wants nothing from us, nothing is uploading)
   * and no protocol has claimed.
   */
  idlePeers(): string[] {
    return [...this.#sessions.values()]
      .filter((session) => !session.destroyed && !this.#inUse(session))
      .sort((a, b) => (this.#lastUsedMs.get(a.peerId) ?? 0) - (this.#lastUsedMs.get(b.peerId) ?? 0))
      .map((session) => session.peerId)
  }

  download(digest: string): Download {
    const existing = this.#downloads.get(digest)
    if (existing) return existing
    const file = this.options.local.get(digest)
    if (!file) throw new SwarmError('NOT_HELD', 'add the file (with its manifest) before downloading it')
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

  /** Drops a peer whose chunks failed their hash too often and refuses it for the rest of the session. */
  ban(peerId: string): void {
    const error = new SwarmError('CHUNK_CORRUPT', 'too many chunks failed their hash')
    const session = this.#sessions.get(peerId)
    // The session reports the violation as it fails; without an open one, it is reported here.
    if (session && !session.destroyed && !session.violation) session.fail(error)
    else this.#punish(peerId, error.code)
  }

  /** Asks peers, one after another, for a file's manifest; the first that checks against the digest wins. */
  async fetchManifest(digest: string, peerIds: readonly string[]): Promise<Manifest> {
    for (const peerId of peerIds) {
      try {
        const session = await this.session(peerId, { forDownload: true })
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
    this.options.clock.clearTimeout(this.#superSeedTick)
    for (const off of this.#unsubscribe) off()
    for (const download of this.#downloads.values()) download.destroy()
    this.#downloads.clear()
    for (const session of [...this.#sessions.values()]) session.destroy()
  }

  // ---------------------------------------------------------------- sessions

  #adopt(link: PeerLink): PeerSession | undefined {
    if (this.#destroyed || this.isBanned(link.remotePeerId)) {
      link.destroy(new SwarmError('PEER_BANNED', `${link.remotePeerId} is banned`))
      return undefined
    }
    const previous = this.#sessions.get(link.remotePeerId)
    if (previous && !previous.destroyed && previous.link === link) return previous
    previous?.destroy()
    const peerId = link.remotePeerId
    const info: PeerInfo = { address: this.#peers.get(peerId)?.address }
    this.#peers.set(peerId, info)
    const session = new PeerSession(link, {
      clock: this.options.clock,
      registrar: this.registrar,
      budgets: this.#budgets,
      admission: this.#admit(link, info),
    })
    this.#sessions.set(peerId, session)
    const used = () => this.#lastUsedMs.set(peerId, this.options.clock.now())
    used()
    session.on('control', (message) => {
      used()
      this.#onControl(session, message)
    })
    session.on('chunk', used)
    session.on('manifest', used)
    session.on('violation', ({ code }) => {
      if (OFFENCES.has(code)) this.#punish(peerId, code)
    })
    session.ready.then(
      () => {
        if (!session.destroyed) this.registrar.sessionReady(session)
      },
      () => {},
    )
    session.on('close', ({ error }) => {
      if (this.#sessions.get(peerId) === session) this.#sessions.delete(peerId)
      this.#interest.delete(peerId)
      this.#slots.dropPeer(peerId, new SwarmError('SESSION_CLOSED', 'the session closed'))
      for (const digest of [...this.#superSeeds.keys()]) this.#leaveSuperSeed(digest, peerId)
      this.#sending.delete(peerId)
      this.#lastUsedMs.delete(peerId)
      if (session.isReady) this.registrar.sessionClosed(peerId)
      this.emit('session-closed', error ? { peerId, error } : { peerId })
    })
    this.emit('session', session)
    return session
  }

  /**
   * Admits a new link once its remote address is known (or the lookup gave up): a peer banned by address
   * is refused whatever id it comes back with. Rejects with PEER_BANNED.
   */
  async #admit(link: PeerLink, info: PeerInfo): Promise<void> {
    let timer: unknown
    const timeout = new Promise<undefined>((resolve) => {
      timer = this.options.clock.setTimeout(() => resolve(undefined), ADDRESS_LOOKUP_MS)
    })
    const address = await Promise.race([link.remoteAddress().catch(() => undefined), timeout])
    this.options.clock.clearTimeout(timer)
    if (address) info.address = address
    const ban = this.bans.banOf(this.#keysOf(link.remotePeerId))
    if (ban) throw new SwarmError('PEER_BANNED', `refused: ${ban.key} is banned (${ban.reason})`)
  }

  /** The keys a peer's abuse is remembered by: its id, and its address when known and not shared by nature. */
  #keysOf(peerId: string): string[] {
    const keys = [peerKey(peerId)]
    const address = addressKey(this.#peers.get(peerId)?.address)
    if (address) keys.push(address)
    return keys
  }

  /** Remembers a peer's violation (ban-list.ts); corrupt chunks ban it for the session at once. */
  #punish(peerId: string, reason: ErrorCode): void {
    this.bans.punish(this.#keysOf(peerId), reason, { forSession: reason === 'CHUNK_CORRUPT' })
    if (!this.#destroyed) this.emit('ban', { peerId, reason })
  }

  /** Whether a session is used: a download takes from it, the peer wants something, or a protocol claimed it. */
  #inUse(session: PeerSession): boolean {
    const peerId = session.peerId
    return (
      session.claimed ||
      (this.#interest.get(peerId)?.size ?? 0) > 0 ||
      this.#slots.outstanding(peerId) > 0 ||
      [...this.#downloads.values()].some((download) => download.hasSource(peerId))
    )
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
      if (!this.#inUse(session) && idleFor >= IDLE_SESSION_MS) session.destroy()
    }
    // Addresses of peers with no session are kept only while they may still be asked about.
    for (const peerId of [...this.#peers.keys()]) {
      if (!this.#sessions.has(peerId) && !this.#connecting.has(peerId)) this.#peers.delete(peerId)
    }
  }

  // ---------------------------------------------------------------- serving

  #onControl(session: PeerSession, message: Exclude<ControlMessage, { type: 'hello' }>): void {
    switch (message.type) {
      case 'interested':
        return this.#onInterested(session, message.digest)
      case 'not-interested':
        this.#interest.get(session.peerId)?.delete(message.digest)
        if (this.#superSeeds.get(message.digest)?.has(session.peerId)) {
          this.#leaveSuperSeed(message.digest, session.peerId)
          // We asked to hear what it holds only to choose its offers: it need tell us no more.
          session.send({ type: 'not-interested', digest: message.digest }).catch(() => {})
        }
        return
      case 'request':
        return void this.#serveChunk(session, message)
      case 'get-manifest':
        return void this.#serveManifest(session, message)
      case 'cancel':
        this.#slots.cancel(session.peerId, message.id, new SwarmError('CANCELLED', 'cancelled by the peer'))
        return
      case 'error':
        session.destroy(new SwarmError(message.code, `peer said: ${message.message}`))
        return
      case 'have':
      case 'have-chunk':
        return this.#onPeerHolds(session, message) // and a download's business
      case 'reject':
        return // a download's business
      default:
        return assertNever(message)
    }
  }

  #onInterested(session: PeerSession, digest: string): void {
    const interests = this.#interest.get(session.peerId) ?? new Set()
    interests.add(digest)
    this.#interest.set(session.peerId, interests)
    // A peer fetching what we fetch too (it dialled us, or we it) is a source from now on, not at our next
    // refresh: our interest makes it send its `have`, and each chunk it stores (issue 16, flash crowds).
    const download = this.#downloads.get(digest)
    if (download?.wantsSources && !download.hasSource(session.peerId)) download.addSource(session)
    const file = this.options.local.get(digest)
    const have = file?.have ?? new Bitfield(0)
    // A reply the peer makes us send costs it a control token, as its own message did.
    if (!session.charge('control')) return
    if (have.complete && have.length > 0) return this.#superSeed(session, digest, have.length)
    session
      .send({ type: 'have', digest, chunkCount: have.length, have: have.complete ? 'all' : have.toBase64() })
      .catch(() => {})
  }

  /**
   * A peer is interested in a file we hold whole: it is offered a few chunks at a time, the fewest copied
   * in the crowd (super-seed.ts), and asked what it holds, once, so that its offers follow the crowd.
   */
  #superSeed(session: PeerSession, digest: string, chunkCount: number): void {
    let seed = this.#superSeeds.get(digest)
    if (!seed) {
      const { clock } = this.options
      seed = new SuperSeed(chunkCount, () => clock.now(), this.options.random)
      this.#superSeeds.set(digest, seed)
      if (this.#superSeeds.size === 1) this.#scheduleSuperSeedTick()
    }
    // Only a peer new to the offers is asked: two whole holders interested in each other stop there.
    const joining = !seed.has(session.peerId)
    const offered = seed.join(session.peerId)
    session
      .send({ type: 'have', digest, chunkCount, have: offered.complete ? 'all' : offered.toBase64() })
      .catch(() => {})
    if (joining) session.send({ type: 'interested', digest }).catch(() => {})
  }

  /** A peer said what it holds: a file we super-seed to it gets it new offers. */
  #onPeerHolds(
    session: PeerSession,
    message: ControlMessageOf<'have'> | ControlMessageOf<'have-chunk'>,
  ): void {
    const seed = this.#superSeeds.get(message.digest)
    if (!seed?.has(session.peerId)) return
    if (message.type === 'have-chunk') {
      return this.#offer(session, message.digest, seed.heldChunk(session.peerId, message.index))
    }
    if (message.chunkCount !== seed.chunkCount) return
    let have: Bitfield
    try {
      have =
        message.have === 'all'
          ? Bitfield.full(seed.chunkCount)
          : Bitfield.fromBase64(seed.chunkCount, message.have)
    } catch {
      return // a malformed bitfield: its download drops it as a source; here it just gets no new offers
    }
    this.#offer(session, message.digest, seed.held(session.peerId, have))
  }

  /** New offers: one `have-chunk`, or several at once as a `have` of everything offered so far. */
  #offer(session: PeerSession, digest: string, indices: number[]): void {
    if (indices.length === 0) return
    const offered = this.#superSeeds.get(digest)?.offeredTo(session.peerId)
    if (indices.length === 1 || !offered) {
      for (const index of indices) session.send({ type: 'have-chunk', digest, index }).catch(() => {})
      return
    }
    session
      .send({ type: 'have', digest, chunkCount: offered.length, have: offered.toBase64() })
      .catch(() => {})
  }

  /** While a file is super-seeded, offers are topped up now and then (super-seed.ts: SPREAD_WAIT_MS). */
  #scheduleSuperSeedTick(): void {
    this.options.clock.clearTimeout(this.#superSeedTick)
    this.#superSeedTick = this.options.clock.setTimeout(() => {
      if (this.#destroyed || this.#superSeeds.size === 0) return
      for (const [digest, seed] of this.#superSeeds) {
        for (const [peerId, offers] of seed.refresh()) {
          const session = this.#sessions.get(peerId)
          if (session && !session.destroyed) this.#offer(session, digest, offers)
        }
      }
      this.#scheduleSuperSeedTick()
    }, SUPER_SEED_TICK_MS)
  }

  #leaveSuperSeed(digest: string, peerId: string): void {
    const seed = this.#superSeeds.get(digest)
    if (!seed) return
    seed.leave(peerId)
    if (seed.peerCount === 0) this.#superSeeds.delete(digest)
  }

  /** Refuses a request; the reply costs the peer a control token (a flood of refusals closes its link). */
  #reject(session: PeerSession, id: number, reason: 'not-held' | 'busy'): void {
    if (session.charge('control')) session.send({ type: 'reject', id, reason }).catch(() => {})
  }

  async #serveChunk(session: PeerSession, message: ControlMessageOf<'request'>): Promise<void> {
    const file = this.options.local.get(message.digest)
    if (!file || message.index >= file.have.length || !file.have.has(message.index)) {
      return this.#reject(session, message.id, 'not-held')
    }
    const seed = this.#superSeeds.get(message.digest)
    const superSeeded = seed?.has(session.peerId) === true
    if (superSeeded) this.#offer(session, message.digest, seed!.requested(session.peerId, message.index))
    const sent = await this.#serveRequest(session, message)
    if (!superSeeded) return
    const after = this.#superSeeds.get(message.digest)
    if (!after?.has(session.peerId)) return
    // A request that ends without its chunk sent whole does not count as a copy (super-seed.ts). One sent
    // whole counts as held at once: the peer does not announce back a chunk it got from us (#announceChunk).
    if (sent) this.#offer(session, message.digest, after.heldChunk(session.peerId, message.index))
    else after.withdrawn(session.peerId, message.index)
  }

  /** Serves one request in its turn for an upload slot; true when the whole chunk went out. Never throws. */
  async #serveRequest(session: PeerSession, message: ControlMessageOf<'request'>): Promise<boolean> {
    const ticket = this.#slots.enqueue(session.peerId, message.id)
    if (!ticket) {
      this.#reject(session, message.id, 'busy')
      return false
    }
    try {
      await ticket.granted
    } catch {
      return false // cancelled while waiting for a slot, or the session closed: nothing was read
    }
    try {
      if (ticket.cancelled || session.destroyed) return false
      const bytes = await this.options.local.read(message.digest, message.index)
      if (ticket.cancelled || session.destroyed) return false
      if (!bytes) {
        this.#reject(session, message.id, 'not-held') // it failed its check on read
        return false
      }
      const cancelled = () => ticket.cancelled
      await this.#sendInTurn(session.peerId, async () => {
        if (!cancelled()) await session.sendChunk(message.id, bytes, cancelled)
      })
      if (cancelled()) return false
      this.emit('uploaded', { peerId: session.peerId, digest: message.digest, bytes: bytes.length })
      return true
    } catch {
      return false // the link closed mid-chunk: the downloader asks elsewhere
    } finally {
      ticket.release()
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
    if (!file) return this.#reject(session, message.id, 'not-held')
    await session.sendManifest(message.id, canonicalManifestBytes(file.record.manifest)).catch(() => {})
  }

  /**
   * Tells every peer interested in the file that a chunk is here, except the peer it came from: that one
   * knows, having sent it whole (a seeder counts a chunk it sent as held, #serveChunk). With one source, this
   * was one control message in every chunk's eight on the link (bench/cli frame counts, issue 11).
   */
  #announceChunk(digest: string, index: number, from: string | undefined): void {
    for (const [peerId, digests] of this.#interest) {
      if (peerId === from || !digests.has(digest)) continue
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
        session.endRequest(id)
        outcome()
      }
      const timer = this.options.clock.setTimeout(
        () => finish(() => reject(new SwarmError('TIMEOUT', 'the peer sent no manifest in time'))),
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
        finish(() => reject(new SwarmError('SESSION_CLOSED', 'the session closed before the manifest came'))),
      )
      session.send({ type: 'get-manifest', id, digest }).catch((error) => finish(() => reject(error)))
    })
  }
}
