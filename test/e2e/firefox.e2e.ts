import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser as PlaywrightBrowser, Page as PlaywrightPage } from 'playwright-core'
import type { ElementHandle, Browser as PuppeteerBrowser, Page as PuppeteerPage } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sanitizeFileName } from '../../web/storage/file-name.js'
import { sha256OfFile } from '../support/file-hash.js'
import { type AppServer, startAppServer } from './support/app-server.js'
import { launchChromium } from './support/browsers.js'
import { launchFirefox, listFolder, waitForSavedFile } from './support/firefox.js'
import { MiB, type SourceFile, writeSourceFile } from './support/source-files.js'

/** Longest a page may take to load the app and be welcomed by the tracker. */
const ONLINE_TIMEOUT_MS = 20_000
/** Longest dropping a file may take until it is seeding (hashed and stored in IndexedDB). */
const SEEDING_TIMEOUT_MS = 30_000
/** Longest a shared file may take to appear in the other browser's catalog. */
const CATALOG_TIMEOUT_MS = 15_000
/** Longest a download may take, from the click to the saved file: Firefox↔Chromium moves ~15 MB/s here. */
const DOWNLOAD_TIMEOUT_MS = 45_000
/** Longest a page may take to show what has already happened (a finished download as complete). */
const SETTLE_TIMEOUT_MS = 5_000
/** Longest Firefox may take to close before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000
/** How often a waiting test reads a page. */
const POLL_MS = 100
/** The file input of the drop zone that takes several files (the other one picks a folder). */
const FILE_INPUT =
  'input[type=file][multiple]:not([webkitdirectory]):not([data-visibility]):not([data-collection])'

/** One entry of my files, as the page shows it. */
interface MyFile {
  digest: string | null
  state: string | null
  progress: string
  error: string
}

/** What a page shows of itself: tracker state, my files, the catalog's digests, any error message. */
interface PageState {
  tracker: string | null
  myFiles: MyFile[]
  catalog: string[]
  problems: string[]
}

/**
 * Runs in the page: walks every open shadow root for the automation hooks. Self-contained (it is sent to
 * the browser as source): no names from this module inside.
 */
const readPageState = (): PageState => {
  const roots: (Document | ShadowRoot)[] = [document]
  // An array's iterator also visits what is pushed while it runs: every nested root is walked in turn.
  for (const root of roots) {
    for (const element of root.querySelectorAll('*')) if (element.shadowRoot) roots.push(element.shadowRoot)
  }
  const all = (selector: string) => roots.flatMap((root) => [...root.querySelectorAll(selector)])
  const tracker = all('[data-tracker-state]')[0]?.getAttribute('data-tracker-state') ?? null
  const myFiles = all('swarmdrop-my-files')
    .flatMap((host) => [...(host.shadowRoot?.querySelectorAll('li[data-state]') ?? [])])
    .map((li) => {
      const progress = li.querySelector('progress')
      return {
        digest: li.getAttribute('data-digest'),
        state: li.getAttribute('data-state'),
        progress: progress ? `${progress.value}/${progress.max}` : '',
        error: li.querySelector('.error')?.textContent?.trim() ?? '',
      }
    })
  const catalog = all('swarmdrop-catalog').flatMap((host) =>
    [...(host.shadowRoot?.querySelectorAll('li[data-digest]') ?? [])].map(
      (li) => li.getAttribute('data-digest') ?? '',
    ),
  )
  const problems = all('[role=alert]')
    .map((element) => element.textContent?.trim() ?? '')
    .filter((text) => text !== '')
  return { tracker, myFiles, catalog, problems }
}

/** The app in one browser, whichever drives it. */
interface AppPage {
  readonly label: string
  /** Console errors and page errors, for failure messages. */
  readonly log: string[]
  state(): Promise<PageState>
}

