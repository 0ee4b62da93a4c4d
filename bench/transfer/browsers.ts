/**
 * The two browsers: separate Chromium processes, each with its own profile, holding microphone and
 * camera permission, so that on loopback Chromium offers 127.0.0.1 host candidates at all
 * (SPEC §8: without it, and without --allow-loopback-in-peer-connection, it gathers none).
 */
import { type CDPSession, chromium, type Page } from 'playwright-core'
import {
  CHROMIUM_ARGS as BASE_CHROMIUM_ARGS,
  CHROMIUM_PATH,
  LOOPBACK_WEBRTC_ARGS,
} from '../../test/support/chromium.mjs'

export { CHROMIUM_PATH }

/** The shared flags (SPEC §8), loopback ICE candidates, and precise (not bucketed) `performance.memory`. */
const CHROMIUM_ARGS = [...BASE_CHROMIUM_ARGS, ...LOOPBACK_WEBRTC_ARGS, '--enable-precise-memory-info']

/** An argument Chromium ignores, so that process-cpu.ts finds each browser's process tree. */
const MARKER_SWITCH = '--swarmdrop-bench-browser'

export interface BenchBrowser {
  name: string
  /** Unique to this browser's command line. */
  marker: string
  /** Chromium's version, e.g. 156.0.8078.79. */
  version: string
  page: Page
  /** A DevTools session on the page, for heaps and CPU profiles. */
  cdp: CDPSession
  close(): Promise<void>
}

/**
 * Starts one browser process with a profile of its own in `userDataDir`. A persistent profile, not
 * `browser.newContext()`: that context is off the record, and Chromium keeps its IndexedDB in memory, so
 * storage would cost neither disk nor its real IPC, and would be capped by an in-memory quota.
 */
export async function launchBrowser(name: string, url: string, userDataDir: string): Promise<BenchBrowser> {
  const marker = `${MARKER_SWITCH}=${name}-${process.pid}`
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, marker],
    permissions: ['microphone', 'camera'],
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => console.error(`${name} page error:`, error.message))
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        console.error(`${name} console ${message.type()}: ${message.text()}`)
      }
    })
    await page.goto(url)
    await page.waitForFunction(() => window.transferBench !== undefined)
    const cdp = await context.newCDPSession(page)
    const { product } = await cdp.send('Browser.getVersion')
    return { name, marker, version: product.replace(/^[^/]*\//, ''), page, cdp, close: () => context.close() }
  } catch (error) {
    await context.close().catch(() => {})
    throw error
  }
}
