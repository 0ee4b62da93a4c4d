/**
 * The engine: one browser's membership of the swarm. It ties the tracker client, the links, the swarm and
 * local storage together: announces what is here, downloads what the user picks from every peer that has
 * it, resumes unfinished downloads on start, and shares everything it holds. Nothing here touches the DOM
 * or IndexedDB directly: storage, sockets, links, time and saving come in as options (SPEC §9).
 * Finding, dialling and re-dialling the peers a download takes its chunks from is SourceFinder's.
 *
 * Other protocols ride the same links (the ring, SPEC §9): they register on `engine.protocols` (the frame
 * router's registrar, protocol-registrar.ts) and open sessions with `engine.openSession(peerId)`.
 */
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import type { Manifest } from '../../shared/manifest.js'
import type { CatalogEntry } from '../../shared/tracker-protocol.js'
import type { ChunkStore } from '../storage/chunk-store.js'
import type { FileStore, StoredFile } from '../storage/file-store.js'
import { scanInventory } from '../storage/inventory.js'
import { type Ban, BanList } from './ban-list.js'
import { type Clock, systemClock } from './clock.js'
import type { NameHit, ProviderHit } from './content-routing.js'
import type { Download, DownloadProgress } from './download.js'
import type { EntryPoint, EntryPointInfo } from './entry-point.js'
import { type Identity, type KeyStore, loadOrCreateIdentity, MemoryKeyStore } from './identity.js'
import { LINK_BUDGET, type LinkBudget, LinkManager } from './link-manager.js'
import { type LiveSource, type LocalFile, LocalFiles } from './local-files.js'
import type { LinkFactory, PeerLink } from './peer-link.js'
import type { PeerSession } from './peer-session.js'
import { ProtocolRegistrar } from './protocol-registrar.js'
import type { ContactStore } from './ring/contacts.js'
import type { MembershipInput } from './ring/membership-policy.js'
import type { RingOptions } from './ring/ring-options.js'
import type { RingStatus } from './ring/ring-status.js'
import { Scrub } from './scrub.js'
import { signedSignals } from './signal-auth.js'
import { SourceFinder } from './source-finder.js'
import { Swarm } from './swarm.js'
import { TrackerClient, type TrackerStatus, type WebSocketLike } from './tracker-client.js'
import { TypedEventTarget } from './typed-events.js'

/**
 * Manifests uploaded to the tracker per `shareStored` batch: a tenth of its default burst of 200 messages
 * (shared/limits.ts), so that a large batch never trips RATE_LIMITED.
 */
const MANIFESTS_PER_SHARE = 20
/** The name a download gets until the catalog tells its real one. */
function placeholderName(digest: string): string {
  return `${digest.slice(0, 16)}.bin`
}

export type EngineEvents = {
  status: TrackerStatus
  /** A file this browser holds was added, changed state or progressed. */
  file: { digest: string; progress: DownloadProgress | undefined }
  /** A download finished: every chunk is here and verified. */
  complete: LocalFile
  /** Something the user should hear about. */
  problem: { digest?: string; error: SwarmError }
  /** The tab's RTCPeerConnection budget changed state (ok → low → spent). */
  'link-budget': LinkBudget
  /** This peer's place in the ring changed (state, neighbours, fingers, counters): the Network panel. */
  ring: RingStatus
  /** The entry points known changed (added, gone, their peers changed). */
  'entry-points': EntryPointInfo[]
}

/** What a download's record starts with when the file is new here (a link's key, a collection's path). */
export type FetchHints = Partial<Pick<StoredFile, 'name' | 'mime' | 'sealed' | 'listed' | 'collection'>>

/**
 * Files shared within this long of each other go to the tracker in one announce: dropping 1,000 small files
 * would otherwise send 1,000 announces in seconds, far past the server's burst of 200 messages, and get
 * the connection closed for flooding (docs/PROTOCOL.md, "Rate limit").
 */
export const ANNOUNCE_BATCH_MS = 200
/**
 * Manifests given to the tracker to cache, at most this many a second: well inside the 50 messages a
 * second the server allows, leaving room for signalling. A downloader that asks before a manifest is
 * cached gets it from a peer instead.
 */
export const MANIFESTS_PER_SECOND = 20

