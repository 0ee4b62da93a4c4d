/**
 * The headless peer: the browser's engine (web/peer) over the folder (folder/), with what a person at a
 * terminal asks of it — the catalog, the peers of a file, downloads to start, pause, resume and remove,
 * the state of every file — and a quit that says goodbye to the tracker. It is the composition root of
 * the Node peer: sockets, links and stores come in here and nowhere else.
 */
import { SwarmError } from '../shared/errors.js'
import { chunkLength, DIGEST_PATTERN } from '../shared/manifest.js'
import type { CatalogEntry, ServerMessageOf } from '../shared/tracker-protocol.js'
import type { Clock } from '../web/peer/clock.js'
import type { Download, DownloadState } from '../web/peer/download.js'
import { SwarmEngine } from '../web/peer/engine.js'
import type { LinkFactory } from '../web/peer/peer-link.js'
import { PeerRates } from '../web/peer/peer-rates.js'
import { type PeerRow, peerRows } from '../web/peer/peer-rows.js'
import type { RingOptions } from '../web/peer/ring/ring-options.js'
import type { WebSocketLike } from '../web/peer/tracker-client.js'
import { CliError, EXIT_FAILURE } from './errors.js'
import { ensureDiskRoom } from './folder/disk-space.js'
import { FileContactStore } from './folder/file-contact-store.js'
import { FileKeyStore } from './folder/file-key-store.js'
import { Folder } from './folder/folder.js'
import type { FolderIo } from './folder/io.js'
import { ListenServer } from './listen-server.js'

export interface HeadlessPeerOptions {
  dir: string
  /** The tracker's WebSocket URL (server-url.ts makes one of what the user typed). */
  trackerUrl: string
  createSocket(url: string): WebSocketLike
  createLink: LinkFactory
  /** Only these files: `swarmdrop get` (see Folder). */
  only?: readonly string[]
  io?: FolderIo
  clock?: Clock
  /** Subscribes to the folder's events before its start-up scan, which reports what it finds. */
  listen?(folder: Folder): void
  /**
   * `--listen PORT`: a signalling entry point on this port (listen-server.ts); 0 picks a free one (tests).
   * `listenHost` is the address bound; default all.
   */
  listenPort?: number
  listenHost?: string
  /** `--entry URL`: other peers' `--listen` URLs to rejoin the ring through (kept with the contacts). */
  entryUrls?: readonly string[]
  /** The ring's periods (tests shorten them); default the product's. */
  ring?: RingOptions
}

export type FileState = DownloadState | 'seeding' | 'assembling'

/** One file of the folder, as `status` shows it. */
export interface FileRow {
  digest: string
  name: string
  /** Names in DIR holding it, once complete. */
  names: string[]
  size: number
  state: FileState
  chunksHere: number
  chunkCount: number
  bytesHere: number
  /** Bytes a second arriving, over the last few seconds. */
  bytesPerSecond: number
  sources: number
  error?: SwarmError
}

export class HeadlessPeer {
  readonly rates: PeerRates
  /** Catalog entries seen (by `list` or a download): their names, and digests to complete. */
  readonly #catalog = new Map<string, CatalogEntry>()
  readonly #watchedDownloads = new WeakSet<Download>()
  #closed: Promise<void> | undefined
  /** The `--listen` entry point, when asked for. */
  listenServer: ListenServer | undefined

