/// <reference types="mocha" />
/**
 * The catalog: entries with `data-digest` and the full digest as text; the digest is the download control
 * (click or Enter); search goes through the controller to the tracker; pages; live updates on
 * `catalog-changed` and on every welcome; copying a digest or a link.
 */
import { sendKeys } from '@web/test-runner-commands'
import { expect } from 'chai'
import { SEARCH_DEBOUNCE_MS } from '../../../web/app/catalog-controller.js'
import '../../../web/components/swarmdrop-catalog.js'
import '../../../web/components/swarmdrop-app.js'
import { digestOf, entryOf, recordOf } from './support/fake-engine.js'
import { eventually, mount, shadowOf, unmountAll } from './support/mount.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function onlineCatalog(count: number) {
  const mounted = await mount('swarmdrop-catalog')
  mounted.engine.catalogEntries = Array.from({ length: count }, (_, i) =>
    entryOf(digestOf(i + 1), `file-${String(i + 1).padStart(3, '0')}.bin`, { seeders: 2, leechers: 1 }),
  )
  mounted.engine.tracker.goOnline()
  await eventually(() => expect(mounted.root.querySelectorAll('li[data-digest]').length).to.be.above(0))
  return mounted
}

describe('<swarmdrop-catalog>', () => {
  afterEach(unmountAll)

  it('lists every entry with data-digest, its full digest as text, size, pieces, sharers and downloaders', async () => {
    const { root } = await onlineCatalog(3)
    const items = [...root.querySelectorAll<HTMLElement>('li[data-digest]')]
    expect(items.map((li) => li.dataset.digest)).to.deep.equal([digestOf(1), digestOf(2), digestOf(3)])
    const first = items[0]!
    expect(first.textContent).to.contain(digestOf(1))
    expect(first.querySelector('button.digest')!.textContent!.trim()).to.equal(digestOf(1))
    expect(first.textContent).to.contain('file-001.bin')
    expect(first.textContent).to.contain('3.0 MiB')
    expect(first.textContent).to.contain('3 pieces')
    expect(first.textContent).to.contain('shared by 2 browsers')
    expect(first.textContent).to.contain('1 downloading')
    // A labelled Download button whose accessible name starts with "Download" (SPEC §2).
    const download = first.querySelector<HTMLButtonElement>('.actions button.primary')!
    expect(download.textContent).to.equal('Download')
    expect(download.getAttribute('aria-label')).to.equal('Download: file-001.bin')
  })

  it('asks for notices on every welcome, and fetches again on catalog-changed', async () => {
    const { engine, root } = await onlineCatalog(2)
    expect(engine.catalogQueries[0]).to.include({ watch: true, offset: 0, limit: 50 })
    engine.catalogEntries.push(entryOf(digestOf(99), 'late.bin'))
    engine.tracker.catalogChanged(2)
    await eventually(() => expect(root.querySelector(`li[data-digest="${digestOf(99)}"]`)).to.exist)
    engine.catalogEntries.shift()
    engine.tracker.catalogChanged(3)
    await eventually(() => expect(root.querySelector(`li[data-digest="${digestOf(1)}"]`)).to.equal(null))
    const asked = engine.catalogQueries.length
    engine.tracker.goOnline('AnotherPeerId_02')
    await eventually(() => expect(engine.catalogQueries.length).to.equal(asked + 1))
    expect(engine.catalogQueries.at(-1)).to.include({ watch: true })
  })

  it('emits a download event when the digest is clicked', async () => {
    const { root, element } = await onlineCatalog(2)
    const asked: string[] = []
    element.addEventListener('swarmdrop-download', (event) => asked.push(event.detail.digest))
    root.querySelector<HTMLButtonElement>(`li[data-digest="${digestOf(2)}"] button.digest`)!.click()
    expect(asked).to.deep.equal([digestOf(2)])
  })

  it('lets the keyboard reach the digest and activate it with Enter', async () => {
    const { root, element } = await onlineCatalog(1)
    const asked: string[] = []
    element.addEventListener('swarmdrop-download', (event) => asked.push(event.detail.digest))
    const search = root.querySelector<HTMLInputElement>('input[type=search]')!
    search.focus()
    const digestButton = root.querySelector<HTMLButtonElement>('button.digest')!
    for (let i = 0; i < 10 && root.activeElement !== digestButton; i++) await sendKeys({ press: 'Tab' })
    expect(root.activeElement).to.equal(digestButton)
    await sendKeys({ press: 'Enter' })
    expect(asked).to.deep.equal([digestOf(1)])
  })

  it('filters through the controller: the query goes to the tracker and the page shows its answer', async () => {
    const { root, engine, element } = await onlineCatalog(5)
    const search = root.querySelector<HTMLInputElement>('input[type=search]')!
    search.value = 'FILE-004'
    search.dispatchEvent(new Event('input'))
    expect(element.controller.query).to.equal('FILE-004')
    await sleep(SEARCH_DEBOUNCE_MS + 50)
    await eventually(() =>
      expect(
        [...root.querySelectorAll<HTMLElement>('li[data-digest]')].map((li) => li.dataset.digest),
      ).to.deep.equal([digestOf(4)]),
    )
    expect(engine.catalogQueries.at(-1)).to.include({ query: 'FILE-004', offset: 0 })
    expect(root.textContent).to.contain('1 item match')

    search.value = 'nothing like it'
    search.dispatchEvent(new Event('input'))
    await eventually(() => expect(root.textContent).to.contain('No file matches this search.'))
  })

  it('answers a search from the ring while the tracker is offline, with the same hooks, and says so', async () => {
    const { root, engine, element } = await onlineCatalog(3)
    engine.nameHits = [
      {
        digest: digestOf(42),
        names: ['holiday in the mountains.mp4'],
        size: 5 * 1024 * 1024,
        chunkCount: 5,
        source: 'ring',
        sources: ['ring'],
      },
    ]
    const search = root.querySelector<HTMLInputElement>('input[type=search]')!
    search.value = 'mountains'
    search.dispatchEvent(new Event('input'))
    await sleep(SEARCH_DEBOUNCE_MS + 50)
    // Online: the tracker answers (nothing of its catalog matches), the ring is not asked by the view.
    await eventually(() => expect(root.textContent).to.contain('No file matches this search.'))
    expect(engine.searches).to.deep.equal([])

    // The tracker goes away with the search typed: the ring answers it at once.
    engine.tracker.setStatus({ state: 'offline', code: 1006, reason: '', retryInMs: 1_000 })
    await eventually(() => expect(root.querySelectorAll('li[data-digest]')).to.have.length(1))
    expect(engine.searches).to.deep.equal(['mountains'])
    const entry = root.querySelector<HTMLElement>('li[data-digest]')!
    expect(entry.dataset.digest).to.equal(digestOf(42))
    expect(entry.dataset.found).to.equal('ring')
    expect(entry.textContent).to.contain(digestOf(42)).and.contain('found through the network')
    expect(root.textContent).to.contain('found through the network: the server is offline')
    const download = [...entry.querySelectorAll('button')].find((b) =>
      b.getAttribute('aria-label')?.startsWith('Download'),
    )!
    const asked = new Promise<string>((resolve) =>
      element.addEventListener('swarmdrop-download', (e) => resolve(e.detail.digest), { once: true }),
    )
    download.click()
    expect(await asked).to.equal(digestOf(42))

    // Another search while offline goes to the ring too.
    search.value = 'nothing like it'
    search.dispatchEvent(new Event('input'))
    await eventually(() => expect(root.textContent).to.contain('No file matches this search.'))
    expect(engine.searches).to.deep.equal(['mountains', 'nothing like it'])
  })

  it('pages through a large catalog', async () => {
    const { root, engine, settle } = await onlineCatalog(120)
    expect(root.querySelectorAll('li[data-digest]')).to.have.length(50)
    expect(root.textContent).to.contain('Page 1 of 3')
    const [previous, next] = [...root.querySelectorAll<HTMLButtonElement>('.pager button')]
    expect(previous!.disabled).to.equal(true)
    next!.click()
    await eventually(() => expect(root.textContent).to.contain('Page 2 of 3'))
    expect(engine.catalogQueries.at(-1)).to.include({ offset: 50, limit: 50 })
    expect(root.querySelector('li[data-digest]')!.getAttribute('data-digest')).to.equal(digestOf(51))
    root.querySelectorAll<HTMLButtonElement>('.pager button')[1]!.click()
    await eventually(() => expect(root.textContent).to.contain('Page 3 of 3'))
    await settle()
    expect(root.querySelectorAll('li[data-digest]')).to.have.length(20)
    expect(root.querySelectorAll<HTMLButtonElement>('.pager button')[1]!.disabled).to.equal(true)
  })

  it('marks files that are here', async () => {
    const { root, engine, settle } = await onlineCatalog(2)
    engine.share(recordOf(digestOf(1), 'file-001.bin', 3))
    await settle()
    expect(root.querySelector(`li[data-digest="${digestOf(1)}"] .here`)!.textContent).to.equal('Here')
    expect(root.querySelector(`li[data-digest="${digestOf(2)}"] .here`)).to.equal(null)
  })

  it('copies a digest, and a link that opens the page on it', async () => {
    // Through the app shell, which turns the copy event into a clipboard write.
    const app = await mount('swarmdrop-app')
    app.engine.catalogEntries = [entryOf(digestOf(7), 'seven.bin')]
    app.engine.tracker.goOnline()
    const catalog = () => shadowOf(app.root, 'swarmdrop-catalog')
    await eventually(() => expect(catalog().querySelector('li[data-digest]')).to.exist)
    const buttons = [...catalog().querySelectorAll<HTMLButtonElement>('li[data-digest] .actions button')]
    buttons.find((b) => b.textContent === 'Copy digest')!.click()
    buttons.find((b) => b.textContent === 'Copy link')!.click()
    await eventually(() =>
      expect(app.copied).to.deep.equal([digestOf(7), `http://swarm.test/#${digestOf(7)}`]),
    )
    await eventually(() => expect(app.root.querySelector('.toasts')!.textContent).to.contain('copied'))
  })
})
