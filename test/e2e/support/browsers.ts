/**
 * Chromium peers for the end-to-end tests: Debian's Chromium driven by playwright-core, one browser
 * process, one browser context (a separate, empty profile) per peer, each loading the harness page from
 * the real server and driven through `window.harness`.
 */
import { type Browser, type BrowserContext, chromium, type Download, type Page } from 'playwright-core'
import {
  CHROMIUM_ARGS as BASE_CHROMIUM_ARGS,
  CHROMIUM_PATH,
  LOOPBACK_WEBRTC_ARGS,
} from '../../support/chromium.mjs'
import { sha256OfFile } from '../../support/file-hash.js'
import type {
  HarnessLinks,
  HarnessProgress,
  HarnessReceived,
  HarnessUploads,
  HarnessWindow,
  SharedFile,
} from '../harness/api.js'

/** The shared flags, plus loopback ICE candidates: contexts get microphone and camera permission below. */
export const CHROMIUM_ARGS = [...BASE_CHROMIUM_ARGS, ...LOOPBACK_WEBRTC_ARGS]

/** Longest a harness page may take to load and be welcomed by the tracker. */
const ONLINE_TIMEOUT_MS = 15_000
/** Longest ingesting a file (up to 128 MiB: hashed, then stored in IndexedDB) may take. */
const SHARE_TIMEOUT_MS = 30_000
/** Longest a download may take to start: the catalog, the manifest, the tracker's peers, the links. */
const FETCH_TIMEOUT_MS = 20_000
/** How often a waiting test reads a page's progress. */
const POLL_MS = 50

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
}

/** A finished download as Chromium saved it. */
export interface SavedFile {
  suggestedFilename: string
  sha256: string
  size: number
}

/** One peer: a browser context of its own with the harness page loaded and welcomed by the tracker. */
export class BrowserPeer {
  /** Console errors and page errors, for failure messages. */
  readonly log: string[] = []
  #closed = false

  private constructor(
    readonly label: string,
    readonly context: BrowserContext,
    readonly page: Page,
    public peerId: string,
  ) {}

  static async open(browser: Browser, url: string, label: string): Promise<BrowserPeer> {
    const context = await browser.newContext({ permissions: ['microphone', 'camera'], acceptDownloads: true })
    const page = await context.newPage()
    const peer = new BrowserPeer(label, context, page, '')
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        peer.log.push(`${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => peer.log.push(`pageerror: ${error.message}`))
    await page.goto(url)
    peer.peerId = await peer.#waitOnline()
    return peer
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Shares files from disk as a user choosing them in the page's file input; resolves once stored. */
  async share(paths: string[]): Promise<SharedFile[]> {
    await this.page.setInputFiles('#files', paths)
    return this.#bounded(
      this.page.evaluate(() => (window as HarnessWindow).harness!.share()),
      SHARE_TIMEOUT_MS,
      'ingesting and sharing',
    )
  }

  /** Starts downloading a file by digest, as a click on its digest in the catalog does. */
  async fetch(digest: string): Promise<void> {
    await this.#bounded(
      this.page.evaluate((d) => (window as HarnessWindow).harness!.fetch(d), digest),
      FETCH_TIMEOUT_MS,
      `starting the download of ${digest}`,
    )
  }

  progress(digest: string): Promise<HarnessProgress | null> {
    return this.page.evaluate((d) => (window as HarnessWindow).harness!.progress(d), digest)
  }

  uploads(): Promise<HarnessUploads> {
    return this.page.evaluate(() => (window as HarnessWindow).harness!.uploads())
  }

  received(): Promise<HarnessReceived> {
    return this.page.evaluate(() => (window as HarnessWindow).harness!.received())
  }

  /** The longest the page's main thread was busy since the last call (a timer's lateness), in ms. */
  longestLag(): Promise<number> {
    return this.page.evaluate(() => (window as HarnessWindow).harness!.longestLag())
  }

  links(): Promise<HarnessLinks> {
    return this.page.evaluate(() => (window as HarnessWindow).harness!.links())
  }

  /** The page's JS heap after a full garbage collection, in bytes (Chrome DevTools Protocol). */
  async heapAfterGc(): Promise<number> {
    const cdp = await this.context.newCDPSession(this.page)
    try {
      await cdp.send('HeapProfiler.collectGarbage')
      const { usedSize } = await cdp.send('Runtime.getHeapUsage')
      return usedSize
    } finally {
      await cdp.detach()
    }
  }

  /**
   * Starts watching for the page's next download (across reloads: the Page stays); the returned promise
   * resolves once Chromium has saved it, with the saved bytes' SHA-256.
   */
  watchDownload(timeoutMs: number): Promise<SavedFile> {
    const download = this.page.waitForEvent('download', { timeout: timeoutMs })
    const saved = download.then((d) => hashDownload(d))
    saved.catch(() => {}) // awaited by the test; this only keeps an abandoned watch quiet
    return saved
  }

  /** Reloads the page and waits until the new document is welcomed by the tracker (a new peer id). */
  async reload(): Promise<void> {
    await this.page.reload()
    this.peerId = await this.#waitOnline()
  }

  /** Polls the page's progress of `digest` until `done` holds; fails with the last progress seen. */
  async waitFor(
    digest: string,
    done: (progress: HarnessProgress) => boolean,
    what: string,
    timeoutMs: number,
    describeOthers: () => Promise<string> = async () => '',
  ): Promise<HarnessProgress> {
    const deadline = Date.now() + timeoutMs
    let last: HarnessProgress | null = null
    while (Date.now() < deadline) {
      last = await this.progress(digest)
      if (last && done(last)) return last
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    throw new Error(
      `${this.label} (${this.peerId}): timed out after ${timeoutMs} ms waiting for ${what}; ` +
        `progress ${JSON.stringify(last)}; ${await this.describe()}${await describeOthers()}`,
    )
  }

  /** What the page has seen go wrong, for failure messages. */
  async describe(): Promise<string> {
    const pageErrors = this.#closed
      ? []
      : await this.page
          .evaluate(() => (window as HarnessWindow).harness?.errors() ?? ['no harness'])
          .catch((e) => [String(e)])
    return `${this.label} errors ${JSON.stringify([...pageErrors, ...this.log.slice(-20)])}`
  }

  /** Closes this peer's context: its page, its connections and its profile. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.context.close()
  }

  /** `work`, or a failure naming what took too long and what the page saw, after `timeoutMs`. */
  async #bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void this.describe().then((seen) =>
          reject(new Error(`${this.label}: ${what} took more than ${timeoutMs} ms; ${seen}`)),
        )
      }, timeoutMs)
    })
    try {
      return await Promise.race([work, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async #waitOnline(): Promise<string> {
    const handle = await this.page.waitForFunction(
      () => (window as HarnessWindow).harness?.peerId() ?? false,
      null,
      {
        timeout: ONLINE_TIMEOUT_MS,
        polling: POLL_MS,
      },
    )
    return (await handle.jsonValue()) as string
  }
}

async function hashDownload(download: Download): Promise<SavedFile> {
  const { sha256, size } = await sha256OfFile(await download.path())
  return { suggestedFilename: download.suggestedFilename(), sha256, size }
}
