/// <reference types="mocha" />
/**
 * axe-core over the whole app in every main state — empty; many files in every state with a collection
 * open and both kinds of catalog entry; a private link opened; the peers and link dialogs — at a desktop
 * and a phone width, in light and dark: no serious or critical violation. Plus the structure axe cannot
 * judge alone: one banner, one main, a skip link that reaches the search, controls whose accessible names
 * contain their visible labels.
 */
import { emulateMedia, setViewport } from '@web/test-runner-commands'
import { expect } from 'chai'
import { SwarmError } from '../../../shared/errors.js'
import '../../../web/components/swarmdrop-app.js'
import type { SwarmdropApp } from '../../../web/components/swarmdrop-app.js'
import { CHUNK, digestOf, entryOf, FakeDownload, recordOf } from './support/fake-engine.js'
import { deepElements, deepQuery, eventually, type Mounted, mount, unmountAll } from './support/mount.js'

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[]
}
declare global {
  interface Window {
    axe?: { run(context: unknown, options: unknown): Promise<AxeResults> }
  }
}

/** axe-core's own bundle, loaded as a classic script (it sets window.axe). */
async function loadAxe(): Promise<NonNullable<Window['axe']>> {
  if (window.axe) return window.axe
  await new Promise<void>((resolve, reject) => {
    const script = document.createElement('script')
    script.src = '/node_modules/axe-core/axe.min.js'
    script.onload = () => resolve()
    script.onerror = () => reject(new Error('axe-core did not load'))
    document.head.append(script)
  })
  return window.axe!
}

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const
const SCHEMES = ['light', 'dark'] as const

