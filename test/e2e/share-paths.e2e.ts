/**
 * The other ways a file gets into or out of a share (issue 14), each in Chromium on the real built site and
 * the real server (as `npm start` runs it), driven through the page; the cases are independent:
 *
 * - a password link: the question asks for the password; a wrong one opens nothing (and says so), the right
 *   one, typed after, saves the file byte for byte;
 * - the share target of the installed app: files POSTed to /share-target (as the system's share sheet does)
 *   are taken by the service worker and shared privately by the page it opens;
 * - a share closed before it was stored: leaving asks first (beforeunload); left anyway, the file comes back
 *   as "not fully stored" with "Add the file again", and adding it again finishes the share.
 *
 * Paste to share is a browser test (test/browser/components/app-shell.browser-test.ts); the
 * streamed "Download all" is checked in sharing.e2e.ts. Run by scripts/test.mjs inside a network namespace
 * that has only `lo` (SPEC §8).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AppPage } from './support/app-page.js'
import { type AppServer, SERVER_START_TIMEOUT_MS, startAppServer } from './support/app-server.js'
import { launchChromium } from './support/browsers.js'
import { MiB, writeSourceFile } from './support/source-files.js'

/** Longest preparing a file may take (hashing, sealing, storing; 128 MiB for the half-stored case). */
const SHARE_TIMEOUT_MS = 45_000
/** Longest one download may take, from the click to the saved file. */
const DOWNLOAD_TIMEOUT_MS = 60_000
/** Longest the page may take to show something it has been told. */
const UI_TIMEOUT_MS = 10_000
const PASSWORD = 'correct horse battery staple'

let server: AppServer
let browser: Browser
let workDir: string
/** Profiles opened by the running case, closed after it. */
let pages: AppPage[] = []

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-share-paths-'))
  mkdirSync(join(workDir, 'downloads'))
  server = await startAppServer()
  browser = await launchChromium()
}, SERVER_START_TIMEOUT_MS + 60_000)