  private constructor(
    readonly engine: SwarmEngine,
    readonly folder: Folder,
    clock: Clock | undefined,
  ) {
    this.rates = new PeerRates(clock ? () => clock.now() : Date.now)
    engine.swarm.on('uploaded', ({ peerId, bytes }) => this.rates.add(peerId, 'up', bytes))
    engine.on('file', ({ digest }) => this.#watchDownload(digest))
  }

  /** Opens the folder (throws a CliError when it cannot be used), then the engine over it. */
  static async open(options: HeadlessPeerOptions): Promise<HeadlessPeer> {
    const folder = await Folder.open(
      {
        dir: options.dir,
        ...(options.only ? { only: options.only } : {}),
        ...(options.io ? { io: options.io } : {}),
      },
      options.listen,
    )
    let engine: SwarmEngine
    try {
      engine = await SwarmEngine.open({
        trackerUrl: options.trackerUrl,
        createSocket: options.createSocket,
        chunks: folder.chunks,
        files: folder.files,
        // The folder's key pair: the same peer id every time this folder is shared (SPEC §9).
        keys: new FileKeyStore(folder.layout.identityDir),
        // The always-on part of the ring (issue 13): a member at once, its contacts kept in the folder.
        membership: { memberAtOnce: true },
        contacts: new FileContactStore(folder.layout.contactsFile),
        createLink: options.createLink,
        // The 500 RTCPeerConnections of a tab's life are Chromium's limit (link-manager.ts, LINK_BUDGET);
        // @roamhq/wrtc has none (600 built and closed in a row: RSS levels off at ~150 MiB once collected),
        // and an always-on seeder links to new peers for months.
        linkBudget: Number.POSITIVE_INFINITY,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.ring ? { ring: options.ring } : {}),
        onComplete: (file) => folder.onComplete(file),
      })
    } catch (error) {
      await folder.close()
      throw error
    }
    const peer = new HeadlessPeer(engine, folder, options.clock)
    if (options.listenPort !== undefined) {
      try {
        peer.listenServer = await ListenServer.start({
          port: options.listenPort,
          ...(options.listenHost ? { host: options.listenHost } : {}),
          identity: engine.identity,
          iceServers: () => {
            const status = engine.tracker.status
            return status.state === 'online' ? status.iceServers : engine.keptContacts.iceServers
          },
        })
      } catch (error) {
        engine.destroy()
        await folder.close()
        throw new CliError(
          `cannot listen on port ${options.listenPort}: ${(error as Error).message}`,
          EXIT_FAILURE,
        )
      }
      engine.addEntryPoint(peer.listenServer)
    }
    for (const url of options.entryUrls ?? []) engine.noteEntryUrl(url)
    for (const { record } of engine.local.list()) peer.#watchDownload(record.digest)
    folder.attach(engine)
    return peer
  }

  /** Every file of the folder: complete, downloading, waiting to be assembled. */
  files(): FileRow[] {
    return this.engine.local.list().map(({ record, have }) => {
      const { digest } = record
      const progress = this.engine.swarm.getDownload(digest)?.progress()
      const names = this.folder.namesOf(digest)
      let state: FileState
      if (names.length > 0) state = 'seeding'
      else if (have.complete) state = 'assembling'
      else state = progress?.state ?? 'paused'
      const row: FileRow = {
        digest,
        name: names[0] ?? record.name,
        names,
        size: record.manifest.size,
        state,
        chunksHere: have.count,
        chunkCount: have.length,
        bytesHere: this.engine.local.bytesHere(digest),
        bytesPerSecond: state === 'downloading' ? (progress?.bytesPerSecond ?? 0) : 0,
        sources: progress?.sources ?? 0,
      }
      if (progress?.error && state === 'error') row.error = progress.error
      return row
    })
  }

  /** Bytes a second over every peer, each way. */
  totalRates(): { up: number; down: number } {
    const peers = new Set(this.engine.swarm.sessions.map((s) => s.peerId))
    let up = 0
    let down = 0
    for (const peerId of peers) {
      up += this.rates.rate(peerId, 'up')
      down += this.rates.rate(peerId, 'down')
    }
    return { up, down }
  }

  /** One page of the catalog (the tracker's page size), remembered for names and digest completion. */
  async list(query?: string): Promise<ServerMessageOf<'catalog'>> {
    const page = await this.engine.catalog(query ? { query } : {})
    for (const entry of page.files) this.#catalog.set(entry.digest, entry)
    return page
  }

  /** The peers holding a file, how many chunks each has, and how this peer reaches each. */
  peers(digest: string): Promise<PeerRow[]> {
    return peerRows(
      { tracker: this.engine.tracker, sessions: this.engine.swarm.sessions, rates: this.rates },
      digest,
    )
  }