export interface EngineOptions {
  trackerUrl: string
  createSocket(url: string): WebSocketLike
  chunks: ChunkStore
  files: FileStore
  /**
   * Where this peer's Ed25519 key pair is kept (SPEC §9): IndexedDB in browsers (IdbKeyStore), the folder's
   * `.swarmdrop/` in the CLI. Its peer id derives from the key, so it is the same on every open. Default: a
   * key pair kept in memory, a new identity each time.
   */
  keys?: KeyStore
  /**
   * Builds each peer link: web/main.ts passes SimplePeerLink's factory (the browser's WebRTC), the Node peer
   * one built on @roamhq/wrtc, tests in-memory links.
   */
  createLink: LinkFactory
  /** RTCPeerConnections this tab may build in its life; default LINK_BUDGET (500, Chromium's limit). */
  linkBudget?: number
  /** Links closed for abuse before other peers are declined for a while; default ABUSIVE_LINKS_BURST (64). */
  abusiveLinksBurst?: number
  clock?: Clock
  random?: () => number
  /**
   * The host's circumstances for ring membership (membership-policy.ts); change them later with
   * `setMembershipInput`. Default: a visible tab, not metered, member after MEMBER_AFTER_MS.
   */
  membership?: MembershipInput
  /** Where recent ring contacts are kept for rejoining without the tracker; default in memory. */
  contacts?: ContactStore
  /** The ring's parameters (tests shorten its periods); `false` runs no ring at all. */
  ring?: RingOptions | false
  /** Called once per finished download (the browser saves it through a normal download). */
  onComplete?(file: LocalFile): void
}

export class SwarmEngine extends TypedEventTarget<EngineEvents> {
  readonly tracker: TrackerClient
  /** This peer's key and ids: it signs the tracker's challenge and its offers and answers with it. */
  readonly identity: Identity
  readonly local: LocalFiles
  readonly swarm: Swarm
  /** The frame router's registrar: protocols beside file transfer register here (protocol-registrar.ts). */
  readonly protocols = new ProtocolRegistrar()
  /** The memory of abuse (ban-list.ts), shared by the links and the swarm. */
  readonly bans: BanList
  #links: LinkManager | undefined
  readonly #linkListeners = new Set<(link: PeerLink) => void>()
  /** Downloads whose events are relayed already (a file downloaded again gets a new Download). */
  readonly #watched = new WeakSet<Download>()
  /** Fetches being set up (manifest, record), so that a double click does not set one up twice. */
  readonly #fetching = new Map<string, Promise<Download>>()
  /** Finds, dials and re-dials the sources of every running download. */
  readonly #finder: SourceFinder
  /** Names and types of files seen in the catalog, for downloads picked from it. */
  readonly #catalogEntries = new Map<string, CatalogEntry>()
  readonly #clock: Clock
  /** Files shared since the last announce was sent, and the timer that sends the next. */
  readonly #toAnnounce = new Set<string>()
  #announceTimer: unknown
  /** Manifests waiting to be given to the tracker, and the timer that gives the next ones. */
  readonly #toPut = new Map<string, Manifest>()
  #putTimer: unknown
  /** Hashes stored chunks again, slowly, since reads trust chunks verified once (scrub.ts). */
  readonly #scrub: Scrub
  #destroyed = false
  #membership: MembershipInput
  readonly #entryPoints = new Set<EntryPoint>()

