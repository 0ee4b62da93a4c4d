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
import { CombinedRouting } from './combined-routing.js'
import { CompositeSignaller } from './composite-signaller.js'
import type { ContentRouting, NameHit, ProviderHit } from './content-routing.js'
import type { Download, DownloadProgress } from './download.js'
import type { EntryPoint, EntryPointInfo } from './entry-point.js'
import { type Identity, type KeyStore, loadOrCreateIdentity, MemoryKeyStore } from './identity.js'
import { LINK_BUDGET, type LinkBudget, LinkManager } from './link-manager.js'
import { ListenEntryPoint } from './listen-entry-point.js'
import { type LiveSource, type LocalFile, LocalFiles } from './local-files.js'
import type { LinkFactory, PeerLink } from './peer-link.js'
import type { PeerSession } from './peer-session.js'
import { ProtocolRegistrar } from './protocol-registrar.js'
import { type ContactStore, MemoryContactStore, parseContacts, type RecentContacts } from './ring/contacts.js'
import type { MembershipInput } from './ring/membership-policy.js'
import { RingHost } from './ring/ring-host.js'
import type { RingOptions } from './ring/ring-options.js'
import { RingRouting } from './ring/ring-routing.js'
import { RingSignaller } from './ring/ring-signaller.js'
import { aloneStatus, type RingConnection, type RingStatus } from './ring/ring-status.js'
import { Scrub } from './scrub.js'
import { signedSignals } from './signal-auth.js'
import { SourceFinder } from './source-finder.js'
import { Swarm } from './swarm.js'
import { TrackerClient, type TrackerStatus, type WebSocketLike } from './tracker-client.js'
import { TrackerRouting } from './tracker-routing.js'
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
/**
 * `--listen` URLs this peer keeps a socket to at once (listen-entry-point.ts), most recent first: one that
 * answers is enough to rejoin, and each is a socket held open for the whole session.
 */
export const MAX_LISTEN_ENTRIES = 4

