/**
 * One person with the real app open: a Chromium browser context of its own (a separate, empty profile)
 * holding microphone and camera permission (so that Chromium offers loopback ICE candidates, SPEC §8),
 * accepting downloads, and driven only through what the page shows — the automation hooks of SPEC §2
 * (`data-tracker-state`, `li[data-digest]`, `data-state`, the drop zone's file input) and its buttons.
 * Playwright's CSS locators pierce the app's open shadow roots.
 */
import { join } from 'node:path'
import type { Browser, BrowserContext, CDPSession, Locator, Page } from 'playwright-core'
import { CHUNK_COLORS, chunkMapLayout, peerColor } from '../../../web/components/swarmdrop-chunk-map.js'
import { sha256OfFile } from '../../support/file-hash.js'

/** Longest the page may take to load and be welcomed by the tracker. */
const ONLINE_TIMEOUT_MS = 15_000
/** Longest the page may take to show something it has been told, unless a caller says otherwise. */
const UI_TIMEOUT_MS = 10_000
/** How often a waiting test reads the page. */
const POLL_MS = 50
/** Size of the pages, and so of the screenshots. */
export const VIEWPORT = { width: 1280, height: 860 }

/** A file given to a file input as bytes, as Playwright takes it. */
export interface FilePayload {
  name: string
  mimeType: string
  buffer: Buffer
}

/** A download as Chromium saved it, copied to a path of the test's. */
export interface SavedDownload {
  suggestedFilename: string
  /** Where the browser fetched it from: a `blob:` URL for a Blob, the service worker's URL for a stream. */
  url: string
  path: string
  size: number
  sha256: string
}

/** What a file's chunk map shows: the canvas' label, and each chunk's colour decoded. */
export interface ChunkMapReading {
  here: number
  inFlight: number
  count: number
  /** Chunks drawn in the colour of each peer asked about. */
  byPeer: Record<string, number>
  /** Chunks drawn in a colour that is none of the known ones (another peer's). */
  other: number
}

export class AppPage {
  /** Console errors and warnings and page errors, for failure messages. */
  readonly log: string[] = []
  /** Messages of every alert, confirm or prompt the page opened (each dismissed). */
  readonly dialogs: string[] = []
  #closed = false
  #downloads = 0
  #cdp: CDPSession | undefined

  private constructor(
    readonly label: string,
    readonly context: BrowserContext,
    readonly page: Page,
    /** Where this page's downloads are saved to. */
    readonly downloadDir: string,
  ) {}

  /** `prepare` runs on the new context before the page is made (e.g. to add an init script). */
  static async open(
    browser: Browser,
    url: string,
    label: string,
    downloadDir: string,
    prepare?: (context: BrowserContext) => Promise<void>,
  ): Promise<AppPage> {
    const context = await browser.newContext({
      permissions: ['microphone', 'camera'],
      acceptDownloads: true,
      viewport: VIEWPORT,
      deviceScaleFactor: 1,
    })
    await prepare?.(context)
    return AppPage.#attach(label, context, downloadDir, url)
  }

  /**
   * The app opened again in a new page of this profile (same storage), as after closing the tab: this
   * page's own page is closed first if it is not yet, without running its beforeunload. Close the new one
   * (or this one) to close the profile.
   */
  async reopen(url: string): Promise<AppPage> {
    if (!this.page.isClosed()) await this.page.close()
    return AppPage.#attach(this.label, this.context, this.downloadDir, url)
  }

