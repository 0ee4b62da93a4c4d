/**
 * The registry shared by every instance through Redis (redis-scripts.ts has the keys and the scripts).
 *
 * Each instance also keeps, in memory, what its own peers hold (a SwarmRegistry of its peers only): that
 * is the truth about them, checked there first (per-peer limits, bitfields), and published to Redis, which
 * holds the whole swarm for every instance to read. So Redis can be lost and rebuilt: whenever it becomes
 * reachable (at start, after an outage, after a restart that lost its data, or after this instance was
 * reaped while cut off) the instance publishes its peers again (`republish`). While Redis is down, what
 * peers announce, report or leave is kept here and acknowledged; what needs the whole swarm (catalog,
 * peers, manifests) fails with CLUSTER_UNAVAILABLE.
 */
import { SwarmError } from '../shared/errors.js'
import { chunkCountOf, type Manifest } from '../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry, CollectionInfo, SwarmPeer } from '../shared/tracker-protocol.js'
import type { ThrottledLogger } from './log-throttle.js'
import { GRAM, gramsOf, HEX_QUERY, MIN_DIGEST_PREFIX } from './name-index.js'
import type { RedisLink } from './redis-link.js'
import {
  CATALOG,
  CLAIM,
  DROP,
  ENTRY,
  GET_MANIFEST,
  HAS_FILE,
  HOLD,
  PEERS,
  PUT_MANIFEST,
  RELEASE,
  REPUBLISH,
  STATS,
} from './redis-scripts.js'
import { type HeldFile, SwarmRegistry } from './registry.js'
import type {
  CatalogPage,
  ChunkUpdate,
  FileRejection,
  Registry,
  RegistryStats,
  SwarmReply,
} from './registry-contract.js'

/** How long Redis keeps a manifest nobody asked for (each read renews it): memory bounded by time. */
export const MANIFEST_TTL_S = 3600
/**
 * Files a catalog search looks at, at most: the files under its rarest trigram, or the most-held files for
 * a query of one or two characters. 10,000 candidates cost Redis a few milliseconds; a search broader than
 * that (a trigram in most names of a catalog beyond 10,000 files) looks at a random 10,000 of them.
 */
export const MAX_SEARCH_CANDIDATES = 10_000
/** Files published to Redis in one script while republishing: one round trip each, Redis never held long. */
const REPUBLISH_BATCH = 200

/** What the registry needs from the cluster: who this instance is, and telling another instance things. */
export interface RegistryCluster {
  readonly instance: string
  readonly prefix: string
  /** Another instance's peer must forget a file (its holder announced a shape a manifest disproved). */
  tellDrop(instance: string, peerId: string, digest: string): void
  /** Another instance's connection must close: its peer id was taken over here. */
  tellKick(instance: string, peerId: string): void
  /**
   * This instance's connection of a peer must close: a newer connection with its id, made on another
   * instance while this one could not reach Redis, holds the id (found when republishing).
   */
  superseded(peerId: string): void
  /** The catalog changed here: other instances' watchers are told within a notice interval. */
  changed(revision: number): void
}

interface HeldForRedis {
  d: string
  z: string
  c: string
  k: string
  t?: string
  /** Collection info as JSON, set on the file by the announce that lists it first. */
  col?: string
  /** Some holder announced it sealed. */
  x?: true
  /** Each name as a JSON string: Lua keeps them opaque, so a lone surrogate survives the trip. */
  names: string[]
  first: string
  lnames: string[]
  grams: string[][]
  have: string
}

export class RedisRegistry implements Registry {
  /** What this instance's own peers hold. */
  readonly local: SwarmRegistry
  #revision = 0
  #touched = 0
  /** When each of this instance's peers connected (ms): the newer connection keeps an id (REPUBLISH). */
  readonly #since = new Map<string, number>()
  /** Set when a change could not reach Redis: the next `republish` makes Redis whole again. */
  #stale = false
  #republishing: Promise<void> | undefined

  constructor(
    private readonly redis: RedisLink,
    private readonly cluster: RegistryCluster,
    filesPerPeer: number,
    private readonly log: ThrottledLogger,
    /** Wall-clock time, comparable across instances (their hosts' clocks kept in step, e.g. by NTP). */
    private readonly now: () => number = Date.now,
  ) {
    this.local = new SwarmRegistry(filesPerPeer)
  }

