/// <reference types="mocha" />
/**
 * The peers of a file, on request: the peers the tracker names, the chunks each holds, how this browser
 * is connected to each, and the current rates.
 */
import { expect } from 'chai'
import { Bitfield } from '../../../shared/bitfield.js'
import { SwarmError } from '../../../shared/errors.js'
import '../../../web/components/swarmdrop-app.js'
import '../../../web/components/swarmdrop-peers.js'
import type { SwarmdropPeers } from '../../../web/components/swarmdrop-peers.js'
import { CHUNK, digestOf, FakeDownload, FakeSession, recordOf } from './support/fake-engine.js'
import { eventually, mount, shadowOf, unmountAll } from './support/mount.js'

describe('<swarmdrop-peers>', () => {
  afterEach(unmountAll)

  it('lists each peer with its chunks, its connection type and rates', async () => {
    const { element, engine, root, settle } = await mount('swarmdrop-peers')
    const digest = digestOf(1)
    const some = new Bitfield(8)
    for (const index of [0, 1, 2]) some.set(index)
    engine.tracker.peersReply = {
      type: 'peers',
      digest,
      chunkCount: 8,
      peers: [
        { peerId: 'DirectPeer_00001', have: 'all' },
        { peerId: 'PunchedPeer_0002', have: some.toBase64() },
        { peerId: 'RelayedPeer_0003', have: 'all' },
        { peerId: 'FarAwayPeer_0004', have: 'all' },
      ],
    }
    engine.swarm.sessions = [
      new FakeSession('DirectPeer_00001', 'direct'),
      new FakeSession('PunchedPeer_0002', 'hole-punched'),
      new FakeSession('RelayedPeer_0003', 'relayed'),
    ]
    // Bytes from and to peers in the last seconds.
    engine.local.add(recordOf(digest, 'movie.mkv', 8, { origin: 'downloaded' }), [])
    const download = new FakeDownload(digest, 8)
    engine.swarm.downloads.set(digest, download)
    engine.progress(digest, { ...download.current, sources: 3 })
    download.chunk({ index: 0, state: 'here', peerId: 'DirectPeer_00001' })
    engine.swarm.uploaded('PunchedPeer_0002', 5 * CHUNK)

    ;(element as SwarmdropPeers).name = 'movie.mkv'
    ;(element as SwarmdropPeers).digest = digest
    await eventually(() => expect(root.querySelectorAll('tr[data-peer-id]')).to.have.length(4))
    await settle()
    expect(root.querySelector('dialog')!.open).to.equal(true)
    expect(root.querySelector('h2')!.textContent).to.contain('movie.mkv')
    const rows = new Map(
      [...root.querySelectorAll<HTMLElement>('tr[data-peer-id]')].map((tr) => [tr.dataset.peerId, tr]),
    )
    expect(rows.get('DirectPeer_00001')!.textContent)
      .to.contain('Direct')
      .and.contain('all 8')
      .and.contain('205 KiB/s')
    expect(rows.get('PunchedPeer_0002')!.textContent)
      .to.contain('Hole-punched')
      .and.contain('3 of 8')
      .and.contain('1.0 MiB/s')
    expect(rows.get('RelayedPeer_0003')!.textContent).to.contain('Relayed (TURN)')
    expect(rows.get('FarAwayPeer_0004')!.textContent).to.contain('Not connected')
    expect(rows.get('DirectPeer_00001')!.dataset.connection).to.equal('direct')
    expect(engine.tracker.peersAsked).to.deep.equal([digest])
  })

  it("shows the tab's connection budget and the peers it blocks, and says when it can open no more", async () => {
    const { element, engine, root } = await mount('swarmdrop-peers')
    engine.tracker.peersReply = { type: 'peers', digest: digestOf(4), chunkCount: 2, peers: [] }
    engine.linkBudget = { built: 37, budget: 500, state: 'ok' }
    engine.activeBans = [
      { key: 'address:198.51.100.7', reason: 'RATE_LIMITED', strikes: 2, untilMs: Date.now() + 9.5 * 60_000 },
      { key: 'peer:LiarPeer_000001', reason: 'CHUNK_CORRUPT', strikes: 1, untilMs: Number.POSITIVE_INFINITY },
    ]
    ;(element as SwarmdropPeers).digest = digestOf(4)
    await eventually(() => expect(root.querySelector('[data-link-budget]')).to.not.equal(null))
    const health = root.querySelector<HTMLElement>('[data-link-budget]')!
    expect(health.dataset.linkBudget).to.equal('ok')
    expect(health.textContent).to.contain('37 of 500 connections used')
    const bans = [...root.querySelectorAll<HTMLElement>('li[data-ban]')]
    expect(bans.map((li) => li.dataset.reason)).to.deep.equal(['RATE_LIMITED', 'CHUNK_CORRUPT'])
    expect(bans[0]!.textContent).to.contain('198.51.100.7').and.contain('flooded').and.contain('10 more min')
    expect(bans[1]!.textContent).to.contain('LiarPeer_000001').and.contain('rest of this visit')

    // Spent: the view says in plain words that no new connection can be opened.
    engine.linkBudget = { built: 500, budget: 500, state: 'spent' }
    ;(element as SwarmdropPeers).digest = digestOf(5)
    await eventually(() =>
      expect(root.querySelector<HTMLElement>('[data-link-budget]')!.dataset.linkBudget).to.equal('spent'),
    )
    expect(root.querySelector('[data-link-budget]')!.textContent)
      .to.contain('500 of 500')
      .and.contain('No new connection can be opened')
  })

  it('says where each peer was found, and lists the ring’s holders too, with the tracker offline as well', async () => {
    const { element, engine, root, settle } = await mount('swarmdrop-peers')
    const digest = digestOf(4)
    engine.local.add(recordOf(digest, 'ring.bin', 8, { origin: 'downloaded' }), [])
    engine.tracker.peersReply = {
      type: 'peers',
      digest,
      chunkCount: 8,
      peers: [
        { peerId: 'TrackerOnly_0001', have: 'all' },
        { peerId: 'BothOfThem__0002', have: 'all' },
      ],
    }
    engine.providers = [
      { peerId: 'TrackerOnly_0001', source: 'tracker', sources: ['tracker'] },
      { peerId: 'BothOfThem__0002', source: 'tracker', sources: ['tracker', 'ring'] },
      { peerId: 'RingOnly____0003', chunks: 8, source: 'ring', sources: ['ring'] },
    ]
    ;(element as SwarmdropPeers).digest = digest
    await eventually(() => expect(root.querySelectorAll('tr[data-peer-id]')).to.have.length(3))
    await settle()
    const found = () =>
      [...root.querySelectorAll<HTMLElement>('tr[data-peer-id]')].map((tr) => [
        tr.dataset.peerId,
        tr.dataset.found,
        tr.querySelector('td:nth-child(4)')!.textContent,
      ])
    expect(found()).to.deep.equal([
      ['TrackerOnly_0001', 'tracker', 'Server'],
      ['BothOfThem__0002', 'tracker ring', 'Server and network'],
      ['RingOnly____0003', 'ring', 'Network'],
    ])
    expect(root.querySelector('tr[data-peer-id="RingOnly____0003"]')!.textContent).to.contain('all 8')

    // The tracker goes offline: the ring's holders are still listed, with the manifest's chunk count.
    engine.tracker.peersReply = new SwarmError('TRACKER_OFFLINE', 'offline')
    engine.providers = [{ peerId: 'RingOnly____0003', chunks: 3, source: 'ring', sources: ['ring'] }]
    await (element as SwarmdropPeers).updateComplete
    ;(element as SwarmdropPeers).digest = undefined
    await settle()
    ;(element as SwarmdropPeers).digest = digest
    await eventually(() => expect(found()).to.deep.equal([['RingOnly____0003', 'ring', 'Network']]))
    expect(root.querySelector('tr[data-peer-id]')!.textContent).to.contain('3 of 8')
  })

  it('says so when nobody else holds the file', async () => {
    const { element, engine, root } = await mount('swarmdrop-peers')
    engine.tracker.peersReply = new SwarmError('FILE_NOT_FOUND', 'nobody')
    ;(element as SwarmdropPeers).digest = digestOf(2)
    await eventually(() => expect(root.textContent).to.contain('No other browser has this file right now.'))
  })

  it('opens from a file and closes with its Close button (through the app)', async () => {
    const { root, engine, settle } = await mount('swarmdrop-app')
    engine.tracker.goOnline()
    engine.local.add(recordOf(digestOf(3), 'shared.txt', 2))
    engine.tracker.peersReply = { type: 'peers', digest: digestOf(3), chunkCount: 2, peers: [] }
    await settle()
    const myFiles = shadowOf(root, 'swarmdrop-my-files')
    ;[...myFiles.querySelectorAll<HTMLButtonElement>('button')]
      .find((b) => b.textContent === 'Peers')!
      .click()
    await settle()
    const peers = shadowOf(root, 'swarmdrop-peers')
    expect(peers.querySelector('dialog')!.open).to.equal(true)
    await eventually(() => expect(peers.textContent).to.contain('No other browser has this file right now.'))
    ;[...peers.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent === 'Close')!.click()
    await settle()
    expect(peers.querySelector('dialog')!.open).to.equal(false)
  })
})