  static async #attach(label: string, context: BrowserContext, downloadDir: string, url: string) {
    const app = new AppPage(label, context, await context.newPage(), downloadDir)
    app.page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        app.#note(`${message.type()}: ${message.text()}`)
    })
    app.page.on('pageerror', (error) => app.#note(`pageerror: ${error.message}`))
    app.page.on('dialog', (dialog) => {
      app.dialogs.push(`${dialog.type()}: ${dialog.message()}`)
      void dialog.dismiss().catch(() => {})
    })
    await app.page.goto(url)
    await app.waitOnline()
    return app
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Waits for `data-tracker-state="online"` and the peer id the tracker gave; returns the id. */
  async waitOnline(): Promise<string> {
    await this.page
      .locator('[data-tracker-state="online"]')
      .waitFor({ timeout: ONLINE_TIMEOUT_MS })
      .catch((error: unknown) => this.fail(`the tracker state to be online (${String(error)})`))
    let peerId = ''
    await this.until(
      async () => {
        peerId = (await this.peerId()) ?? ''
        return peerId !== ''
      },
      'its peer id to be shown',
      ONLINE_TIMEOUT_MS,
    )
    return peerId
  }

  /** The peer id shown in the page's header; undefined until the tracker has given one. */
  async peerId(): Promise<string | undefined> {
    const text = (await this.page.locator('swarmdrop-app .status code').textContent())?.trim() ?? ''
    return text && text !== '–' ? text : undefined
  }

  /** The page's my-files entry of a file; with `state`, only while it has that `data-state`. */
  myFile(digest: string, state?: string): Locator {
    return this.page.locator(
      `swarmdrop-my-files li[data-digest="${digest}"]${state ? `[data-state="${state}"]` : ''}`,
    )
  }

  /** Resolves with the time `locator` is in the page; fails naming `what` (and this page's log) after `timeoutMs`. */
  shown(locator: Locator, what: string, timeoutMs = UI_TIMEOUT_MS): Promise<number> {
    return locator.waitFor({ timeout: timeoutMs }).then(
      () => Date.now(),
      () => this.fail(what, timeoutMs),
    )
  }

  /** The page's catalog entry of a file. */
  catalogEntry(digest: string): Locator {
    return this.page.locator(`swarmdrop-catalog li[data-digest="${digest}"]`)
  }

  /**
   * Chooses files in the drop zone's `input[type=file][multiple]` (not the folder picker): paths on disk,
   * or bytes under any name (even one with a '/', which no file on disk can have).
   */
  async share(files: string[] | FilePayload[]): Promise<void> {
    await this.#input(':not([webkitdirectory]):not([data-visibility]):not([data-collection])').setInputFiles(
      files,
    )
  }

  /**
   * Chooses files in the drop zone's private input (`data-visibility="private"`): shared with a link, behind
   * `password` when given (typed in the drop zone's password field first).
   */
  async sharePrivately(files: string[] | FilePayload[], password?: string): Promise<void> {
    if (password !== undefined) await this.page.locator('swarmdrop-drop-zone input#password').fill(password)
    await this.#input('[data-visibility="private"]').setInputFiles(files)
  }

  /** Chooses several files at once in the drop zone's `data-collection` input: one collection. */
  async shareCollection(files: string[] | FilePayload[]): Promise<void> {
    await this.#input('[data-collection]').setInputFiles(files)
  }

  #input(which: string): Locator {
    return this.page.locator(`swarmdrop-drop-zone input[type="file"][multiple]${which}`)
  }

  /**
   * Starts watching for the page's next download; the promise resolves once Chromium has saved it and it
   * was copied to this page's download dir, with the copy's SHA-256.
   */
  nextDownload(timeoutMs: number, what: string): Promise<SavedDownload> {
    const saved = this.page.waitForEvent('download', { timeout: timeoutMs }).then(
      async (download) => {
        const path = join(this.downloadDir, `${this.label}-${++this.#downloads}`)
        await download.saveAs(path)
        const failure = await download.failure()
        if (failure) throw new Error(`${this.label}: the download of ${what} failed: ${failure}`)
        return {
          suggestedFilename: download.suggestedFilename(),
          url: download.url(),
          path,
          ...(await sha256OfFile(path)),
        }
      },
      (error: unknown) => this.fail(`the download of ${what} (${String(error)})`, timeoutMs),
    )
    saved.catch(() => {}) // awaited by the test; this only keeps an abandoned watch quiet
    return saved
  }

  /**
   * Reads the chunk map of a my-files entry: its label (here, in flight, total), and the colour of each
   * chunk's cell on the canvas, decoded with the chunk map's own layout and peer colours.
   */
  async chunkMap(digest: string, peerIds: readonly string[]): Promise<ChunkMapReading> {
    const canvas = this.myFile(digest).locator('swarmdrop-chunk-map canvas')
    const label = (await canvas.getAttribute('aria-label')) ?? ''
    const match = /^Pieces: (\d+) of (\d+) here, (\d+) in flight/.exec(label)
    if (!match) throw new Error(`${this.label}: unexpected chunk map label "${label}"`)
    const [here, count, inFlight] = [match[1], match[2], match[3]].map(Number) as [number, number, number]
    const layout = chunkMapLayout(count)
    const colors = await canvas.evaluate(
      (element, { layout, count }) => {
        const canvas = element as HTMLCanvasElement
        const scale = canvas.width / layout.width
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
        const hex = (n: number) => n.toString(16).padStart(2, '0')
        const out: string[] = []
        for (let index = 0; index < count; index++) {
          // The middle of the cell: clear of the gap on its right and below.
          const x = Math.floor(
            ((index % layout.columns) * layout.cell + (layout.cell - layout.gap) / 2) * scale,
          )
          const y = Math.floor(
            (Math.floor(index / layout.columns) * layout.cell + (layout.cell - layout.gap) / 2) * scale,
          )
          const at = (y * canvas.width + x) * 4
          out.push(`#${hex(pixels[at]!)}${hex(pixels[at + 1]!)}${hex(pixels[at + 2]!)}`)
        }
        return out
      },
      { layout, count },
    )
    const known = new Set<string>(Object.values(CHUNK_COLORS))
    const byColor = new Map<string, number>()
    for (const color of colors) byColor.set(color, (byColor.get(color) ?? 0) + 1)
    const byPeer: Record<string, number> = {}
    for (const peerId of peerIds) {
      byPeer[peerId] = byColor.get(peerColor(peerId)) ?? 0
      known.add(peerColor(peerId))
    }
    const other = colors.filter((color) => !known.has(color)).length
    return { here, inFlight, count, byPeer, other }
  }

  /**
   * Slows the page's main thread `rate` times (Chrome DevTools Protocol CPU throttling; 1 is full speed):
   * a seeder throttled so serves more slowly, as if its uplink were narrower. The DevTools session stays
   * attached, since the setting lasts only as long as the session that made it.
   */
  async throttleCpu(rate: number): Promise<void> {
    this.#cdp ??= await this.context.newCDPSession(this.page)
    await this.#cdp.send('Emulation.setCPUThrottlingRate', { rate })
  }

  /** Polls `condition` until it holds; fails naming `what` and what the page saw after `timeoutMs`. */
  async until(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let lastError: unknown
    while (Date.now() < deadline) {
      try {
        if (await condition()) return
      } catch (error) {
        lastError = error
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    this.fail(`${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`, timeoutMs)
  }

  /** Throws a failure naming this page, what it waited for, and what it logged. */
  fail(what: string, timeoutMs?: number): never {
    const waited = timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`
    throw new Error(`${this.label}: timed out${waited} waiting for ${what}; ${this.describe()}`)
  }

  /** The page's recent console errors, warnings and page errors. */
  describe(): string {
    return `${this.label} logged ${JSON.stringify(this.log.slice(-20))}`
  }

  /** Closes this context: its page, its peer connections, its tracker socket, its profile. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.context.close()
  }

  #note(line: string): void {
    this.log.push(line)
    if (this.log.length > 200) this.log.shift()
  }
}
