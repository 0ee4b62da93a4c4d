/**
 * The catalog as the catalog view shows it: one page of what the tracker knows, for the current search.
 * Asks for notices (`watch`) on every new tracker connection and fetches the page again on each
 * `catalog-changed`, so the list follows peers as they come and go. While the tracker is offline, a search
 * is answered from the ring's name index (issue 13): the same rows, each saying it was found through the
 * network; the ring lists only what matches words, so an empty search keeps the last page the tracker gave.
 */
import { DEFAULT_CATALOG_PAGE_SIZE, MAX_QUERY_LENGTH } from '../../shared/limits.js'
import type { CatalogEntry } from '../../shared/tracker-protocol.js'
import type { NameHit, RoutingSource } from '../peer/content-routing.js'
import type { AppServices } from './services.js'
import { type ControllerHost, ServicesController } from './services-controller.js'

/** Typing pauses this long before the search goes to the tracker. */
export const SEARCH_DEBOUNCE_MS = 200

/** What this browser does with a catalog file, shown beside it. */
export type LocalMark = 'here' | 'downloading' | undefined

/** One file of the catalog view: the tracker's entry, or a hit of the ring's name index. */
export interface CatalogRow extends Omit<CatalogEntry, 'chunkSize' | 'seeders'> {
  /** Browsers sharing it whole; undefined when the ring's hit does not count them. */
  seeders?: number
  /** Where the file was found: the tracker's catalog, or the ring (the server is offline). */
  found: readonly RoutingSource[]
}

function rowOfEntry(entry: CatalogEntry): CatalogRow {
  const { chunkSize: _, ...row } = entry
  return { ...row, found: ['tracker'] }
}

function rowOfHit(hit: NameHit): CatalogRow {
  return {
    digest: hit.digest,
    names: [...hit.names],
    size: hit.size,
    chunkCount: hit.chunkCount,
    ...(hit.mime === undefined ? {} : { mime: hit.mime }),
    ...(hit.holders === undefined ? {} : { seeders: hit.holders }),
    leechers: 0,
    found: hit.sources,
  }
}

export class CatalogController extends ServicesController {
  query = ''
  offset = 0
  entries: readonly CatalogRow[] = []
  total = 0
  loading = false
  /** Whether a page has arrived since the tracker connected. */
  loaded = false
  error: unknown
  readonly pageSize: number
  #sequence = 0
  #refetch: 'no' | 'yes' | 'watch' = 'no'
  #inFlight = false
  #debounce: ReturnType<typeof setTimeout> | undefined

  constructor(host: ControllerHost, options: { pageSize?: number } = {}) {
    super(host)
    this.pageSize = options.pageSize ?? DEFAULT_CATALOG_PAGE_SIZE
  }

  get online(): boolean {
    return this.services?.engine.tracker.status.state === 'online'
  }

  get hasPrevious(): boolean {
    return this.offset > 0
  }

  get hasNext(): boolean {
    return this.offset + this.pageSize < this.total
  }

  localMark(digest: string): LocalMark {
    const file = this.services?.engine.local.get(digest)
    if (!file) return undefined
    return file.have.complete ? 'here' : 'downloading'
  }

  setQuery(query: string): void {
    this.query = query.slice(0, MAX_QUERY_LENGTH)
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => {
      this.offset = 0
      void this.refresh()
    }, SEARCH_DEBOUNCE_MS)
    this.update()
  }

  nextPage(): void {
    if (!this.hasNext) return
    this.offset += this.pageSize
    void this.refresh()
  }

  previousPage(): void {
    if (!this.hasPrevious) return
    this.offset = Math.max(0, this.offset - this.pageSize)
    void this.refresh()
  }

  /** Whether the rows shown came from the ring (the tracker was offline when they were asked). */
  get fromRing(): boolean {
    return this.entries.length > 0 && this.entries.every((row) => !row.found.includes('tracker'))
  }

  /** Fetches the page shown; one request at a time, the latest wins. */
  async refresh(watch = false): Promise<void> {
    const services = this.services
    if (!services) return
    if (services.engine.tracker.status.state !== 'online') return this.#searchRing(services)
    if (this.#inFlight) {
      this.#refetch = watch || this.#refetch === 'watch' ? 'watch' : 'yes'
      return
    }
    this.#inFlight = true
    const sequence = ++this.#sequence
    this.loading = true
    this.update()
    try {
      const query = this.query.trim()
      const page = await services.engine.catalog({
        ...(query ? { query } : {}),
        offset: this.offset,
        limit: this.pageSize,
        ...(watch ? { watch: true } : {}),
      })
      if (sequence !== this.#sequence) return
      this.entries = page.files.map(rowOfEntry)
      this.total = page.total
      this.error = undefined
      this.loaded = true
      if (this.offset > 0 && this.offset >= page.total) {
        // The page emptied under us (files left): show the last one that has entries.
        this.offset = Math.max(0, Math.ceil(page.total / this.pageSize) - 1) * this.pageSize
        this.#refetch = this.#refetch === 'watch' ? 'watch' : 'yes'
      }
    } catch (error) {
      if (sequence === this.#sequence) this.error = error
    } finally {
      this.#inFlight = false
      this.loading = false
      this.update()
      const again = this.#refetch
      this.#refetch = 'no'
      if (again !== 'no' && this.host.isConnected) void this.refresh(again === 'watch')
    }
  }

  /**
   * The search answered by the ring, while the tracker is offline: one page of every hit (the ring's
   * answers are short). An empty search asks nothing: the last page the tracker gave stays.
   */
  async #searchRing(services: AppServices): Promise<void> {
    const query = this.query.trim()
    if (!query) return this.update()
    const sequence = ++this.#sequence
    this.loading = true
    this.update()
    try {
      const hits = await services.engine.search(query)
      if (sequence !== this.#sequence) return
      this.entries = hits.slice(0, this.pageSize).map(rowOfHit)
      this.total = this.entries.length
      this.offset = 0
      this.error = undefined
      this.loaded = true
    } catch (error) {
      if (sequence === this.#sequence) this.error = error
    } finally {
      if (sequence === this.#sequence) this.loading = false
      this.update()
    }
  }

  protected subscribe(services: AppServices): (() => void)[] {
    const { tracker } = services.engine
    if (tracker.status.state === 'online') void this.refresh(true)
    let wasOnline = tracker.status.state === 'online'
    return [
      // Each new connection: ask for notices again (they belong to the connection) and fetch the page.
      tracker.on('welcome', () => void this.refresh(true)),
      tracker.on('catalog-changed', () => void this.refresh()),
      tracker.on('status', (status) => {
        const online = status.state === 'online'
        // The tracker just went away with a search typed: the ring answers it now.
        if (wasOnline && !online && this.query.trim()) void this.refresh()
        wasOnline = online
        this.update()
      }),
      services.engine.on('file', () => this.update()),
    ]
  }

  protected override detached(): void {
    clearTimeout(this.#debounce)
    const services = this.services
    if (services?.engine.tracker.status.state === 'online') {
      services.engine.catalog({ limit: 1, watch: false }).catch(() => {})
    }
  }
}
