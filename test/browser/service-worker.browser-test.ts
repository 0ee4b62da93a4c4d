/// <reference types="mocha" />
/**
 * The app's service worker (web/service-worker/sw.js, as scripts/service-worker.mjs builds it) keeping an
 * app shell in real Chromium: the shell loads while its server is down, a new build replaces the kept one
 * on the next online load, and the server's live paths are never kept nor answered from a cache. The shell
 * and the outage come from test/browser/shell-fixture.mjs; each test file has a browser profile of its own.
 */
import { executeServerCommand } from '@web/test-runner-commands'
import { expect } from 'chai'

const WORKER = '/shell-sw.js'
const INDEX = '/shell-fixture/'

function fixture(state: { build?: string; down?: boolean }): Promise<unknown> {
  return executeServerCommand('shell-fixture', state)
}

/** Loads the shell in a frame (a navigation, as a tab's); what it shows, or null when it did not load. */
async function loadShell(): Promise<{ build: string | undefined; app: string | undefined } | null> {
  const frame = document.createElement('iframe')
  frame.src = INDEX
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }))
  document.body.append(frame)
  try {
    await loaded
    const doc = frame.contentDocument
    if (!doc?.getElementById('build')) return null // the browser's error page
    // The frame's script runs after its markup: wait for it (it comes from the same place as the page).
    for (let i = 0; i < 100 && doc.body.dataset.app === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return { build: doc.getElementById('build')?.textContent ?? undefined, app: doc.body.dataset.app }
  } finally {
    frame.remove()
  }
}

/** Registers the worker and waits until it controls this page (after `clients.claim()`). */
async function registerWorker(): Promise<ServiceWorkerRegistration> {
  const registration = await navigator.serviceWorker.register(WORKER, { scope: '/' })
  await navigator.serviceWorker.ready
  for (let i = 0; i < 200 && !navigator.serviceWorker.controller; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  expect(navigator.serviceWorker.controller, 'the worker controls the page').not.to.equal(null)
  return registration
}

/** Waits until `registration`'s active worker is a different one from `before`, activated. */
async function nextActive(registration: ServiceWorkerRegistration, before: ServiceWorker | null) {
  for (let i = 0; i < 250; i++) {
    const active = registration.active
    if (active && active !== before && active.state === 'activated') return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the new build’s worker did not activate')
}

async function fetchFails(path: string): Promise<boolean> {
  try {
    await fetch(path, { cache: 'no-store' })
    return false
  } catch {
    return true
  }
}

describe('the service worker’s app shell', () => {
  after(async () => {
    await fixture({ build: 'one', down: false })
    for (const registration of await navigator.serviceWorker.getRegistrations())
      await registration.unregister()
  })

  it('loads the shell while the server is down, takes a new build on the next online load, and never keeps /healthz or /stats', async () => {
    await fixture({ build: 'one', down: false })
    // Without the worker, a server that is down means no page: the control for what follows.
    await fixture({ down: true })
    expect(await loadShell(), 'no worker, server down').to.equal(null)
    await fixture({ down: false })

    const registration = await registerWorker()
    expect(await loadShell()).to.deep.equal({ build: 'build one', app: 'one' })
    expect(await (await fetch('/stats')).json()).to.deep.equal({ path: '/stats', build: 'one' })
    expect((await fetch('/healthz')).ok).to.equal(true)

    await fixture({ down: true })
    expect(await loadShell(), 'the kept shell, server down').to.deep.equal({ build: 'build one', app: 'one' })
    expect(await fetchFails('/stats'), '/stats is never answered from a cache').to.equal(true)
    expect(await fetchFails('/healthz'), '/healthz is never answered from a cache').to.equal(true)

    // A new build: the next online load gets it from the server, and the browser's update check (what
    // `update()` does) installs its worker, which keeps the new shell and drops the old one.
    await fixture({ build: 'two', down: false })
    expect(await loadShell(), 'online: the server’s page').to.deep.equal({ build: 'build two', app: 'two' })
    const before = registration.active
    await registration.update()
    await nextActive(registration, before)
    expect(await caches.keys()).to.deep.equal(['swarmdrop-shell-two'])

    await fixture({ down: true })
    expect(await loadShell(), 'the new build’s shell, server down').to.deep.equal({
      build: 'build two',
      app: 'two',
    })
    const kept = (await (await caches.open('swarmdrop-shell-two')).keys()).map((r) => new URL(r.url).pathname)
    expect(kept.sort()).to.deep.equal(['/assets/shell-fixture-app-two.js', '/shell-fixture/'])
  })
})