  private constructor(
    private readonly options: EngineOptions,
    local: LocalFiles,
    identity: Identity,
  ) {
    super()
    this.#clock = options.clock ?? systemClock
    this.#membership = { ...options.membership }
    this.bans = new BanList(this.#clock)
    this.local = local
    this.#scrub = new Scrub(local, this.#clock)
    this.identity = identity
    this.tracker = new TrackerClient({
      url: options.trackerUrl,
      createSocket: options.createSocket,
      identity,
      holdings: () => local.holdings(),
      clock: this.#clock,
      ...(options.random ? { random: options.random } : {}),
    })
    this.swarm = new Swarm({
      local,
      clock: this.#clock,
      ...(options.random ? { random: options.random } : {}),
      registrar: this.protocols,
      bans: this.bans,
      links: {
        connect: (peerId, connectOptions) => this.#linkManager().connect(peerId, connectOptions),
        on: (_type, listener) => {
          this.#linkListeners.add(listener)
          return () => this.#linkListeners.delete(listener)
        },
      },
    })
    this.#finder = new SourceFinder({
      tracker: {
        isOnline: () => this.tracker.status.state === 'online',
        peers: (digest) => this.tracker.peers(digest),
      },
      swarm: this.swarm,
      clock: this.#clock,
    })
    this.#finder.on('problem', (problem) => this.emit('problem', problem))
    this.tracker.on('status', (status) => this.#onStatus(status))
    this.tracker.on('holders', ({ digest, peers }) =>
      this.#finder.offer(
        digest,
        peers.map((p) => p.peerId),
      ),
    )
    // Fresh TURN credentials before the welcome's expire: new links use them, links already open keep theirs.
    this.tracker.on('ice-servers', ({ iceServers }) => this.#links?.setIceServers(iceServers))
    this.swarm.on('session', (session) => this.#finder.onSession(session.peerId))
    // Links closed for abuse are budgeted: fresh tracker ids cannot spend the tab's connections that way.
    this.swarm.on('ban', () => this.#links?.noteAbusiveLink())
    this.swarm.on('session-closed', ({ peerId }) => this.#finder.onSessionClosed(peerId))
    local.on('chunk-stored', ({ digest, index }) => this.tracker.reportChunk(digest, index))
  }

  /** Loads (or creates) the identity, scans storage, connects to the tracker, and resumes unfinished downloads. */
  static async open(options: EngineOptions): Promise<SwarmEngine> {
    const identity = await loadOrCreateIdentity(options.keys ?? new MemoryKeyStore())
    const inventory = await scanInventory(options.files, options.chunks)
    const local = new LocalFiles(options.chunks, options.files, inventory)
    const engine = new SwarmEngine(options, local, identity)
    engine.tracker.start()
    // Unfinished downloads go on; so does a share whose storing was cut short (the tab closed while it
    // was being prepared): its missing chunks come from whoever downloaded it meanwhile, if anyone did.
    for (const { record, have } of inventory.files) {
      if (!have.complete && !record.notShared) void engine.#resume(record.digest)
    }
    return engine
  }

  /**
   * The session with a peer, dialling it if there is none: for protocols on the router (the ring). The link
   * is optional: it is refused when the tab keeps its last RTCPeerConnections for downloads.
   */
  openSession(peerId: string): Promise<PeerSession> {
    return this.swarm.session(peerId)
  }

  /** How many RTCPeerConnections this tab has built, of how many it may (for the peers view). */
  get linkBudget(): LinkBudget {
    return this.#links?.budget ?? { built: 0, budget: this.options.linkBudget ?? LINK_BUDGET, state: 'ok' }
  }

  /** Peers refused for abuse now, latest first (for the peers view). */
  get activeBans(): Ban[] {
    return this.bans.active
  }

  // ------------------------------------------------------------ ring and content routing (issue 13)

  /** This peer's place in the ring now (the Network panel, the CLI's `ring` command). */
  ringStatus(): RingStatus {
    return {
      state: 'alone',
      nodeId: this.identity.nodeId,
      peerId: this.identity.peerId,
      sizeEstimate: 1,
      predecessor: null,
      successors: [],
      fingers: [],
      recordsStored: 0,
      lookupsServed: 0,
      trackerOnline: this.tracker.status.state === 'online',
    }
  }

  /** The host's circumstances changed (visibility, metered): the ring membership follows. */
  setMembershipInput(input: MembershipInput): void {
    this.#membership = { ...this.#membership, ...input }
  }

  /** Peers holding `digest`, from the tracker when it is online and from the ring always; merged. */
  async findProviders(digest: string): Promise<ProviderHit[]> {
    const { peers } = await this.tracker.peers(digest)
    return peers.map((p) => ({
      peerId: p.peerId,
      source: 'tracker' as const,
      sources: ['tracker' as const],
    }))
  }

  /**
   * Shared files whose names hold every word of `query`: the tracker's catalog when it is online and the
   * ring's name index always, merged and deduplicated by digest. When the tracker is offline only the
   * ring answers (every hit then says `source: 'ring'`).
   */
  async search(query: string): Promise<NameHit[]> {
    const page = await this.catalog({ query })
    return page.files.map((entry) => ({
      digest: entry.digest,
      names: entry.names,
      size: entry.size,
      chunkCount: entry.chunkCount,
      ...(entry.mime === undefined ? {} : { mime: entry.mime }),
      holders: entry.seeders + entry.leechers,
      source: 'tracker' as const,
      sources: ['tracker' as const],
    }))
  }

  /** A way in besides the tracker (a CLI `--listen` socket, a sibling tab); returns the function that removes it. */
  addEntryPoint(entry: EntryPoint): () => void {
    this.#entryPoints.add(entry)
    this.emit('entry-points', this.entryPoints())
    return () => {
      if (this.#entryPoints.delete(entry)) this.emit('entry-points', this.entryPoints())
    }
  }

  /** The entry points known now (the page lists them). */
  entryPoints(): EntryPointInfo[] {
    return [...this.#entryPoints].map((e) => ({ label: e.label, kind: e.kind, peers: e.peers() }))
  }

  /** Remembers catalog entries so that a download picked from the catalog keeps the file's name. */
  async catalog(query?: Parameters<TrackerClient['catalog']>[0]) {
    const page = await this.tracker.catalog(query)
    for (const entry of page.files) {
      this.#catalogEntries.set(entry.digest, entry)
      void this.#adoptName(entry)
    }
    return page
  }

  /** Starts sharing a file whose manifest the ingest has just built, from the dropped File itself. */
  share(record: StoredFile, source?: LiveSource): void {
    if (source) this.local.addLiveSource(record, source)
    else this.local.add(record, Bitfield.full(record.manifest.hashes.length))
    this.#toPut.set(record.digest, record.manifest)
    this.#announceSoon(record.digest)
    this.emit('file', { digest: record.digest, progress: undefined })
  }

  /**
   * Starts sharing complete files whose chunks storage already holds, announced together: the headless
   * peer's folder scan finds thousands at once, and one announce (and one manifest upload) per file would
   * run into the tracker's message rate. The tracker client splits the announce within the server's
   * limits; only the first few manifests are uploaded, and downloaders ask the peers for the others.
   */
  shareStored(records: readonly StoredFile[]): void {
    const digests = new Set(records.map((record) => record.digest))
    for (const record of records) this.local.add(record, Bitfield.full(record.manifest.hashes.length))
    this.tracker.announce(this.local.holdings().filter((h) => digests.has(h.digest)))
    for (const record of records.slice(0, MANIFESTS_PER_SHARE)) {
      this.tracker.putManifest(record.digest, record.manifest).catch(() => {})
    }
    for (const record of records) this.emit('file', { digest: record.digest, progress: undefined })
  }

  /**
   * Takes up a download whose chunks storage holds already, though no record of it did (the headless
   * peer's `.chunk` files, whose manifest became known later): its record is saved (named as the catalog
   * names it, when it was listed), the chunks here are announced, and the rest is downloaded.
   */
  async adopt(digest: string, manifest: Manifest, have: Bitfield): Promise<Download> {
    const record = this.#downloadRecord(digest, manifest)
    await this.options.files.put(record)
    this.local.add(record, have)
    this.tracker.announce(this.local.holdings().filter((h) => h.digest === digest))
    return this.#resume(digest)
  }

  /** Announces a newly shared file with the others shared within ANNOUNCE_BATCH_MS, in one message. */
  #announceSoon(digest: string): void {
    this.#toAnnounce.add(digest)
    if (this.#announceTimer !== undefined) return
    this.#announceTimer = this.#clock.setTimeout(() => {
      this.#announceTimer = undefined
      const digests = new Set(this.#toAnnounce)
      this.#toAnnounce.clear()
      if (this.#destroyed) return
      this.tracker.announce(this.local.holdings().filter((h) => digests.has(h.digest)))
      // Manifests after the announce: the tracker caches one only for a file someone holds.
      this.#putManifests()
    }, ANNOUNCE_BATCH_MS)
  }

  /** Gives the tracker the manifests of announced files to cache, MANIFESTS_PER_SECOND at most. */
  #putManifests(): void {
    if (this.#putTimer !== undefined) return
    const drain = () => {
      this.#putTimer = undefined
      if (this.#destroyed) return
      for (const [next, nextManifest] of [...this.#toPut].slice(0, MANIFESTS_PER_SECOND)) {
        this.#toPut.delete(next)
        if (!this.#toAnnounce.has(next)) this.tracker.putManifest(next, nextManifest).catch(() => {})
        else this.#toPut.set(next, nextManifest) // not announced yet: its turn comes after
      }
      if (this.#toPut.size > 0) this.#putTimer = this.#clock.setTimeout(drain, 1_000)
    }
    // The first ones right behind the announce, on the same socket: a downloader that learns of the file
    // from the catalog finds its manifest cached already.
    drain()
  }

  /**
   * The ingest has stored every chunk: serve them from storage from now on. The file's plain SHA-256 is
   * known now too (the record shared when hashing ended had none): it joins the record held, which keeps
   * whatever changed meanwhile (sharing stopped, a name learned).
   */
  stored(record: StoredFile): void {
    this.local.dropLiveSource(record.digest)
    const held = this.local.get(record.digest)
    if (held && record.plainSha256 !== undefined && held.record.plainSha256 === undefined) {
      this.local.update({ ...held.record, plainSha256: record.plainSha256 })
    }
  }

  /**
   * Downloads a file by digest from every peer that has it. Asking twice at once gives the same download.
   * `hints` start the record of a file new here (a private link's key, a collection member's path).
   */
  fetch(digest: string, hints: FetchHints = {}): Promise<Download> {
    const pending = this.#fetching.get(digest)
    if (pending) return pending
    const fetching = this.#fetch(digest, hints).finally(() => this.#fetching.delete(digest))
    this.#fetching.set(digest, fetching)
    return fetching
  }

  async #fetch(digest: string, hints: FetchHints): Promise<Download> {
    const held = this.local.get(digest)
    if (held?.have.complete) throw new SwarmError('FILE_CONFLICT', 'this file is already here')
    if (!held) {
      const entry = this.#catalogEntries.get(digest)
      const record = this.#downloadRecord(digest, await this.manifestOf(digest), hints)
      await this.options.files.put(record)
      this.local.add(record)
      // The catalog's answer may have come while the record was being stored.
      const late = this.#catalogEntries.get(digest)
      if (!entry && late) void this.#adoptName(late)
      // Announced at once as a leecher: others learn of us, and each chunk we store is shared from then on.
      this.tracker.announce(this.local.holdings().filter((h) => h.digest === digest))
    }
    return this.#resume(digest)
  }

  /**
   * A download started before its catalog entry came (a click fetches at once, issue 16) gets the entry's
   * name and type once the catalog has them: the saved file is named as its sharer named it.
   */
  async #adoptName(entry: CatalogEntry): Promise<void> {
    const file = this.local.get(entry.digest)
    const name = entry.names[0]
    if (!file || !name || file.record.origin !== 'downloaded') return
    if (file.record.name !== placeholderName(entry.digest)) return
    const record: StoredFile = { ...file.record, name, mime: entry.mime ?? file.record.mime }
    this.local.add(record, file.have)
    this.emit('file', { digest: entry.digest, progress: this.swarm.getDownload(entry.digest)?.progress() })
    await this.options.files.put(record).catch(() => {}) // the name in memory is what the save uses
  }

  pause(digest: string): void {
    this.swarm.getDownload(digest)?.pause()
  }

  /**
   * Stops sharing a file but keeps it here: it is no longer announced or served, and stays so after a
   * reload (the record's `notShared` flag), until `shareAgain`.
   */
  async stopSharing(digest: string): Promise<void> {
    const held = this.local.get(digest)
    if (!held || held.record.notShared) return
    this.swarm.getDownload(digest)?.pause()
    this.tracker.leave([digest])
    await this.updateRecord({ ...held.record, notShared: true })
  }

  /** Shares a file again that the user had stopped sharing. */
  async shareAgain(digest: string): Promise<void> {
    const held = this.local.get(digest)
    if (!held?.record.notShared) return
    const { notShared: _, ...record } = held.record
    await this.updateRecord(record)
    this.tracker.announce(this.local.holdings().filter((h) => h.digest === digest))
  }

  /** Saves a held file's changed record (a name learned from a private share, a flag) and says so. */
  async updateRecord(record: StoredFile): Promise<void> {
    if (!this.local.get(record.digest)) return
    await this.options.files.put(record)
    this.local.update(record)
    this.emit('file', { digest: record.digest, progress: undefined })
  }

  /** Stops sharing a file and deletes it from this browser. */
  async remove(digest: string): Promise<void> {
    this.swarm.removeDownload(digest)
    this.#finder.forget(digest)
    this.tracker.leave([digest])
    await this.local.remove(digest)
    this.emit('file', { digest, progress: undefined })
  }

  /** Says goodbye to the tracker and closes every link, once. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#clock.clearTimeout(this.#announceTimer)
    this.#clock.clearTimeout(this.#putTimer)
    this.#scrub.destroy()
    this.#finder.destroy()
    this.swarm.destroy()
    this.#links?.destroy()
    this.tracker.destroy()
  }

  async #resume(digest: string): Promise<Download> {
    const download = this.swarm.download(digest)
    if (download.state === 'complete') return download
    if (!this.#watched.has(download)) {
      this.#watched.add(download)
      download.on('progress', (progress) => {
        if (progress.sources > 0) this.#finder.noteSourced(digest)
        this.emit('file', { digest, progress })
      })
      download.on('complete', (file) => {
        this.#finder.forget(digest)
        this.emit('complete', file)
        this.options.onComplete?.(file)
      })
    }
    download.start()
    await this.#finder.find(digest)
    return download
  }

  /** The record of a file downloaded here: its name and type from the catalog, when it was listed there. */
  #downloadRecord(digest: string, manifest: Manifest, hints: FetchHints = {}): StoredFile {
    const entry = this.#catalogEntries.get(digest)
    return {
      digest,
      name: entry?.names[0] ?? placeholderName(digest),
      mime: entry?.mime ?? '',
      manifest,
      origin: 'downloaded',
      addedAtMs: this.#clock.now(),
      ...(entry?.collection ? { collection: entry.collection } : {}),
      ...hints,
    }
  }

  /** A file's manifest, from the tracker's cache or else from a peer that holds it; checked against the digest. */
  async manifestOf(digest: string): Promise<Manifest> {
    try {
      return await this.tracker.getManifest(digest)
    } catch {
      const { peers } = await this.tracker.peers(digest)
      return this.swarm.fetchManifest(
        digest,
        peers.map((p) => p.peerId),
      )
    }
  }

  #linkManager(): LinkManager {
    if (!this.#links) throw new SwarmError('TRACKER_OFFLINE', 'not connected to the tracker yet')
    return this.#links
  }

  /** Tells the user, once per change, that the tab is running out of RTCPeerConnections. */
  #onLinkBudget(budget: LinkBudget): void {
    this.emit('link-budget', budget)
    if (budget.state === 'ok') return
    const code = budget.state === 'low' ? 'LINK_BUDGET_LOW' : 'LINK_BUDGET_SPENT'
    this.emit('problem', {
      error: new SwarmError(code, `${budget.built} of ${budget.budget} RTCPeerConnections built in this tab`),
    })
  }

  #onStatus(status: TrackerStatus): void {
    // The client stopped for good (another tab took this identity's connection, a protocol it does not
    // speak): the user must hear why, since it will not come back by itself.
    if (status.state === 'offline' && status.error) this.emit('problem', { error: status.error })
    if (status.state === 'online') {
      if (!this.#links) {
        this.#links = new LinkManager({
          peerId: status.peerId,
          signaller: this.tracker,
          signalAuth: signedSignals(this.identity),
          iceServers: status.iceServers,
          clock: this.#clock,
          createLink: this.options.createLink,
          ...(this.options.linkBudget === undefined ? {} : { linkBudget: this.options.linkBudget }),
          ...(this.options.abusiveLinksBurst === undefined
            ? {}
            : { abusiveLinksBurst: this.options.abusiveLinksBurst }),
          refuses: (peerId) => this.swarm.isBanned(peerId),
          refusesAddress: (address) => this.swarm.isAddressBanned(address),
          idleLinks: () => this.swarm.idlePeers(),
        })
        this.#links.on('link', (link) => {
          for (const listener of this.#linkListeners) listener(link)
        })
        this.#links.on('budget', (budget) => this.#onLinkBudget(budget))
        // The tracker (or a relay) forged or altered a peer's offer or answer: the user should know.
        this.#links.on('forged', ({ error }) => this.emit('problem', { error }))
      } else {
        // A reconnect gives a new id; links already open stay, new ones use the new id.
        this.#links.setPeerId(status.peerId)
        this.#links.setIceServers(status.iceServers)
      }
    }
    this.emit('status', status)
    if (status.state === 'online') {
      // Sources are asked for at once: downloads resumed at start-up, or cut off by a tracker restart,
      // should not wait for the next refresh.
      for (const { record } of this.local.list()) {
        if (this.swarm.getDownload(record.digest)?.state === 'downloading')
          void this.#finder.find(record.digest)
      }
    }
  }
}
