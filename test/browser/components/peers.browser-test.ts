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
