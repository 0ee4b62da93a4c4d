// Server-side commands for the browser tests (called from the page with `executeServerCommand`). They run
// in Node, beside the test runner, and reach the page's browser through Playwright.
import { createHash } from 'node:crypto'
import { tsImport } from 'tsx/esm/api'

/** The page of a test session: only the Playwright launcher gives one. */
function playwrightPage(session) {
  if (session.browser.type !== 'playwright') {
    throw new Error(`browser tests need the Playwright launcher, not ${session.browser.type}`)
  }
  return session.browser.getPage(session.id)
}

/** Longest a harness page may take to load its module and answer. */
const HARNESS_TIMEOUT_MS = 15_000

/** The DevTools session holding each page's quota override. */
const quotaSessions = new WeakMap()

/** The download each page is waiting for (watch-download, downloaded). */
const watchedDownloads = new WeakMap()

/** @type {Record<string, (payload: any, session: any) => Promise<unknown>>} */
const commands = {
  /**
   * What Node computes for the test bytes of each size, with the same shared code the server and the
   * protocol tests use: the manifest, its digest, and the plain SHA-256 of the whole file.
   */
  async 'node-expectations'({ sizes }) {
    const { manifestDigest, manifestOf } = await tsImport('../../shared/manifest.ts', import.meta.url)
    const { testBytes } = await tsImport('./support/bytes.ts', import.meta.url)
    const expectations = []
    for (const size of sizes) {
      const bytes = testBytes(size)
      const manifest = await manifestOf(bytes)
      expectations.push({
        size,
        manifest,
        digest: await manifestDigest(manifest),
        plainSha256: createHash('sha256').update(bytes).digest('hex'),
      })
    }
    return expectations
  },

  /**
   * Sets this origin's storage quota through the DevTools protocol; without `quotaSize`, removes the
   * override. The override lasts only as long as the DevTools session that set it, so that session is
   * kept open until the override is removed (or the page closes).
   */
  async 'override-quota'({ origin, quotaSize }, session) {
    const page = playwrightPage(session)
    if (quotaSize === undefined) {
      const cdp = quotaSessions.get(page)
      quotaSessions.delete(page)
      if (cdp) {
        await cdp.send('Storage.overrideQuotaForOrigin', { origin })
        await cdp.detach()
      }
      return true
    }
    let cdp = quotaSessions.get(page)
    if (!cdp) {
      cdp = await page.context().newCDPSession(page)
      quotaSessions.set(page, cdp)
    }
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize })
    return true
  },

  /**
   * Opens a new page in the test page's browser context (same profile, so the same IndexedDB), loads
   * `path` there, and runs `steps` in it: `{ call, args }` calls `window.harness[call](...args)` and
   * collects its result, `'reload'` reloads the page. The page is closed at the end, whatever happened.
   */
  async 'in-new-page'({ path, steps }, session) {
    const testPage = playwrightPage(session)
    const page = await testPage.context().newPage()
    const results = []
    try {
      const url = new URL(path, testPage.url()).href
      const ready = () =>
        page.waitForFunction(() => 'harness' in window, null, { timeout: HARNESS_TIMEOUT_MS })
      await page.goto(url)
      await ready()
      for (const step of steps) {
        if (step === 'reload') {
          await page.reload()
          await ready()
          continue
        }
        results.push(
          await page.evaluate(({ call, args }) => window.harness[call](...args), {
            call: step.call,
            args: step.args ?? [],
          }),
        )
      }
    } finally {
      await page.close()
    }
    return results
  },

  /**
   * Starts watching for the test page's next download. Its own command, answered once the watch is in
   * place, so that the click that starts the download cannot come first.
   */
  async 'watch-download'(_payload, session) {
    const page = playwrightPage(session)
    const download = page.waitForEvent('download', { timeout: HARNESS_TIMEOUT_MS })
    download.catch(() => {}) // awaited by 'downloaded'; this only keeps an unclaimed one quiet
    watchedDownloads.set(page, download)
    return true
  },

  /** The download watched for: the name Chromium gives it and its size in bytes. */
  async downloaded(_payload, session) {
    const page = playwrightPage(session)
    const watched = watchedDownloads.get(page)
    if (!watched) throw new Error('no download is watched for: call watch-download first')
    watchedDownloads.delete(page)
    const download = await watched
    const stream = await download.createReadStream()
    let size = 0
    for await (const chunk of stream) size += chunk.length
    return { suggestedFilename: download.suggestedFilename(), size }
  },
}

/** The test runner plugin that answers the commands above. */
export const serverCommandsPlugin = {
  name: 'swarmdrop-server-commands',
  async executeCommand({ command, payload, session }) {
    if (!Object.hasOwn(commands, command)) return undefined // not ours: another plugin may know it
    return commands[command](payload ?? {}, session)
  },
}