class ChromiumApp implements AppPage {
  readonly label = 'Chromium'
  readonly log: string[] = []
  constructor(readonly page: PlaywrightPage) {
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        this.log.push(`${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => this.log.push(`pageerror: ${error.message}`))
  }
  state(): Promise<PageState> {
    return this.page.evaluate(readPageState)
  }
}

class FirefoxApp implements AppPage {
  readonly label = 'Firefox'
  readonly log: string[] = []
  constructor(readonly page: PuppeteerPage) {
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warn')
        this.log.push(`${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => this.log.push(`pageerror: ${String(error)}`))
  }
  state(): Promise<PageState> {
    return this.page.evaluate(readPageState)
  }
}

let root: string
let sourceDir: string
let firefoxDownloads: string
let server: AppServer
let chromium: PlaywrightBrowser
let firefox: PuppeteerBrowser
let chromiumApp: ChromiumApp
let firefoxApp: FirefoxApp
let files: Record<'fromFirefox' | 'fromChromium', SourceFile>

/** Both pages as they are now, for failure messages. */
async function describePages(): Promise<string> {
  const parts: string[] = []
  for (const app of [firefoxApp, chromiumApp]) {
    if (!app) continue
    const state = await app.state().catch((error: unknown) => `unreadable: ${String(error)}`)
    parts.push(`\n${app.label}: ${JSON.stringify(state)}; log ${JSON.stringify(app.log.slice(-20))}`)
  }
  parts.push(`\nserver log (last lines): ${server?.log.slice(-10).join('\n') ?? 'no server'}`)
  return parts.join('')
}

/** Polls `app` until `done` holds for its state; fails after `timeoutMs` naming `what` and both pages. */
async function waitForPage(
  app: AppPage,
  done: (state: PageState) => boolean,
  what: string,
  timeoutMs: number,
): Promise<PageState> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const state = await app.state()
    if (done(state)) return state
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new Error(
    `${app.label}: timed out after ${timeoutMs} ms waiting for ${what};${await describePages()}`,
  )
}

const stateOf = (state: PageState, digest: string) => state.myFiles.find((f) => f.digest === digest)?.state

/** `work`, or a failure naming `what` and both pages after `timeoutMs`. */
async function bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void describePages().then((seen) => reject(new Error(`${what} took more than ${timeoutMs} ms;${seen}`)))
    }, timeoutMs)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-firefox-'))
  sourceDir = join(root, 'files')
  firefoxDownloads = join(root, 'firefox-downloads')
  const profileDir = join(root, 'firefox-profile')
  for (const dir of [sourceDir, firefoxDownloads, profileDir]) mkdirSync(dir)
  // Sizes that are not a whole number of chunks, so the last, short chunk crosses too.
  files = {
    fromFirefox: await writeSourceFile(sourceDir, 'seeded by firefox.bin', 24 * MiB + 12_345, 'firefox'),
    fromChromium: await writeSourceFile(sourceDir, 'seeded-by-chromium.bin', 20 * MiB + 54_321, 'chromium'),
  }
  server = await startAppServer()

  chromium = await launchChromium()
  const chromiumContext = await chromium.newContext({
    permissions: ['microphone', 'camera'],
    acceptDownloads: true,
  })
  chromiumApp = new ChromiumApp(await chromiumContext.newPage())
  firefox = await launchFirefox({ profileDir, downloadDir: firefoxDownloads })
  firefoxApp = new FirefoxApp((await firefox.pages())[0] ?? (await firefox.newPage()))

  await Promise.all([chromiumApp.page.goto(server.url), firefoxApp.page.goto(server.url)])
  await Promise.all(
    [chromiumApp, firefoxApp].map((app) =>
      waitForPage(app, (s) => s.tracker === 'online', 'the tracker to welcome the page', ONLINE_TIMEOUT_MS),
    ),
  )
})