  get revision(): number {
    return this.#revision
  }

  get recordsTouched(): number {
    return this.#touched
  }

  /** Whether some change since the last republish did not reach Redis. */
  get stale(): boolean {
    return this.#stale
  }

  /** The catalog revision another instance announced. */
  heardRevision(revision: number): void {
    if (revision > this.#revision) this.#revision = revision
  }

  async addPeer(peerId: string): Promise<void> {
    this.local.removePeer(peerId)
    this.local.addPeer(peerId)
    const since = this.now()
    this.#since.set(peerId, since)
    await this.#write(async () => {
      const [before, revision] = (await this.#run(CLAIM, [peerId, this.cluster.instance, since])) as [
        string,
        number,
      ]
      this.#changed(Number(revision))
      if (before !== '' && before !== this.cluster.instance) this.cluster.tellKick(before, peerId)
    })
  }

  async hasPeer(peerId: string): Promise<boolean> {
    return this.local.hasPeer(peerId)
  }

  async removePeer(peerId: string): Promise<void> {
    this.local.removePeer(peerId)
    this.#since.delete(peerId)
    await this.#write(async () => {
      this.#changed(Number(await this.#run(RELEASE, [peerId, this.cluster.instance])))
    })
  }

  /** A peer connected elsewhere took the id over: forget it here only (Redis is the other instance's now). */
  forgetLocally(peerId: string): void {
    this.local.removePeer(peerId)
    this.#since.delete(peerId)
  }

  async announce(peerId: string, files: readonly AnnouncedFile[]): Promise<FileRejection[]> {
    const rejections = this.local.announce(peerId, files)
    const rejected = new Set(rejections.map((r) => r.digest))
    const accepted = files.filter((file) => !rejected.has(file.digest))
    return [
      ...rejections,
      ...(await this.#publish(
        peerId,
        accepted.map((f) => f.digest),
      )),
    ]
  }

  async reportChunks(peerId: string, updates: readonly ChunkUpdate[]): Promise<FileRejection[]> {
    const rejections = this.local.reportChunks(peerId, updates)
    const rejected = new Set(rejections.map((r) => r.digest))
    const applied = updates.filter((update) => !rejected.has(update.digest)).map((u) => u.digest)
    return [...rejections, ...(await this.#publish(peerId, applied))]
  }

  async leave(peerId: string, digests: readonly string[]): Promise<void> {
    this.local.leave(peerId, digests)
    await this.#write(async () => {
      const revision = Number(await this.#run(DROP, [peerId, this.cluster.instance, JSON.stringify(digests)]))
      this.#changed(revision)
    })
  }

  async holds(peerId: string, digest: string): Promise<boolean> {
    return this.local.holds(peerId, digest)
  }

  async filesOf(peerId: string): Promise<number> {
    return this.local.filesOf(peerId)
  }

  async entry(digest: string): Promise<CatalogEntry | undefined> {
    const fields = (await this.#run(ENTRY, [digest])) as string[]
    return fields.length === 0 ? undefined : entryOf(fields, 0)
  }

  async hasFile(digest: string): Promise<boolean> {
    // This instance's own peers first: no round trip for the common case (the announcer gives the manifest).
    return this.local.hasFile(digest) || Number(await this.#run(HAS_FILE, [digest])) === 1
  }

  async catalog(
    query: string | undefined,
    offset: number,
    limit: number,
  ): Promise<{ page: CatalogPage; touched: number }> {
    const lower = query?.trim().toLowerCase() ?? ''
    // Made well-formed as the names in Redis are (a trigram may split a surrogate pair): same mapping.
    const grams = lower.length >= GRAM ? [...gramsOf([lower])].map(wellFormed) : []
    const needle = wellFormed(lower)
    const prefix = needle.length >= MIN_DIGEST_PREFIX && HEX_QUERY.test(needle) ? needle : ''
    const reply = (await this.#run(CATALOG, [
      needle,
      offset,
      limit,
      JSON.stringify(grams),
      prefix,
      MAX_SEARCH_CANDIDATES,
    ])) as (string | number)[]
    const [revision, total, touched] = reply.slice(0, 3).map(Number) as [number, number, number]
    const files: CatalogEntry[] = []
    for (let at = 3; at < reply.length; at += ENTRY_FIELDS) files.push(entryOf(reply, at))
    this.heardRevision(revision)
    this.#touched += touched
    return { page: { revision, total, offset, files }, touched }
  }

  async peers(digest: string, exceptPeerId: string, limit: number): Promise<SwarmReply | undefined> {
    const spare = Math.floor(Math.random() * (limit + 1))
    const reply = (await this.#run(PEERS, [digest, exceptPeerId, limit, spare])) as string[]
    if (reply.length === 0) return undefined
    const peers: SwarmPeer[] = []
    for (let at = 2; at + 1 < reply.length; at += 2) peers.push({ peerId: reply[at]!, have: reply[at + 1]! })
    // In the hash's order: shuffled, so that a client asking the first ones first spreads its load too.
    shuffle(peers)
    const chunkCount = Number(reply[0])
    return Number(reply[1]) === 1 ? { chunkCount, peers, sealed: true } : { chunkCount, peers }
  }

  async putManifest(digest: string, manifest: Manifest): Promise<string[]> {
    const droppedHere = this.local.putManifest(digest, manifest)
    const reply = (await this.#run(PUT_MANIFEST, [
      digest,
      String(manifest.size),
      String(manifest.chunkSize),
      JSON.stringify(manifest),
      MANIFEST_TTL_S,
    ])) as string[]
    this.#changed(Number(reply[0]))
    const dropped = new Set(droppedHere)
    for (let at = 1; at + 1 < reply.length; at += 2) {
      const [peerId, instance] = [reply[at]!, reply[at + 1]!]
      dropped.add(peerId)
      if (instance !== '' && instance !== this.cluster.instance)
        this.cluster.tellDrop(instance, peerId, digest)
    }
    return [...dropped]
  }

  async manifest(digest: string): Promise<Manifest | undefined> {
    const text = await this.#run(GET_MANIFEST, [digest, MANIFEST_TTL_S])
    // Written by an instance from a manifest it verified against the digest.
    return typeof text === 'string' ? (JSON.parse(text) as Manifest) : undefined
  }

  async stats(): Promise<RegistryStats> {
    const [peers, files, swarms, holdings] = ((await this.#run(STATS, [])) as number[]).map(Number) as [
      number,
      number,
      number,
      number,
    ]
    return { peers, files, swarms, holdings, cachedManifests: this.local.stats().cachedManifests }
  }

  localStats(): RegistryStats {
    return this.local.stats()
  }

  /**
   * Publishes every peer of this instance and what it holds again (and nothing else of this instance
   * stays in Redis). Runs when Redis becomes reachable, and when this instance finds it was forgotten.
   * One at a time: a call while one runs waits for it and runs again.
   */
  republish(): Promise<void> {
    const run = async () => {
      this.#stale = false
      let peers = 0
      let superseded = 0
      for (const peerId of [...this.local.peerIds()]) {
        if (!this.local.hasPeer(peerId)) continue // gone meanwhile
        const since = this.#since.get(peerId) ?? 0
        const [claimed, holder] = (await this.#run(REPUBLISH, [peerId, this.cluster.instance, since])) as [
          number,
          string,
        ]
        if (Number(claimed) !== 1) {
          // The client reconnected elsewhere while this instance was cut off: that connection is the peer.
          this.forgetLocally(peerId)
          this.cluster.superseded(peerId)
          superseded++
          continue
        }
        if (holder !== '' && holder !== this.cluster.instance) this.cluster.tellKick(holder, peerId)
        const held = this.local.heldFiles(peerId)
        for (let at = 0; at < held.length; at += REPUBLISH_BATCH) {
          await this.#hold(peerId, held.slice(at, at + REPUBLISH_BATCH))
        }
        peers++
      }
      this.log.info('published this instance’s peers to Redis', { peers })
      if (superseded > 0) {
        this.log.info(
          'closed connections whose peer ids newer connections on other instances hold (made while Redis was unreachable)',
          { superseded },
        )
      }
    }
    const previous = this.#republishing ?? Promise.resolve()
    const next = previous.then(run).catch((error: unknown) => {
      this.#stale = true
      this.log.warn('publishing this instance’s peers to Redis failed; trying again when it is back', {
        error,
      })
    })
    this.#republishing = next.finally(() => {
      if (this.#republishing === next) this.#republishing = undefined
    })
    return next
  }

  /** Publishes a peer's current holding of each digest; rejects and undoes the ones the cluster refuses. */
  async #publish(peerId: string, digests: readonly string[]): Promise<FileRejection[]> {
    if (digests.length === 0) return []
    const held: HeldFile[] = []
    for (const digest of digests) {
      const file = this.local.heldFile(peerId, digest)
      if (file) held.push(file)
    }
    let conflicts: string[] = []
    await this.#write(async () => {
      conflicts = await this.#hold(peerId, held)
    })
    if (conflicts.length > 0) this.local.leave(peerId, conflicts)
    return conflicts.map((digest) => ({
      digest,
      code: 'FILE_CONFLICT' as const,
      message: 'another server of this swarm has this digest with a different size or chunk size',
    }))
  }

  async #hold(peerId: string, held: readonly HeldFile[]): Promise<string[]> {
    const files = held.map(toRedisFile)
    const [revision, conflicts] = (await this.#run(HOLD, [
      peerId,
      this.cluster.instance,
      JSON.stringify(files),
    ])) as [number, string]
    if (Number(revision) < 0) return [] // the peer is no longer this instance's
    this.#changed(Number(revision))
    const parsed: unknown = JSON.parse(conflicts)
    return Array.isArray(parsed) ? (parsed as string[]) : []
  }

  /**
   * A change this instance's memory already holds, made in Redis too. When Redis cannot take it, it is
   * kept for the next republish and the client is not told: its announce is safe here.
   */
  async #write(change: () => Promise<unknown>): Promise<void> {
    if (!this.redis.up) {
      this.#stale = true
      return
    }
    try {
      await change()
    } catch (error) {
      if (!(error instanceof SwarmError) || error.code !== 'CLUSTER_UNAVAILABLE') throw error
      this.#stale = true
    }
  }

  #changed(revision: number): void {
    this.heardRevision(revision)
    this.cluster.changed(revision)
  }

  #run(script: string, args: readonly (string | number)[]): Promise<unknown> {
    return this.redis.run(script, [this.cluster.prefix, ...args])
  }
}

