/**
 * Private shares and collections, as people use them, between Chromium profiles on the real built site and
 * the real server (as `npm start` runs it), driven only through the page:
 *
 * - A shares a file with a link (`input[data-visibility="private"]`); B opens the link, answers its question
 *   with Download, and Chromium saves the file byte for byte under its real name. C opens the same digest
 *   without the key: it fetches and holds the ciphertext, saves nothing, and says it needs the link's key. Then A and B leave,
 *   and D, with the link, gets the file from C alone: C shares on what it cannot read. Through it all, the
 *   tracker's catalog and every line the server logged hold no trace of the file's name.
 * - A shares 20 files as one collection; B's catalog shows one entry with its file count, and "Download all"
 *   saves one zip, streamed through the app's service worker, whose 20 entries are byte for byte the files.
 *
 * Run by scripts/test.mjs inside a network namespace that has only `lo` (SPEC §8).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient } from '../support/tracker-client.js'
import { readZip } from '../support/zip-reader.js'
import { AppPage } from './support/app-page.js'
import { type AppServer, SERVER_START_TIMEOUT_MS, startAppServer } from './support/app-server.js'
import { launchChromium } from './support/browsers.js'
import { SCREENSHOTS } from './support/screenshots.js'
import { MiB, type SourceFile, writeSourceFile } from './support/source-files.js'
import { runAsSteps } from './support/steps.js'

/** Longest preparing a few MiB may take (hashing, sealing, storing). */
const SHARE_TIMEOUT_MS = 30_000
/** Longest one download may take, from the click to the saved file. */
const DOWNLOAD_TIMEOUT_MS = 60_000
/** Longest the page may take to show something it has been told. */
const UI_TIMEOUT_MS = 10_000
/** A name that must never reach the server: it is searched for in the catalog and in every log line. */
const SECRET_NAME = 'quarterly-secret-plans.pdf'
const COLLECTION_FILES = 20

let server: AppServer
let browser: Browser
let workDir: string
const serverLines: string[] = []
const pages: AppPage[] = []
let secret: SourceFile

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-sharing-'))
  mkdirSync(join(workDir, 'downloads'))
  secret = await writeSourceFile(workDir, SECRET_NAME, 3 * MiB + 4321, 'private share')
  server = await startAppServer({ env: { LOG_LEVEL: 'debug' }, onLine: (line) => serverLines.push(line) })
  browser = await launchChromium()
}, SERVER_START_TIMEOUT_MS + 60_000)

runAsSteps()