/** Serious and critical violations, as readable lines. */
async function seriousViolations(): Promise<string[]> {
  const axe = await loadAxe()
  const results = await axe.run(document, { resultTypes: ['violations'] })
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`,
    )
}

async function expectAccessibleEverywhere(mounted: Mounted<SwarmdropApp>, state: string): Promise<void> {
  const problems: string[] = []
  for (const viewport of VIEWPORTS) {
    await setViewport({ width: viewport.width, height: viewport.height })
    for (const colorScheme of SCHEMES) {
      await emulateMedia({ colorScheme })
      await mounted.settle()
      for (const line of await seriousViolations())
        problems.push(`${state}, ${viewport.name}, ${colorScheme}: ${line}`)
    }
  }
  await emulateMedia({ colorScheme: 'light' })
  expect(problems).to.deep.equal([])
}

/** An app whose my files hold every state, a collection open, and a catalog of a file and a collection. */
async function busyApp(): Promise<Mounted<SwarmdropApp>> {
  const mounted = await mount('swarmdrop-app')
  const { engine, services, ingester } = mounted
  engine.tracker.goOnline()
  engine.catalogEntries = [
    entryOf(digestOf(20), 'holiday.mp4', { seeders: 2, leechers: 1 }),
    entryOf(digestOf(21), 'album', { collection: { files: 12, bytes: 40 * CHUNK } }),
  ]
  services.share([new File([new Uint8Array(3000)], 'preparing.bin')])
  ingester.progress(0, { phase: 'hashing', bytesDone: 1000, bytesTotal: 3000 })
  engine.local.add(recordOf(digestOf(1), 'mine.bin', 4, { origin: 'shared', addedAtMs: 1 }))
  engine.local.add(recordOf(digestOf(2), 'got.bin', 4, { origin: 'downloaded', addedAtMs: 2 }))
  engine.local.add({
    ...recordOf(digestOf(3), 'Private file', 2, { origin: 'downloaded', addedAtMs: 3 }),
    sealed: {},
  })
  const running = new FakeDownload(digestOf(4), 8)
  engine.local.add(recordOf(digestOf(4), 'running.bin', 8, { origin: 'downloaded', addedAtMs: 4 }), [0, 1])
  engine.swarm.downloads.set(digestOf(4), running)
  engine.progress(digestOf(4), {
    ...running.current,
    chunksHere: 2,
    bytesHere: 2 * CHUNK,
    sources: 2,
    bytesPerSecond: CHUNK,
  })
  const failed = new FakeDownload(digestOf(5), 2)
  engine.local.add(recordOf(digestOf(5), 'failed.bin', 2, { origin: 'downloaded', addedAtMs: 5 }), [])
  engine.swarm.downloads.set(digestOf(5), failed)
  engine.progress(digestOf(5), {
    ...failed.current,
    state: 'error',
    error: new SwarmError('QUOTA_EXCEEDED', 'full'),
  })
  const album = recordOf(digestOf(6), 'photos', 1, { origin: 'shared', addedAtMs: 6 })
  engine.local.add({
    ...album,
    mime: 'application/vnd.swarmdrop.collection+json',
    collection: { files: 2, bytes: 8 * CHUNK },
  })
  engine.local.add({ ...recordOf(digestOf(7), 'photos/a.jpg', 4, { addedAtMs: 7 }), listed: false })
  services.collections.set(digestOf(6), {
    swarmdrop: 'collection',
    v: 1,
    name: 'photos',
    files: [
      { path: 'photos/a.jpg', digest: digestOf(7), size: 4 * CHUNK },
      { path: 'photos/b.jpg', digest: digestOf(8), size: 4 * CHUNK },
    ],
  })
  services.toast('Stopped sharing mine.bin. It stays in this browser.', () => {})
  await mounted.settle()
  const myFiles = deepQuery(mounted.root, 'swarmdrop-my-files')!.shadowRoot!
  await eventually(() => expect(myFiles.querySelector(`li[data-collection="${digestOf(6)}"]`)).to.exist)
  ;[...myFiles.querySelectorAll('button')].find((b) => b.textContent === 'Show files')!.click()
  await eventually(() =>
    expect(
      deepElements(mounted.root).some(
        (e) => e.matches('li[data-digest] [data-digest]') || e.closest?.('ul.members'),
      ),
    ).to.equal(true),
  )
  await mounted.settle()
  return mounted
}

describe('accessibility (axe-core)', () => {
  before(() => {
    // As web/index.html has them (this page is the test runner's, not ours).
    document.documentElement.lang = 'en'
    document.title = 'Swarmdrop'
  })

  afterEach(async () => {
    unmountAll()
    await setViewport({ width: 800, height: 600 })
  })

  it('has no serious or critical violation on the empty page', async () => {
    const mounted = await mount('swarmdrop-app')
    mounted.engine.tracker.goOnline()
    await expectAccessibleEverywhere(mounted, 'empty')
  })

  it('has none with files in every state, a collection open, and a catalog', async () => {
    await expectAccessibleEverywhere(await busyApp(), 'busy')
  })

  it('has none with a private link opened, asking for its password', async () => {
    const mounted = await mount('swarmdrop-app')
    mounted.engine.tracker.goOnline()
    mounted.services.openLink(
      { digest: digestOf(9), secret: { kind: 'password', salt: new Uint8Array(16) } },
      'elsewhere',
    )
    await mounted.settle()
    expect(deepQuery(mounted.root, 'dialog[data-link-request][data-private="password"]')).to.exist
    await expectAccessibleEverywhere(mounted, 'opened link')
  })

  it('has none with the peers or the link dialog open', async () => {
    const mounted = await busyApp()
    mounted.element.dispatchEvent(
      new CustomEvent('swarmdrop-show-link', { detail: { digest: digestOf(1), name: 'mine.bin' } }),
    )
    await mounted.settle()
    expect(deepQuery(mounted.root, 'swarmdrop-share-link')!.shadowRoot!.querySelector('dialog[open] svg')).to
      .exist
    await expectAccessibleEverywhere(mounted, 'link dialog')
    deepQuery<HTMLDialogElement>(mounted.root, 'swarmdrop-share-link')!
      .shadowRoot!.querySelector('dialog')!
      .close()
    mounted.element.dispatchEvent(
      new CustomEvent('swarmdrop-show-peers', { detail: { digest: digestOf(1), name: 'mine.bin' } }),
    )
    await mounted.settle()
    await expectAccessibleEverywhere(mounted, 'peers dialog')
  })

  it('has one banner and one main, and a skip link that moves focus to the search', async () => {
    const mounted = await busyApp()
    const all = deepElements(mounted.root)
    expect(all.filter((e) => e.localName === 'main')).to.have.length(1)
    expect(all.filter((e) => e.localName === 'header' && !e.closest('main, section, dialog'))).to.have.length(
      1,
    )
    const skip = mounted.root.querySelector<HTMLAnchorElement>('a.skip')!
    expect(skip.textContent).to.equal('Skip to search')
    skip.click()
    const catalog = deepQuery(mounted.root, 'swarmdrop-catalog')!
    expect(catalog.shadowRoot!.activeElement?.id).to.equal('catalog-search')
  })

  it('names every button with its visible label first (WCAG 2.5.3)', async () => {
    const mounted = await busyApp()
    const mismatched = deepElements(mounted.root)
      .filter((e): e is HTMLButtonElement => e.localName === 'button')
      .filter((button) => {
        const visible = button.textContent!.trim()
        const label = button.getAttribute('aria-label')
        return visible !== '' && label !== null && !label.toLowerCase().includes(visible.toLowerCase())
      })
      .map((button) => `${button.textContent!.trim()} → ${button.getAttribute('aria-label')}`)
    expect(mismatched).to.deep.equal([])
  })
})