  /**
   * Downloads a file into the folder: chunk files of it already here (even without a manifest) are used,
   * an unfinished download is resumed, and a new one is refused when the disk cannot hold it.
   */
  async get(digest: string): Promise<Download> {
    if (this.folder.unknownChunks.has(digest) && (await this.folder.adoptUnknown(digest))) {
      return this.engine.fetch(digest)
    }
    const held = this.engine.local.get(digest)
    if (held?.have.complete) {
      const names = this.folder.namesOf(digest)
      throw new SwarmError(
        'FILE_CONFLICT',
        names.length > 0 ? `already here as ${names.join(', ')}` : 'already here',
      )
    }
    if (!held) {
      const entry = this.#catalog.get(digest) ?? (await this.#catalogEntry(digest))
      if (entry) await ensureDiskRoom(this.folder.layout.dir, entry.size, `downloading ${entry.names[0]}`)
    }
    return this.engine.fetch(digest)
  }

  /** Stops a download; what is stored stays. Lasts until it is resumed or swarmdrop starts again. */
  pause(digest: string): void {
    const download = this.engine.swarm.getDownload(digest)
    if (!download || download.state === 'complete') {
      throw new SwarmError('FILE_NOT_FOUND', 'no download of this file is running')
    }
    this.engine.pause(digest)
  }

  /** Resumes a paused (or failed) download, or assembles a finished one that the disk had no room for. */
  async resume(digest: string): Promise<void> {
    if (this.folder.awaitsCombine(digest)) {
      this.folder.retryCombine(digest)
      return
    }
    await this.get(digest)
  }

  /** Stops sharing a file and deletes it from the folder: its chunk files, or the complete file(s). */
  async remove(digest: string): Promise<string[]> {
    if (!this.engine.local.get(digest) && this.folder.namesOf(digest).length === 0) {
      throw new SwarmError('FILE_NOT_FOUND', 'no such file in the folder')
    }
    return this.folder.remove(digest)
  }

  /** Digests known here: the folder's, unknown chunk files', and the catalog's seen so far. */
  knownDigests(): string[] {
    return [
      ...new Set([
        ...this.engine.local.list().map((f) => f.record.digest),
        ...this.folder.unknownChunks.keys(),
        ...this.#catalog.keys(),
      ]),
    ]
  }

  /** The name a digest is known by, here or in the catalog. */
  nameOf(digest: string): string | undefined {
    return (
      this.folder.namesOf(digest)[0] ??
      this.engine.local.get(digest)?.record.name ??
      this.#catalog.get(digest)?.names[0]
    )
  }

  /**
   * The one digest that `text` (a whole digest, or the start of one) names among those known here, or
   * else in the catalog (the tracker searches digests by prefix). Throws (a plain Error, the user's
   * input being the problem) when none or several match.
   */
  async resolve(text: string): Promise<string> {
    const prefix = text.trim().toLowerCase()
    if (DIGEST_PATTERN.test(prefix)) return prefix
    if (!/^[0-9a-f]{1,63}$/.test(prefix)) throw new Error(`"${text}" is not a digest`)
    let matches = this.knownDigests().filter((d) => d.startsWith(prefix))
    if (matches.length === 0 && this.engine.tracker.status.state === 'online') {
      matches = (await this.list(prefix)).files.map((f) => f.digest).filter((d) => d.startsWith(prefix))
    }
    if (matches.length === 1) return matches[0]!
    throw new Error(
      matches.length === 0
        ? `no file known starts with ${prefix}`
        : `${matches.length} files start with ${prefix}: give more of the digest`,
    )
  }

  /** Says goodbye to the tracker, closes every link, stops the folder's work and releases it. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.listenServer?.destroy()
      this.engine.destroy()
      await this.folder.close()
    })()
    return this.#closed
  }

  async #catalogEntry(digest: string): Promise<CatalogEntry | undefined> {
    if (this.engine.tracker.status.state !== 'online') return undefined
    const page = await this.list(digest).catch(() => undefined)
    return page?.files.find((f) => f.digest === digest)
  }

  /** Counts what each peer sends to a download, for the per-peer rates. */
  #watchDownload(digest: string): void {
    const download = this.engine.swarm.getDownload(digest)
    if (!download || this.#watchedDownloads.has(download)) return
    this.#watchedDownloads.add(download)
    const { manifest } = download.file.record
    download.on('chunk', ({ state, peerId, index }) => {
      if (state === 'here' && peerId) this.rates.add(peerId, 'down', chunkLength(manifest, index))
    })
  }
}