afterAll(async () => {
  // Each part is torn down whatever happened to the others; closing a browser closes its pages and profiles.
  await Promise.allSettled([closeFirefox(), chromium?.close()])
  await server?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

/** Closes Firefox, or kills it if it does not answer in time (its profile is removed with the temp dir). */
async function closeFirefox(): Promise<void> {
  if (!firefox) return
  let timer: ReturnType<typeof setTimeout> | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      firefox.process()?.kill('SIGKILL')
      resolve()
    }, CLOSE_TIMEOUT_MS)
  })
  try {
    await Promise.race([firefox.close(), killed])
  } finally {
    clearTimeout(timer)
  }
}

/** Waits until `app` lists `file` in its catalog. */
function waitForCatalog(app: AppPage, file: SourceFile): Promise<PageState> {
  return waitForPage(
    app,
    (s) => s.catalog.includes(file.digest),
    `${file.name} to appear in the catalog`,
    CATALOG_TIMEOUT_MS,
  )
}

/** Waits until `app` seeds `file`: hashed, stored, and announced. */
function waitForSeeding(app: AppPage, file: SourceFile): Promise<PageState> {
  return waitForPage(
    app,
    (s) => stateOf(s, file.digest) === 'seeding',
    `${file.name} to be seeding`,
    SEEDING_TIMEOUT_MS,
  )
}

/** Waits until `app` shows `file` as downloaded whole. */
function waitForComplete(app: AppPage, file: SourceFile): Promise<PageState> {
  return waitForPage(
    app,
    (s) => stateOf(s, file.digest) === 'complete',
    `${file.name} to show complete`,
    SETTLE_TIMEOUT_MS,
  )
}

describe('Firefox ESR and Chromium share files with each other', () => {
  it('Chromium downloads a file that Firefox seeds, byte-identical', async () => {
    const file = files.fromFirefox

    // puppeteer's `pierce/` handler queries every open shadow root; over BiDi, uploadFile is input.setFiles.
    const input = (await firefoxApp.page.$(`pierce/${FILE_INPUT}`)) as ElementHandle<HTMLInputElement> | null
    if (!input) throw new Error(`Firefox: no ${FILE_INPUT} in the page;${await describePages()}`)
    await input.uploadFile(file.path)
    await waitForSeeding(firefoxApp, file)

    await waitForCatalog(chromiumApp, file)
    const download = chromiumApp.page.waitForEvent('download', { timeout: DOWNLOAD_TIMEOUT_MS })
    download.catch(() => {}) // awaited below, bounded; this keeps a failed click from leaving it unhandled
    // Playwright's CSS locators pierce open shadow roots.
    await chromiumApp.page.locator(`li[data-digest="${file.digest}"] button.digest`).click()
    const saved = await bounded(
      download.then(async (d) => ({ name: d.suggestedFilename(), ...(await sha256OfFile(await d.path())) })),
      DOWNLOAD_TIMEOUT_MS,
      `Chromium: downloading and saving ${file.name}`,
    )

    expect(saved).toEqual({ name: sanitizeFileName(file.name), sha256: file.sha256, size: file.size })
    await waitForComplete(chromiumApp, file)
  })

  it('Firefox downloads a file that Chromium seeds, byte-identical', async () => {
    const file = files.fromChromium

    await chromiumApp.page.locator(FILE_INPUT).setInputFiles(file.path)
    await waitForSeeding(chromiumApp, file)

    await waitForCatalog(firefoxApp, file)
    const button = await firefoxApp.page.$(`pierce/li[data-digest="${file.digest}"] button.digest`)
    if (!button) throw new Error(`Firefox: no digest button for ${file.digest};${await describePages()}`)
    await button.click()
    const name = sanitizeFileName(file.name)
    const path = await waitForSavedFile(firefoxDownloads, name, file.size, DOWNLOAD_TIMEOUT_MS, describePages)

    expect(await sha256OfFile(path)).toEqual({ sha256: file.sha256, size: file.size })
    expect(listFolder(firefoxDownloads)).toBe(`${name} (${file.size} B)`) // saved once, nothing left over
    await waitForComplete(firefoxApp, file)
  })
})