/** Fields of one entry in a script's reply: d, names, t, z, c, k, n, s, col (redis-scripts.ts entryOf). */
const ENTRY_FIELDS = 9

function entryOf(reply: readonly (string | number | null)[], at: number): CatalogEntry {
  const [digest, names, mime, size, chunkSize, chunkCount, holders, seeders, collection] = reply.slice(
    at,
    at + ENTRY_FIELDS,
  )
  const entry: CatalogEntry = {
    digest: String(digest),
    names: JSON.parse(String(names)) as string[],
    size: Number(size),
    chunkSize: Number(chunkSize),
    chunkCount: Number(chunkCount),
    seeders: Number(seeders),
    leechers: Number(holders) - Number(seeders),
  }
  if (mime !== null && mime !== undefined) entry.mime = String(mime)
  // Written by an instance from an announce the protocol schema checked.
  if (collection !== null && collection !== undefined)
    entry.collection = JSON.parse(String(collection)) as CollectionInfo
  return entry
}

function toRedisFile(file: HeldFile): HeldForRedis {
  const lower = file.names.map((name) => name.toLowerCase())
  const out: HeldForRedis = {
    d: file.digest,
    z: String(file.size),
    c: String(file.chunkSize),
    k: String(chunkCountOf(file.size, file.chunkSize)),
    names: file.names.map((name) => JSON.stringify(name)),
    first: wellFormed(file.names[0] ?? ''),
    lnames: lower.map(wellFormed),
    grams: lower.map((name) => [...gramsOf([name])].map(wellFormed)),
    have: file.have,
  }
  if (file.mime !== undefined) out.t = file.mime
  if (file.collection !== undefined) out.col = JSON.stringify(file.collection)
  if (file.sealed) out.x = true
  return out
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * The string with each lone surrogate replaced by U+FFFD, as UTF-8 (what Redis stores) must: Lua's cjson
 * refuses the JSON escape of one. Only search text goes through this; names are kept exact.
 */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD')
}