afterEach(async () => {
  for (const page of pages) await page.close()
  pages = []
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

async function open(label: string, url = server.url): Promise<AppPage> {
  const page = await AppPage.open(browser, url, label, join(workDir, 'downloads'))
  pages.push(page)
  return page
}

describe('sharing beyond the drop zone, and back from a tab closed too early', () => {
  it('asks a password link for its password: a wrong one opens nothing, the right one saves the file', async () => {
    const file = await writeSourceFile(workDir, 'passworded notes.txt', 300 * 1024 + 7, 'password link')
    const [a, b] = await Promise.all([open('A'), open('B')])
    await a.sharePrivately([file.path], PASSWORD)
    const entry = a.page.locator('swarmdrop-my-files li[data-share-link][data-state="seeding"]')
    await a.shown(entry, 'the password share sharing, with its link', SHARE_TIMEOUT_MS)
    const link = (await entry.getAttribute('data-share-link'))!
    // The link carries a salt, not the key: without the password it opens nothing.
    expect(link).toMatch(new RegExp(`^${server.url}#[0-9a-f]{64}\\.p\\.[A-Za-z0-9_-]{22}$`))
    const digest = link.split('#')[1]!.split('.')[0]!
    const question = b.page.locator(`swarmdrop-link-confirm dialog[data-link-request="${digest}"]`)

    await b.page.goto(link)
    await b.shown(question, 'the link’s question')
    expect(await question.getAttribute('data-private')).toBe('password')
    await question.locator('input[type="password"]').fill('not the password')
    await question.getByRole('button', { name: 'Download', exact: true }).click()
    await b.shown(b.myFile(digest, 'error'), 'the file saying it does not open', DOWNLOAD_TIMEOUT_MS)
    expect(await b.myFile(digest).textContent()).toContain('Does not open with this key')
    expect(await b.myFile(digest).textContent()).not.toContain(file.name)

    await b.page.goto(link)
    await b.shown(question, 'the link’s question, again')
    const saved = b.nextDownload(DOWNLOAD_TIMEOUT_MS, 'the password-protected file')
    await question.locator('input[type="password"]').fill(PASSWORD)
    await question.getByRole('button', { name: 'Download', exact: true }).click()
    const got = await saved
    expect(got.suggestedFilename).toBe(file.name)
    expect(got.sha256).toBe(file.sha256)
  })

  it('shares privately what the share sheet posts to /share-target, through the service worker', async () => {
    const e = await open('E')
    await e.page.waitForFunction(
      async () =>
        (await navigator.serviceWorker.getRegistration('/share-target'))?.active?.state === 'activated',
      undefined,
      { timeout: UI_TIMEOUT_MS },
    )
    // The share sheet's POST is a navigation into the worker's scope; a page in that scope (the server's
    // 404 for /share-target/) is controlled by the worker, so its POST goes through the same fetch handler.
    // A page loaded while the worker was still being claimed can come up uncontrolled (seen once in
    // several full e2e runs, never alone); the share sheet's own POST is a navigation, which the active
    // worker always takes, so a page that is controlled is only this test's stand-in for it: load again.
    for (let attempt = 0; attempt < 3; attempt++) {
      await e.page.goto(`${server.url}share-target/`)
      if (await e.page.evaluate(() => navigator.serviceWorker.controller !== null)) break
      await e.page.waitForTimeout(500)
    }
    const text = 'sent from the phone’s share sheet\n'.repeat(100)
    const answer = await e.page.evaluate(async (content) => {
      const form = new FormData()
      form.append('files', new File([content], 'from the share sheet.txt', { type: 'text/plain' }))
      form.append('title', 'a title, ignored when files come')
      const response = await fetch('/share-target', { method: 'POST', body: form })
      return {
        controlled: navigator.serviceWorker.controller !== null,
        redirected: response.redirected,
        url: response.url,
      }
    }, text)
    expect(answer).toEqual({ controlled: true, redirected: true, url: `${server.url}?share-target=1` })

    await e.page.goto(answer.url)
    await e.waitOnline()
    const entry = e.page.locator('swarmdrop-my-files li[data-share-link][data-state="seeding"]')
    await e.shown(entry, 'the shared file, shared privately', SHARE_TIMEOUT_MS)
    expect(await entry.locator('.name').textContent()).toContain('from the share sheet.txt')
    expect(new URL(e.page.url()).search).toBe('') // taken once: a reload does not share it again
  })

  it('asks before a tab closes mid-storing; reopened, the file is offered to add again, which finishes it', async () => {
    const file = await writeSourceFile(workDir, 'half stored.bin', 128 * MiB, 'half stored')
    const f = await open('F')
    await f.share([file.path])
    await f.shown(f.myFile(file.digest, 'hashing'), 'the file preparing, its digest known', SHARE_TIMEOUT_MS)
    await f.page.close({ runBeforeUnload: true })
    await f.until(
      async () => f.dialogs.some((dialog) => dialog.startsWith('beforeunload')),
      'the page to ask before it is left',
      UI_TIMEOUT_MS,
    )
    expect(f.page.isClosed()).toBe(false) // the question was answered "stay"
    const stored = await f
      .myFile(file.digest)
      .locator('progress')
      .evaluate((bar: HTMLProgressElement) => bar.value / bar.max)
    expect(stored, 'share of the file stored when the tab closed').toBeLessThan(1)

    const again = await f.reopen(server.url) // the tab closed anyway: no question this time
    pages.push(again)
    const row = again.myFile(file.digest)
    await again.shown(row.filter({ hasText: 'Not fully stored' }), 'the file as not fully stored')
    expect(await row.textContent()).not.toContain('Paused')
    await row.locator('input[type="file"][aria-label^="Add the file again"]').setInputFiles(file.path)
    await again.shown(again.myFile(file.digest, 'seeding'), 'the file sharing again', SHARE_TIMEOUT_MS)
    expect(await again.myFile(file.digest).textContent()).toContain(file.sha256)
  })
})