/** Catalog files whose holders a new peer may join the ring through (engine.#trackerPeers). */
const TRACKER_BOOTSTRAP_FILES = 3

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
  /** Links closed for abuse before other peers are declined for a while; default ABUSIVE_LINKS_BURST (16). */
  abusiveLinksBurst?: number
  /** The same per origin (address) of the peers; default ORIGIN_ABUSIVE_LINKS_BURST (4). */
  abusiveLinksPerOrigin?: number
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
  readonly #links: LinkManager
  /** Signals go through the tracker, an entry point or the ring (composite-signaller.ts). */
  readonly #signaller: CompositeSignaller
  /** The ring on this peer's links (ring-host.ts); undefined when the engine runs without one. */
  readonly #ring: RingHost | undefined
  /** Who holds a file and what names match: the tracker and the ring together (combined-routing.ts). */
  readonly routing: ContentRouting
  /** How each linked peer is reached (for the Network panel), learned once its link is up. */
  readonly #connections = new Map<string, RingConnection>()
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
  /** The `--listen` URLs connected to, each with the function that closes it. */
  readonly #listenEntries = new Map<string, () => void>()
  /** Names of files found through the ring's name index, for downloads picked from a ring search. */
  readonly #ringNames = new Map<string, string>()

  private constructor(
    private readonly options: EngineOptions,
    local: LocalFiles,
    identity: Identity,
    contacts: RecentContacts,
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
    const trackerOnline = () => this.tracker.status.state === 'online'
    this.#ring =
      options.ring === false
        ? undefined
        : new RingHost({
            identity,
            router: {
              handle: (protocol) => this.protocols.handle(protocol),
              openSession: (peerId) => this.openSession(peerId),
            },
            clock: this.#clock,
            ...(options.random ? { random: options.random } : {}),
            ...(options.ring ? { options: options.ring } : {}),
            membership: this.#membership,
            contacts: options.contacts ?? new MemoryContactStore(),
            initialContacts: contacts,
            linkedPeers: () => this.swarm.sessions.map((session) => session.peerId),
            entryPeers: () => [...this.#entryPoints].flatMap((entry) => entry.peers()),
            trackerPeers: () => this.#trackerPeers(),
            trackerOnline,
            connectionOf: (peerId) => this.#connections.get(peerId) ?? 'direct',
          })
    const trackerRouting = new TrackerRouting(this.tracker)
    this.routing = this.#ring
      ? new CombinedRouting({
          tracker: trackerRouting,
          trackerOnline,
          ring: new RingRouting(this.#ring),
          clock: this.#clock,
        })
      : trackerRouting
    this.#signaller = new CompositeSignaller({
      tracker: this.tracker,
      trackerOnline,
      ring: this.#ring ? new RingSignaller(this.#ring, this.#clock) : this.tracker,
      clock: this.#clock,
    })
    this.#links = this.#newLinkManager(contacts)
    this.#ring?.on('status', (status) => this.emit('ring', status))
    this.#finder = new SourceFinder({
      tracker: {
        // The ring is always there to ask; without it, only the tracker while it is online.
        isOnline: () => this.#ring !== undefined || trackerOnline(),
        peers: (digest) => this.#providers(digest),
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
    this.tracker.on('ice-servers', ({ iceServers }) => this.#links.setIceServers(iceServers))
    this.swarm.on('session', (session) => {
      this.#finder.onSession(session.peerId)
      this.#ring?.peerLinked(session.peerId)
      void session.link.connectionType().then(
        (type) => this.#connections.set(session.peerId, type === 'relayed' ? 'relayed' : 'direct'),
        () => {},
      )
    })
    // Links closed for abuse are budgeted, per origin too: fresh peer ids cannot spend the tab's connections.
    this.swarm.on('ban', ({ peerId }) => this.#links.noteAbusiveLink(peerId))
    this.swarm.on('session-closed', ({ peerId }) => {
      this.#finder.onSessionClosed(peerId)
      this.#connections.delete(peerId)
    })
    local.on('chunk-stored', ({ digest, index }) => {
      this.tracker.reportChunk(digest, index)
      // A downloader becomes a provider with its first chunk, and again (full count) when complete.
      const held = local.get(digest)
      if (held && (held.have.count === 1 || held.have.complete)) this.#provide(digest)
    })
  }

  /** Loads (or creates) the identity, scans storage, connects to the tracker, and resumes unfinished downloads. */
  static async open(options: EngineOptions): Promise<SwarmEngine> {
    const identity = await loadOrCreateIdentity(options.keys ?? new MemoryKeyStore())
    const inventory = await scanInventory(options.files, options.chunks)
    const local = new LocalFiles(options.chunks, options.files, inventory)
    const contacts = await (options.contacts ?? new MemoryContactStore())
      .load()
      .then(parseContacts, () => parseContacts(undefined))
    const engine = new SwarmEngine(options, local, identity, contacts)
    engine.tracker.start()
    // The `--listen` peers kept from earlier runs: with the tracker down, the way back into the ring.
    for (const url of contacts.entryUrls) engine.#connectEntryUrl(url)
    // What is here goes into the ring from the start: it answers for this peer while the tracker is down.
    for (const { record } of local.list()) engine.#provide(record.digest)
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

  /** The catalog entry of a file this page has been shown (by `catalog`), if any. */
  catalogEntry(digest: string): CatalogEntry | undefined {
    return this.#catalogEntries.get(digest)
  }

  // ------------------------------------------------------------ ring and content routing (issue 13)

  /** This peer's place in the ring now (the Network panel, the CLI's `ring` command). */
  ringStatus(): RingStatus {
    if (this.#ring) return this.#ring.status()
    return aloneStatus(this.identity, this.tracker.status.state === 'online')
  }

  /** The host's circumstances changed (visibility, metered): the ring membership follows. */
  setMembershipInput(input: MembershipInput): void {
    this.#membership = { ...this.#membership, ...input }
    this.#ring?.setMembership(this.#membership)
  }

  /** Peers holding `digest`, from the tracker when it is online and from the ring always; merged. */
  findProviders(digest: string): Promise<ProviderHit[]> {
    return this.routing.findProviders(digest)
  }

  /**
   * Shared files whose names hold every word of `query`: the tracker's catalog when it is online and the
   * ring's name index always, merged and deduplicated by digest. When the tracker is offline only the
   * ring answers (every hit then says `source: 'ring'`). Names learned are kept for downloads.
   */
  async search(query: string): Promise<NameHit[]> {
    const hits = await this.routing.search(query)
    for (const hit of hits) {
      const name = hit.names[0]
      if (name === undefined || this.#catalogEntries.has(hit.digest)) continue
      this.#ringNames.set(hit.digest, name)
    }
    return hits
  }

  /** Remembers a CLI peer's `--listen` URL, to rejoin through it later (kept with the contacts). */
  noteEntryUrl(url: string): void {
    this.#ring?.noteEntryUrl(url)
    this.#connectEntryUrl(url)
  }

  /** The entry URLs and ICE servers kept from earlier runs (for a start while the tracker is down). */
  get keptContacts(): RecentContacts {
    return this.#ring?.contacts ?? parseContacts(undefined)
  }

  /** A way in besides the tracker (a CLI `--listen` socket, a sibling tab); returns the function that removes it. */
  addEntryPoint(entry: EntryPoint): () => void {
    this.#entryPoints.add(entry)
    this.#signaller.addEntryPoint(entry)
    const offPeers = entry.onPeers((peers) => {
      this.emit('entry-points', this.entryPoints())
      for (const peerId of peers) this.#ring?.peerLinked(peerId)
    })
    this.emit('entry-points', this.entryPoints())
    return () => {
      offPeers()
      this.#signaller.removeEntryPoint(entry)
      if (this.#entryPoints.delete(entry)) this.emit('entry-points', this.entryPoints())
    }
  }

  /**
   * Keeps a socket to a CLI peer's `--listen` URL (listen-entry-point.ts) as an entry point, at most
   * MAX_LISTEN_ENTRIES at once. Only with the ring: linking to the listening peer is the way into it.
   */
  #connectEntryUrl(url: string): void {
    if (!this.#ring || this.#destroyed || this.#listenEntries.has(url)) return
    if (this.#listenEntries.size >= MAX_LISTEN_ENTRIES) return
    const entry = new ListenEntryPoint({
      url,
      createSocket: this.options.createSocket,
      identity: this.identity,
      clock: this.#clock,
      ...(this.options.random ? { random: this.options.random } : {}),
      onWelcome: (_host, iceServers) => {
        this.#ring?.noteEntryUrl(url)
        // A peer started with the tracker down and no ICE servers kept takes the listening peer's.
        if (this.tracker.status.state !== 'online' && iceServers.length > 0)
          this.#links.setIceServers(iceServers)
      },
    })
    const remove = this.addEntryPoint(entry)
    this.#listenEntries.set(url, () => {
      remove()
      entry.destroy()
    })
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
    this.#provide(record.digest)
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
    for (const record of records) {
      this.#provide(record.digest)
      this.emit('file', { digest: record.digest, progress: undefined })
    }
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
    this.#provide(digest)
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
    this.routing.withdraw(digest)
    await this.updateRecord({ ...held.record, notShared: true })
  }

  /** Shares a file again that the user had stopped sharing. */
  async shareAgain(digest: string): Promise<void> {
    const held = this.local.get(digest)
    if (!held?.record.notShared) return
    const { notShared: _, ...record } = held.record
    await this.updateRecord(record)
    this.tracker.announce(this.local.holdings().filter((h) => h.digest === digest))
    this.#provide(digest)
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
    this.routing.withdraw(digest)
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
    for (const close of this.#listenEntries.values()) close()
    this.#listenEntries.clear()
    // Leaves the ring while the links are still up, so its neighbours hear it; the contacts are saved.
    void this.#ring?.destroy()
    this.swarm.destroy()
    this.#links.destroy()
    this.#signaller.destroy()
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
      name: entry?.names[0] ?? this.#ringNames.get(digest) ?? placeholderName(digest),
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
    if (this.tracker.status.state === 'online') {
      try {
        return await this.tracker.getManifest(digest)
      } catch {}
    }
    // From a holder (the tracker's or the ring's): checked against the digest all the same.
    const { peers } = await this.#providers(digest)
    return this.swarm.fetchManifest(
      digest,
      peers.map((p) => p.peerId),
    )
  }

  #linkManager(): LinkManager {
    return this.#links
  }

  /**
   * The links, built at once with this peer's own id (it derives from the key) and the ICE servers last
   * kept: signalling through the ring or an entry point needs no welcome.
   */
  #newLinkManager(contacts: RecentContacts): LinkManager {
    const links = new LinkManager({
      peerId: this.identity.peerId,
      signaller: this.#signaller,
      signalAuth: signedSignals(this.identity),
      iceServers: contacts.iceServers,
      clock: this.#clock,
      createLink: this.options.createLink,
      ...(this.options.linkBudget === undefined ? {} : { linkBudget: this.options.linkBudget }),
      ...(this.options.abusiveLinksBurst === undefined
        ? {}
        : { abusiveLinksBurst: this.options.abusiveLinksBurst }),
      ...(this.options.abusiveLinksPerOrigin === undefined
        ? {}
        : { abusiveLinksPerOrigin: this.options.abusiveLinksPerOrigin }),
      refuses: (peerId) => this.swarm.isBanned(peerId),
      refusesAddress: (address) => this.swarm.isAddressBanned(address),
      idleLinks: () => this.swarm.idlePeers(),
    })
    links.on('link', (link) => {
      for (const listener of this.#linkListeners) listener(link)
    })
    links.on('budget', (budget) => this.#onLinkBudget(budget))
    // The tracker (or a relay) forged or altered a peer's offer or answer: the user should know.
    links.on('forged', ({ error }) => this.emit('problem', { error }))
    return links
  }

  /** Holders of a few catalog files: peers to join the ring through (ring-host.ts). */
  async #trackerPeers(): Promise<string[]> {
    try {
      const page = await this.tracker.catalog({ limit: TRACKER_BOOTSTRAP_FILES })
      const replies = await Promise.all(
        page.files.map((entry) => this.tracker.peers(entry.digest).catch(() => ({ peers: [] }))),
      )
      return [...new Set(replies.flatMap((reply) => reply.peers.map((peer) => peer.peerId)))]
    } catch {
      return []
    }
  }

  /** The source finder's directory: every peer the routing names; FILE_NOT_FOUND when none. */
  async #providers(digest: string): Promise<{ peers: { peerId: string }[] }> {
    const hits = await this.routing.findProviders(digest)
    if (hits.length === 0) throw new SwarmError('FILE_NOT_FOUND', `no peer holds ${digest}`)
    return { peers: hits.map((hit) => ({ peerId: hit.peerId })) }
  }

  /**
   * Publishes a held file in the ring: a provider record once a chunk is here, and a name record when it
   * is shared in the catalog (listed, not private). Nothing for files not shared or not started.
   */
  #provide(digest: string): void {
    const held = this.local.get(digest)
    if (!held || held.record.notShared || held.have.count === 0) return
    const { record } = held
    const listed = !record.sealed && record.listed !== false && record.name !== placeholderName(digest)
    this.routing.provide(digest, {
      chunks: held.have.count,
      ...(listed
        ? {
            name: {
              name: record.name,
              size: record.manifest.size,
              chunkCount: record.manifest.hashes.length,
            },
          }
        : {}),
    })
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
      // Ids derive from the key (SPEC §9), so the welcome's id is this peer's: links already open stay.
      this.#links.setPeerId(status.peerId)
      this.#links.setIceServers(status.iceServers)
      this.#ring?.trackerOnline(status.iceServers)
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
