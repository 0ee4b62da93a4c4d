/// <reference types="mocha" />
/**
 * The ring on the page (issue 13): `data-ring-state` on the app element and its badge, the Network panel
 * (node id, size, records, lookups, neighbours with how each is connected, ways in), and the banner
 * "Server offline — finding peers through the network" when the tracker is down and the ring answers.
 */
import { expect } from 'chai'
import { ERROR_MESSAGES } from '../../../web/app/error-messages.js'
import { MEMBER_AT_ONCE_KEY } from '../../../web/app/page-membership.js'
import { RING_FALLBACK_BANNER } from '../../../web/app/ring-status-controller.js'
import '../../../web/components/swarmdrop-app.js'
import type { RingPeer } from '../../../web/peer/ring/ring-status.js'
import { deepQuery, deepQueryAll, mount, unmountAll } from './support/mount.js'

const peer = (n: number, connection: RingPeer['connection'] = 'direct'): RingPeer => ({
  nodeId: n.toString(16).padStart(2, '0').repeat(32),
  peerId: `Peer${n}`.padEnd(16, '_'),
  connection,
})

describe('the ring on the page', () => {
  afterEach(() => {
    unmountAll()
    localStorage.removeItem(MEMBER_AT_ONCE_KEY)
  })

  it('“Help the network now” asks the engine for a ring position at once, and is kept for the next visit', async () => {
    const first = await mount('swarmdrop-app')
    const box = () =>
      deepQuery<HTMLInputElement>(
        first.root,
        'swarmdrop-network',
      )!.shadowRoot!.querySelector<HTMLInputElement>('input[name="member-at-once"]')!
    expect(box().checked).to.equal(false)
    box().click()
    await first.settle()
    expect(first.engine.membershipInputs).to.deep.equal([{ memberAtOnce: true }])
    expect(localStorage.getItem(MEMBER_AT_ONCE_KEY)).to.equal('1')
    unmountAll()
    const again = await mount('swarmdrop-app')
    const kept = deepQuery(again.root, 'swarmdrop-network')!.shadowRoot!.querySelector<HTMLInputElement>(
      'input[name="member-at-once"]',
    )!
    expect(kept.checked).to.equal(true)
    kept.click()
    await again.settle()
    expect(again.engine.membershipInputs).to.deep.equal([{ memberAtOnce: false }])
  })

  it('puts the ring’s state on the app element and in the status bar, following the engine', async () => {
    const { element, root, engine, settle } = await mount('swarmdrop-app')
    expect(element.dataset.ringState).to.equal('alone')
    for (const state of ['joining', 'client', 'member', 'alone'] as const) {
      engine.setRing({ state })
      await settle()
      expect(element.dataset.ringState).to.equal(state)
      expect(deepQuery(root, '.status .badge[data-ring-state]')!.dataset.ringState).to.equal(state)
      const panel = deepQuery(root, 'swarmdrop-network')!.shadowRoot!
      expect(panel.querySelector('section')!.dataset.ringState).to.equal(state)
    }
  })

  it('shows the node id, size, records, lookups, every neighbour with its connection, and the ways in', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.setRing({
      state: 'member',
      sizeEstimate: 12,
      recordsStored: 34,
      lookupsServed: 56,
      predecessor: peer(1),
      successors: [peer(2), peer(3, 'relayed')],
      fingers: [{ ...peer(4, 'none'), level: 3 }],
    })
    engine.setEntryPoints([
      { label: 'Other tabs of this browser', kind: 'tab', peers: ['Peer9___________'] },
      { label: 'ws://127.0.0.1:9000/', kind: 'listen', peers: [] },
    ])
    await settle()
    const panel = deepQuery(root, 'swarmdrop-network')!.shadowRoot!
    expect(panel.querySelector('h2')!.textContent).to.equal('Network')
    expect(panel.querySelector('.node-id')!.getAttribute('title')).to.equal('ab'.repeat(32))
    expect(panel.querySelector('.size')!.textContent).to.contain('12 peers')
    expect(panel.querySelector('.records')!.textContent).to.equal('34')
    expect(panel.querySelector('.lookups')!.textContent).to.equal('56')
    const rows = [...panel.querySelectorAll<HTMLElement>('tr[data-ring-role]')].map((row) => [
      row.dataset.ringRole,
      row.dataset.peerId,
      row.dataset.connection,
      row.querySelector('td:last-child')!.textContent,
    ])
    expect(rows).to.deep.equal([
      ['predecessor', peer(1).peerId, 'direct', 'Direct'],
      ['successor', peer(2).peerId, 'direct', 'Direct'],
      ['successor', peer(3).peerId, 'relayed', 'Relayed (TURN)'],
      ['finger', peer(4).peerId, 'none', 'Not linked'],
    ])
    const ways = [...panel.querySelectorAll<HTMLElement>('li[data-entry-point]')].map((li) => [
      li.dataset.entryPoint,
      li.textContent!.replace(/\s+/g, ' ').trim(),
    ])
    expect(ways).to.deep.equal([
      ['tab', 'Other tabs of this browser: 1 peer reachable'],
      ['listen', 'ws://127.0.0.1:9000/: 0 peers reachable'],
    ])
  })

  it('says the server is offline and peers are found through the network only while the ring answers', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.tracker.goOnline()
    engine.setRing({ state: 'member' })
    await settle()
    expect(deepQuery(root, '[data-ring-fallback]')).to.equal(null)

    engine.tracker.setStatus({ state: 'offline', code: 1006, reason: '', retryInMs: 4_000 })
    await settle()
    const banner = deepQuery(root, '[data-ring-fallback]')!
    expect(banner.textContent).to.contain(RING_FALLBACK_BANNER)
    expect(banner.getAttribute('role')).to.equal('status')
    expect(deepQuery(root, 'p.offline'), 'no error while the ring stands in').to.equal(null)

    // Alone in the ring: nothing answers, so the page says the server is offline, as before.
    engine.setRing({ state: 'alone' })
    await settle()
    expect(deepQuery(root, '[data-ring-fallback]')).to.equal(null)
    expect(deepQuery(root, 'p.offline')!.textContent).to.contain(ERROR_MESSAGES.TRACKER_OFFLINE)

    engine.setRing({ state: 'client' })
    await settle()
    expect(deepQueryAll(root, '[data-ring-fallback]')).to.have.length(1)
    engine.tracker.goOnline()
    await settle()
    expect(deepQuery(root, '[data-ring-fallback]')).to.equal(null)
  })
})