afterAll(async () => {
  await browser?.close()
  await server?.close()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

async function open(label: string): Promise<AppPage> {
  const page = await AppPage.open(browser, server.url, label, join(workDir, 'downloads'))
  pages.push(page)
  return page
}

/** The question a link opened from elsewhere asks (swarmdrop-link-confirm), for a link or a digest. */
function question(page: AppPage, linkOrDigest: string): Locator {
  const digest = linkOrDigest.includes('#') ? linkOrDigest.split('#')[1]!.split('.')[0]! : linkOrDigest
  return page.page.locator(`swarmdrop-link-confirm dialog[data-link-request="${digest}"]`)
}

/** Every catalog entry the tracker lists now, through its own protocol. */
async function wholeCatalog(): Promise<{ names: string[]; digest: string }[]> {
  const client = await TestClient.connect(`${server.url.replace(/^http/, 'ws')}ws`)
  try {
    const reply = await client.request({ type: 'catalog', limit: 200 })
    if (reply.type !== 'catalog') throw new Error(`no catalog: ${JSON.stringify(reply)}`)
    return reply.files
  } finally {
    client.close()
  }
}

describe('private shares between four Chromium profiles', () => {
  let a: AppPage
  let b: AppPage
  let c: AppPage
  let link: string

  it('shares a file with a link: not listed, and the link carries its key', async () => {
    ;[a, b, c] = await Promise.all([open('A'), open('B'), open('C')])
    await a.sharePrivately([secret.path])
    const entry = a.page.locator('swarmdrop-my-files li[data-share-link][data-state="seeding"]')
    await a.shown(entry, 'the private share sharing, with its link', SHARE_TIMEOUT_MS)
    link = (await entry.getAttribute('data-share-link'))!
    expect(link).toMatch(new RegExp(`^${server.url}#[0-9a-f]{64}\\.[A-Za-z0-9_-]{43}$`))
    expect(await entry.locator('.name').textContent()).toContain(SECRET_NAME)
    // The digest covers the ciphertext: not the digest of the file's own bytes.
    const digest = link.slice(link.indexOf('#') + 1, link.indexOf('.', link.indexOf('#')))
    expect(digest).not.toBe(secret.digest)
    expect(await entry.getAttribute('data-digest')).toBe(digest)
    // Its link, to copy or to scan: the README's picture of a private share.
    await entry.getByRole('button', { name: /^Share link/ }).click()
    const dialog = a.page.locator('swarmdrop-share-link dialog[open]')
    await a.shown(dialog.locator('svg[role="img"]'), 'the link dialog with its QR code')
    expect(await dialog.locator('input').inputValue()).toBe(link)
    await a.page.screenshot({ path: join(SCREENSHOTS, 'private-link.png') })
    await dialog.getByRole('button', { name: 'Close' }).click()
    // Not in anyone's catalog.
    await b.page.waitForTimeout(1_500)
    expect(await b.page.locator(`swarmdrop-catalog li[data-digest="${digest}"]`).count()).toBe(0)
  })

  it('downloads and decrypts it byte for byte in B, which opened the link and clicked Download', async () => {
    await b.page.goto(link)
    await b.waitOnline()
    const opened = question(b, link)
    await b.shown(opened, 'the link’s question with its Download button')
    expect(await opened.getAttribute('data-private')).toBe('key')
    const saved = b.nextDownload(DOWNLOAD_TIMEOUT_MS, 'the private file')
    await opened.getByRole('button', { name: 'Download', exact: true }).click()
    const file = await saved.catch(async (error) => {
      throw new Error(
        `${error}\nB shows: ${await b.page.locator('swarmdrop-my-files h2 + *').innerText().catch(String)} / ${await b.page.locator('swarmdrop-problems').innerText().catch(String)}`,
      )
    })
    expect(file.suggestedFilename).toBe(SECRET_NAME)
    expect(file.size).toBe(secret.size)
    expect(file.sha256).toBe(secret.sha256)
    const digest = link.split('#')[1]!.split('.')[0]!
    const row = b.myFile(digest, 'complete')
    await b.shown(row, 'the private file complete in B')
    expect(await row.locator('.name').textContent()).toContain(SECRET_NAME)
    expect(await row.locator('.state').textContent()).toBe('Saved to Downloads')
  })

  it('fetches the ciphertext in C, which has no key: nothing saved, and it says it needs the key', async () => {
    const digest = link.split('#')[1]!.split('.')[0]!
    let downloads = 0
    c.page.on('download', () => downloads++)
    await c.page.goto(`${server.url}#${digest}`)
    await c.waitOnline()
    // A link from elsewhere asks first, public or private: the tracker lists no name for it.
    const asked = question(c, digest)
    await c.shown(asked.filter({ hasText: 'does not list' }), 'the link’s question, with no name')
    expect(await asked.getAttribute('data-private')).toBeNull()
    await asked.getByRole('button', { name: 'Download', exact: true }).click()
    const row = c.myFile(digest, 'complete')
    await c.shown(row, 'the ciphertext held in full in C', DOWNLOAD_TIMEOUT_MS)
    expect(await row.locator('.state').textContent()).toBe('Needs the link’s key')
    expect(await row.textContent()).toContain('needs the link’s key')
    expect(await row.textContent()).not.toContain(SECRET_NAME)
    await c.page.waitForTimeout(1_000)
    expect(downloads, 'downloads C saved').toBe(0)
  })

  it('serves the ciphertext from C alone to D, which opens it with the link', async () => {
    await a.close()
    await b.close()
    const d = await open('D')
    await d.page.goto(link)
    await d.waitOnline()
    const saved = d.nextDownload(DOWNLOAD_TIMEOUT_MS, 'the private file, from C')
    await question(d, link).getByRole('button', { name: 'Download', exact: true }).click()
    const file = await saved
    expect(file.suggestedFilename).toBe(SECRET_NAME)
    expect(file.sha256).toBe(secret.sha256)
  })

  it('left no name of the private share in the tracker’s catalog or logs', async () => {
    const catalog = await wholeCatalog()
    expect(JSON.stringify(catalog)).not.toContain('quarterly')
    const lines = serverLines.join('\n')
    expect(serverLines.length).toBeGreaterThan(5) // debug lines of the connections above
    expect(lines).not.toContain(SECRET_NAME)
    expect(lines).not.toContain('quarterly')
    for (const page of pages) await page.close()
  })
})

describe('a 20-file folder shared as one collection', () => {
  let a: AppPage
  let b: AppPage
  const files: { name: string; path: string; sha256: string }[] = []

  it('lists it once in the catalog, with its file count', async () => {
    const folder = join(workDir, 'album')
    mkdirSync(folder)
    for (let i = 1; i <= COLLECTION_FILES; i++) {
      const name = `track-${String(i).padStart(2, '0')}.bin`
      const bytes = createHash('sha512')
        .update(`collection ${i}`)
        .digest()
        .toString('hex')
        .repeat(40 * i)
      const path = join(folder, name)
      writeFileSync(path, bytes)
      files.push({ name, path, sha256: createHash('sha256').update(bytes).digest('hex') })
    }
    ;[a, b] = await Promise.all([open('A2'), open('B2')])
    await a.shareCollection(files.map((f) => f.path))
    const mine = a.page.locator('swarmdrop-my-files li[data-collection][data-state="seeding"]')
    await a.shown(mine, 'the collection sharing in A', SHARE_TIMEOUT_MS)
    const digest = (await mine.getAttribute('data-collection'))!
    const entry = b.page.locator(`swarmdrop-catalog li[data-collection="${digest}"]`)
    await b.shown(entry, 'the collection in B’s catalog')
    expect(await entry.textContent()).toContain(`Collection of ${COLLECTION_FILES} files`)
    expect(await b.page.locator('swarmdrop-catalog li[data-digest]').count()).toBe(1)
    await b.page.screenshot({ path: join(SCREENSHOTS, 'collection.png') })
  })

  it('saves one zip on Download all, streamed through the service worker, whose 20 entries are the files byte for byte', async () => {
    // The zip streams through the app's service worker (never whole in memory) once it is active; it is
    // registered when the page starts, so by now it is.
    await b.page.waitForFunction(
      async () =>
        (await navigator.serviceWorker.getRegistration('/share-target'))?.active?.state === 'activated',
      undefined,
      { timeout: UI_TIMEOUT_MS },
    )
    const saved = b.nextDownload(DOWNLOAD_TIMEOUT_MS, 'the collection as a zip')
    await b.page
      .locator('swarmdrop-catalog li[data-collection]')
      .getByRole('button', { name: /^Download all/ })
      .click()
    const zip = await saved
    expect(zip.suggestedFilename).toBe(`${COLLECTION_FILES} files.zip`)
    expect(zip.url).toMatch(new RegExp(`^${server.url}share-target/download/[0-9a-f-]{36}/`))
    const entries = readZip(readFileSync(zip.path))
    expect(entries.map((e) => e.name).sort()).toEqual(files.map((f) => f.name).sort())
    for (const entry of entries) {
      const file = files.find((f) => f.name === entry.name)!
      expect(createHash('sha256').update(entry.bytes).digest('hex'), entry.name).toBe(file.sha256)
    }
    for (const page of [a, b]) await page.close()
  })
})
