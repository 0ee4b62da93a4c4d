/// <reference types="mocha" />
/**
 * Links from elsewhere ask first (issue 17): a `/#<digest>` link the page was opened with, or a fragment
 * changed from outside, shows the file's name and size with Download and Cancel, and nothing is fetched
 * until Download; a digest the user activates on the page, or an in-page link the user clicks, starts at
 * once.
 */
import { sendKeys } from '@web/test-runner-commands'
import { expect } from 'chai'
import { followLinks, type LinkSource } from '../../../web/app/hash-link.js'
import { CHUNK, digestOf, entryOf } from './support/fake-engine.js'
import '../../../web/components/swarmdrop-app.js'
import { deepQuery, eventually, mount, unmountAll } from './support/mount.js'

async function appWithCatalog() {
  const mounted = await mount('swarmdrop-app')
  mounted.engine.catalogEntries = [entryOf(digestOf(5), 'holiday photos.zip', { size: 3 * CHUNK })]
  mounted.engine.tracker.goOnline()
  await mounted.settle()
  return mounted
}

const dialogOf = (root: ShadowRoot) => deepQuery<HTMLDialogElement>(root, 'dialog[data-link-request]')
const buttonOf = (root: ShadowRoot, name: string) =>
  [...(dialogOf(root)?.querySelectorAll('button') ?? [])].find((b) => b.textContent?.trim() === name)

describe('a link from another page', () => {
  afterEach(unmountAll)

  it('shows the name and size with Download and Cancel, and fetches nothing until Download', async () => {
    const { root, services, engine, settle } = await appWithCatalog()
    void services.askToDownload(digestOf(5))
    await eventually(() => expect(dialogOf(root)?.textContent).to.contain('holiday photos.zip'))
    const dialog = dialogOf(root)!
    expect(dialog.open).to.equal(true)
    expect(dialog.textContent).to.contain('3.0 MiB')
    expect(dialog.textContent).to.contain(digestOf(5))
    expect(engine.fetched).to.deep.equal([])

    buttonOf(root, 'Download')!.click()
    await settle()
    await eventually(() => expect(engine.fetched).to.deep.equal([digestOf(5)]))
    expect(dialogOf(root)).to.equal(null)
  })

  it('fetches nothing when the user cancels, by the button or with Escape', async () => {
    const { root, services, engine, settle } = await appWithCatalog()
    void services.askToDownload(digestOf(5))
    await eventually(() => expect(buttonOf(root, 'Cancel')).to.not.equal(undefined))
    buttonOf(root, 'Cancel')!.click()
    await settle()
    expect(dialogOf(root)).to.equal(null)

    void services.askToDownload(digestOf(5))
    await eventually(() => expect(dialogOf(root)?.open).to.equal(true))
    await sendKeys({ press: 'Escape' })
    await settle()
    await eventually(() => expect(dialogOf(root)).to.equal(null))
    expect(engine.fetched).to.deep.equal([])
    expect(services.requests).to.deep.equal([])
  })

  it('says so when the tracker does not list the file, and still lets the user try', async () => {
    const { root, services, engine } = await appWithCatalog()
    void services.askToDownload(digestOf(77))
    await eventually(() => expect(dialogOf(root)?.textContent).to.contain('does not list'))
    buttonOf(root, 'Download')!.click()
    // Nobody holds it: the download waits for a holder (issue 14), and starts when one appears.
    await eventually(() =>
      expect(services.requests).to.deep.include({ digest: digestOf(77), state: 'waiting' }),
    )
    expect(engine.fetched).to.deep.equal([])
    engine.tracker.peersReply = { type: 'peers', digest: digestOf(77), chunkCount: 3, peers: [] }
    engine.tracker.catalogChanged(1)
    await eventually(() => expect(engine.fetched).to.deep.equal([digestOf(77)]))
  })

  it('asks the same question for a private link: encrypted, a password field, and what went wrong', async () => {
    const { root, services, engine } = await appWithCatalog()
    services.openLink(
      { digest: digestOf(6), secret: { kind: 'password', salt: new Uint8Array(16) } },
      'elsewhere',
    )
    await eventually(() => expect(dialogOf(root)?.open).to.equal(true))
    const dialog = dialogOf(root)!
    expect(dialog.dataset.private).to.equal('password')
    expect(dialog.textContent).to.contain('private file').and.contain('encrypted')
    buttonOf(root, 'Download')!.click() // no password typed
    await eventually(() =>
      expect(dialogOf(root)?.querySelector('[role=alert]')?.textContent).to.contain('password'),
    )
    expect(engine.fetched).to.deep.equal([])
    const field = dialogOf(root)!.querySelector<HTMLInputElement>('input[type=password]')!
    field.focus()
    await sendKeys({ type: 'correct horse' })
    await sendKeys({ press: 'Enter' })
    await eventually(() => expect(engine.fetched).to.deep.equal([digestOf(6)]))
    await eventually(() => expect(dialogOf(root)).to.equal(null))
  })

  it('does not ask for a digest the user activates on the page', async () => {
    const { root, element, engine, settle } = await appWithCatalog()
    element.dispatchEvent(
      new CustomEvent('swarmdrop-download', {
        detail: { digest: digestOf(5) },
        bubbles: true,
        composed: true,
      }),
    )
    await settle()
    await eventually(() => expect(engine.fetched).to.deep.equal([digestOf(5)]))
    expect(dialogOf(root)).to.equal(null)
  })
})

describe('where a link came from', () => {
  it('is elsewhere for the address the page opened with and for a fragment changed from outside, the page for a click on its own link', async () => {
    const before = location.hash
    const seen: [string, LinkSource][] = []
    history.replaceState(null, '', `#${digestOf(8)}`)
    const stop = followLinks(window, (link, from) => seen.push([link.digest, from]))
    const anchor = document.createElement('a')
    anchor.href = `#${digestOf(10)}`
    anchor.textContent = 'in-page link'
    const elsewhere = document.createElement('a')
    elsewhere.href = `#${digestOf(11)}`
    elsewhere.target = '_blank' // opens another window: not this page's own navigation
    document.body.append(anchor, elsewhere)
    try {
      expect(seen).to.deep.equal([[digestOf(8), 'elsewhere']])
      location.hash = digestOf(9) // as another window that opened this one, or the address bar, would
      await eventually(() => expect(seen).to.have.length(2))
      expect(seen[1]).to.deep.equal([digestOf(9), 'elsewhere'])
      anchor.click()
      await eventually(() => expect(seen).to.have.length(3))
      expect(seen[2]).to.deep.equal([digestOf(10), 'page'])
      location.hash = digestOf(10) // the same fragment again, but not from a click
      await eventually(() => expect(seen).to.have.length(4))
      expect(seen[3]).to.deep.equal([digestOf(10), 'elsewhere'])
    } finally {
      stop()
      anchor.remove()
      elsewhere.remove()
      history.replaceState(null, '', before || location.pathname + location.search)
    }
  })
})
