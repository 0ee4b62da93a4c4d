/// <reference types="mocha" />
/**
 * The app shell: the tracker's state on `data-tracker-state`, this browser's peer id, storage used and
 * available, the first-visit line, paste to share, and what it shows when it cannot start.
 */
import { ContextProvider } from '@lit/context'
import { expect } from 'chai'
import { SwarmError } from '../../../shared/errors.js'
import { servicesContext } from '../../../web/app/context.js'
import { ERROR_MESSAGES } from '../../../web/app/error-messages.js'
import { INTRO_DISMISSED_KEY, type SwarmdropApp } from '../../../web/components/swarmdrop-app.js'
import '../../../web/components/swarmdrop-app.js'
import { deepQuery, deepQueryAll, eventually, mount, shadowOf, unmountAll } from './support/mount.js'

describe('<swarmdrop-app>', () => {
  beforeEach(() => localStorage.removeItem(INTRO_DISMISSED_KEY))
  afterEach(unmountAll)

  it('shows connecting, online and offline on one data-tracker-state element', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    const states = () => deepQueryAll(root, '[data-tracker-state]')
    expect(states()).to.have.length(1)
    expect(states()[0]!.dataset.trackerState).to.equal('connecting')
    expect(states()[0]!.textContent).to.contain('Connecting')

    engine.tracker.goOnline('AbCdEfGhIjKlMn_-')
    await settle()
    expect(states()[0]!.dataset.trackerState).to.equal('online')
    expect(root.textContent).to.contain('AbCdEfGhIjKlMn_-')

    engine.tracker.setStatus({ state: 'offline', code: 1006, reason: '', retryInMs: 4_000 })
    await settle()
    expect(states()).to.have.length(1)
    expect(states()[0]!.dataset.trackerState).to.equal('offline')
    const alert = deepQuery(root, 'p.offline')!
    expect(alert.textContent).to.contain(ERROR_MESSAGES.TRACKER_OFFLINE)
    expect(alert.textContent).to.match(/Next attempt in [34] s/)
    expect(root.textContent).not.to.contain('AbCdEfGhIjKlMn_-')
  })

  it('says why when the tracker client stopped for good', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.tracker.setStatus({ state: 'offline', error: new SwarmError('BAD_MESSAGE', 'protocol 2') })
    await settle()
    expect(deepQuery(root, 'p.offline')!.textContent).to.contain(ERROR_MESSAGES.BAD_MESSAGE)
  })

  it('shows connecting before the services exist', async () => {
    const host = document.createElement('div')
    document.body.append(host)
    try {
      new ContextProvider(host, { context: servicesContext, initialValue: undefined })
      const app = document.createElement('swarmdrop-app')
      host.append(app)
      await app.updateComplete
      expect(deepQuery(app.shadowRoot!, '[data-tracker-state]')!.dataset.trackerState).to.equal('connecting')
    } finally {
      host.remove()
    }
  })

  it('shares what is pasted on the page, privately: files, or text as a file; not what goes into a field', async () => {
    const { root, ingester } = await mount('swarmdrop-app')
    const paste = (target: EventTarget, fill: (data: DataTransfer) => void) => {
      const clipboardData = new DataTransfer()
      fill(clipboardData)
      const event = new ClipboardEvent('paste', {
        clipboardData,
        bubbles: true,
        composed: true,
        cancelable: true,
      })
      target.dispatchEvent(event)
      return event
    }
    const file = new File(['a picture'], 'screenshot.png', { type: 'image/png' })
    expect(paste(document.body, (data) => data.items.add(file)).defaultPrevented).to.equal(true)
    await eventually(() => expect(ingester.jobs).to.have.length(1))
    expect((ingester.jobs[0]!.file as File).name).to.equal('screenshot.png')
    expect(ingester.jobs[0]!.share).to.have.nested.property('sealed.key') // private: a link, not the catalog

    paste(document.body, (data) => data.setData('text/plain', 'a note to share'))
    await eventually(() => expect(ingester.jobs).to.have.length(2))
    expect((ingester.jobs[1]!.file as File).name).to.equal('Pasted text.txt')
    expect(await ingester.jobs[1]!.file.text()).to.equal('a note to share')

    const search = deepQuery<HTMLInputElement>(root, '#catalog-search')!
    expect(paste(search, (data) => data.setData('text/plain', 'holiday')).defaultPrevented).to.equal(false)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(ingester.jobs).to.have.length(2)
  })

  it('shows storage used and available', async () => {
    const { root } = await mount('swarmdrop-app')
    await eventually(() => expect(root.textContent).to.contain('5.0 MiB used, 10.0 GiB available'))
    expect(deepQuery(root, 'meter')).to.exist
  })

  it('explains Swarmdrop on a first visit, until dismissed', async () => {
    const first = await mount('swarmdrop-app')
    expect(deepQuery(first.root, '.intro')!.textContent).to.contain(
      'file data never passes through the server',
    )
    const button = deepQuery<HTMLButtonElement>(first.root, '.intro button')!
    button.click()
    await first.settle()
    expect(deepQuery(first.root, '.intro')).to.equal(null)
    const again = await mount('swarmdrop-app')
    expect(deepQuery(again.root, '.intro')).to.equal(null)
  })

  it('shows why it could not start, in words', async () => {
    const app = document.createElement('swarmdrop-app') as SwarmdropApp
    app.startupError = new SwarmError('STORAGE_FAILED', 'no IndexedDB')
    document.body.append(app)
    try {
      await app.updateComplete
      expect(app.shadowRoot!.textContent).to.contain(ERROR_MESSAGES.STORAGE_FAILED)
    } finally {
      app.remove()
    }
  })

  it('shows one clear problem over plain HTTP, and a dropped file only counts it up', async () => {
    const { root, ingester, settle } = await mount('swarmdrop-app', {
      environment: { isSecureContext: false, crypto: {} },
    })
    const items = () => [...shadowOf(root, 'swarmdrop-problems').querySelectorAll('li')]
    expect(items().map((li) => li.dataset.code)).to.deep.equal(['INSECURE_CONTEXT'])
    expect(items()[0]!.textContent).to.contain(ERROR_MESSAGES.INSECURE_CONTEXT)
    const input = deepQuery<HTMLInputElement>(root, 'input[type=file][multiple]')!
    const transfer = new DataTransfer()
    transfer.items.add(new File(['x'], 'x.bin'))
    input.files = transfer.files
    input.dispatchEvent(new Event('change'))
    await settle()
    expect(ingester.jobs).to.deep.equal([])
    expect(items()).to.have.length(1)
    expect(items()[0]!.textContent).to.contain('(2 times)')
  })

  it('says in plain words when the tab can open no more connections', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.problem(new SwarmError('LINK_BUDGET_SPENT', '500 of 500 RTCPeerConnections built in this tab'))
    await settle()
    const [item] = [...shadowOf(root, 'swarmdrop-problems').querySelectorAll<HTMLElement>('li')]
    expect(item!.dataset.code).to.equal('LINK_BUDGET_SPENT')
    expect(item!.textContent).to.contain(ERROR_MESSAGES.LINK_BUDGET_SPENT)
  })

  it('shows problems from the engine and the tracker, and dismisses them', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.problem(new SwarmError('FILE_NOT_FOUND', 'no peer holds this file now'), 'a'.repeat(64))
    engine.tracker.fail('RATE_LIMITED', 'slow down')
    engine.tracker.fail('RATE_LIMITED', 'slow down')
    await settle()
    const items = [...shadowOf(root, 'swarmdrop-problems').querySelectorAll('li')]
    expect(items.map((li) => li.dataset.code)).to.deep.equal(['RATE_LIMITED', 'FILE_NOT_FOUND'])
    expect(items[0]!.textContent).to.contain(ERROR_MESSAGES.RATE_LIMITED).and.contain('(2 times)')
    items[0]!.querySelector('button')!.click()
    await settle()
    expect(shadowOf(root, 'swarmdrop-problems').querySelectorAll('li')).to.have.length(1)
  })
})
