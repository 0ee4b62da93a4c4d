/// <reference types="mocha" />
/**
 * My files: an entry per file with `data-digest` and `data-state` for each state, a `<progress>`, speed,
 * ETA and sources, a chunk map whose cells are coloured here / in flight / missing (by peer), and the
 * controls that fit each state.
 */
import { expect } from 'chai'
import { SwarmError } from '../../../shared/errors.js'
import { ERROR_MESSAGES } from '../../../web/app/error-messages.js'
import type { FileState } from '../../../web/app/my-files-controller.js'
import { CHUNK_COLORS, chunkMapLayout, peerColor } from '../../../web/components/swarmdrop-chunk-map.js'
import '../../../web/components/swarmdrop-my-files.js'
import type { DownloadProgress } from '../../../web/peer/download.js'
import { CHUNK, digestOf, FakeDownload, recordOf } from './support/fake-engine.js'
import { eventually, mount, unmountAll } from './support/mount.js'

function progressOf(chunkCount: number, extra: Partial<DownloadProgress>): DownloadProgress {
  return {
    state: 'downloading',
    bytesHere: 0,
    bytesTotal: chunkCount * CHUNK,
    chunksHere: 0,
    chunkCount,
    bytesPerSecond: 0,
    sources: 0,
    ...extra,
  }
}

/** A file held in part with a download running (as the engine has it after `fetch`). */
function downloading(
  engine: Awaited<ReturnType<typeof mount>>['engine'],
  n: number,
  chunksHere: number[],
  progress: Partial<DownloadProgress>,
) {
  const digest = digestOf(n)
  engine.local.add(
    recordOf(digest, `download-${n}.bin`, 8, { origin: 'downloaded', addedAtMs: n }),
    chunksHere,
  )
  const download = new FakeDownload(digest, 8)
  engine.swarm.downloads.set(digest, download)
  engine.progress(
    digest,
    progressOf(8, { chunksHere: chunksHere.length, bytesHere: chunksHere.length * CHUNK, ...progress }),
  )
  return { digest, download }
}

/** The RGB of the canvas pixel in the middle of a chunk's cell. */
function cellColor(canvas: HTMLCanvasElement, count: number, index: number): string {
  const layout = chunkMapLayout(count)
  const scale = canvas.width / layout.width
  const x = ((index % layout.columns) * layout.cell + (layout.cell - layout.gap) / 2) * scale
  const y = (Math.floor(index / layout.columns) * layout.cell + (layout.cell - layout.gap) / 2) * scale
  const [r, g, b] = canvas.getContext('2d')!.getImageData(Math.floor(x), Math.floor(y), 1, 1).data
  return `#${[r, g, b].map((v) => v!.toString(16).padStart(2, '0')).join('')}`
}

describe('<swarmdrop-my-files>', () => {
  afterEach(unmountAll)

  it('shows every state on data-state, each entry with a <progress>', async () => {
    const mounted = await mount('swarmdrop-my-files')
    const { engine, services, ingester, root, settle } = mounted

    // hashing: a dropped file, no digest yet
    services.share([new File([new Uint8Array(3000)], 'dropped.bin')])
    ingester.progress(0, { phase: 'hashing', bytesDone: 1000, bytesTotal: 3000 })
    // seeding: shared from here, complete
    engine.local.add(recordOf(digestOf(1), 'mine.bin', 4, { origin: 'shared', addedAtMs: 1 }))
    // complete: downloaded in full
    engine.local.add(recordOf(digestOf(2), 'got.bin', 4, { origin: 'downloaded', addedAtMs: 2 }))
    // downloading, paused, error, and queued (running but no source yet)
    downloading(engine, 3, [0, 1], { sources: 2, bytesPerSecond: 2 * CHUNK })
    downloading(engine, 4, [0], { state: 'paused' })
    downloading(engine, 5, [], {
      state: 'error',
      error: new SwarmError('QUOTA_EXCEEDED', 'full'),
    })
    downloading(engine, 6, [], { sources: 0 })
    // queued: asked for while the tracker is not connected
    void services.download(digestOf(7))
    // error before the file is held: the ingest of another file failed
    services.share([new File([new Uint8Array(10)], 'broken.bin')])
    ingester.jobs[1]!.reject(new SwarmError('SOURCE_CHANGED', 'changed'))
    await settle()

    const entries = [...root.querySelectorAll<HTMLElement>('li[data-state]')]
    const byName = new Map(entries.map((li) => [li.querySelector('.name')!.textContent, li]))
    const expected: [string, FileState, string | undefined][] = [
      ['dropped.bin', 'hashing', undefined],
      ['broken.bin', 'error', undefined],
      ['mine.bin', 'seeding', digestOf(1)],
      ['got.bin', 'complete', digestOf(2)],
      ['download-3.bin', 'downloading', digestOf(3)],
      ['download-4.bin', 'paused', digestOf(4)],
      ['download-5.bin', 'error', digestOf(5)],
      ['download-6.bin', 'queued', digestOf(6)],
      [`${digestOf(7).slice(0, 16)}…`, 'queued', digestOf(7)],
    ]
    for (const [name, state, digest] of expected) {
      const li = byName.get(name)
      expect(li, name).to.exist
      expect(li!.dataset.state, name).to.equal(state)
      expect(li!.dataset.digest, name).to.equal(digest)
      expect(li!.querySelector('progress'), name).to.exist
    }
    expect(entries).to.have.length(expected.length)

    const hashing = byName.get('dropped.bin')!
    expect(hashing.querySelector('progress')!.value).to.equal(1000)
    expect(hashing.querySelector('progress')!.max).to.equal(3000)
    expect(hashing.textContent).to.contain('Preparing 33%')

    const running = byName.get('download-3.bin')!
    expect(running.querySelector('progress')!.value).to.equal(2 * CHUNK)
    expect(running.textContent).to.contain('Speed2.0 MiB/s')
    expect(running.textContent).to.contain('Time left3 s') // 6 MiB left at 2 MiB/s
    expect(running.textContent).to.contain('Downloading from2 browsers')
    expect(running.textContent).to.contain('Pieces2 of 8')
    // Plain words for each state.
    expect(byName.get('mine.bin')!.querySelector('.state')!.textContent).to.equal('Sharing')
    expect(byName.get('got.bin')!.querySelector('.state')!.textContent).to.equal('Downloaded')
    expect(byName.get('download-6.bin')!.querySelector('.state')!.textContent).to.equal(
      'Waiting for someone who has this file',
    )
    // A paused download shows no speed but zero.
    expect(byName.get('download-4.bin')!.textContent).to.contain('Speed0 B/s')

    expect(byName.get('download-5.bin')!.textContent).to.contain(ERROR_MESSAGES.QUOTA_EXCEEDED)
    expect(byName.get('broken.bin')!.textContent).to.contain(ERROR_MESSAGES.SOURCE_CHANGED)
  })

  it('shows a dropped file as preparing until every chunk is stored, then as sharing', async () => {
    const { engine, services, ingester, root, settle } = await mount('swarmdrop-my-files')
    const file = new File([new Uint8Array(10)], 'song.ogg')
    services.share([file])
    ingester.progress(0, { phase: 'hashing', bytesDone: 5, bytesTotal: 10 })
    await settle()
    expect(root.querySelector('li')!.dataset.state).to.equal('hashing')
    const record = recordOf(digestOf(9), 'song.ogg', 1)
    ingester.jobs[0]!.callbacks.onManifest!(record)
    await settle()
    const li = root.querySelector<HTMLElement>(`li[data-digest="${digestOf(9)}"]`)!
    // Shared from the dropped file already, but not safe to close: still preparing.
    expect(li.dataset.state).to.equal('hashing')
    expect(li.querySelector('.state')!.textContent).to.equal('Preparing')
    expect(li.textContent).to.contain('Preparing 0%')
    expect(engine.shared).to.deep.equal([digestOf(9)])
    ingester.jobs[0]!.resolve({ record, duplicate: false, chunksWritten: 1 })
    await eventually(() => expect(engine.storedDigests).to.deep.equal([digestOf(9)]))
    await settle()
    expect(root.querySelectorAll('li')).to.have.length(1)
    expect(root.querySelector('li')!.dataset.state).to.equal('seeding')
    expect(root.querySelector('li')!.textContent).to.contain('100% here')
  })

  it('draws the chunk map: here (by peer), in flight and missing', async () => {
    const { engine, root, settle } = await mount('swarmdrop-my-files')
    const { digest, download } = downloading(engine, 3, [0, 1], { sources: 2 })
    download.chunk({ index: 2, state: 'in-flight', peerId: 'PeerA_0000000001' })
    download.chunk({ index: 3, state: 'in-flight', peerId: 'PeerB_0000000002' })
    engine.local.store(digest, 2)
    download.chunk({ index: 2, state: 'here', peerId: 'PeerA_0000000001' })
    await settle()
    const map = root.querySelector(`li[data-digest="${digest}"] swarmdrop-chunk-map`)!
    await (map as unknown as { updateComplete: Promise<unknown> }).updateComplete
    const canvas = map.shadowRoot!.querySelector('canvas')!
    expect(canvas.getAttribute('aria-label')).to.equal('Pieces: 3 of 8 here, 1 in flight, 4 missing')
    expect(cellColor(canvas, 8, 0)).to.equal(CHUNK_COLORS.here)
    expect(cellColor(canvas, 8, 1)).to.equal(CHUNK_COLORS.here)
    expect(cellColor(canvas, 8, 2)).to.equal(peerColor('PeerA_0000000001'))
    expect(cellColor(canvas, 8, 3)).to.equal(CHUNK_COLORS.inFlight)
    for (const index of [4, 5, 6, 7]) expect(cellColor(canvas, 8, index)).to.equal(CHUNK_COLORS.missing)
    expect(peerColor('PeerA_0000000001')).not.to.equal(peerColor('PeerB_0000000002'))

    // A request given up goes back to missing; a chunk here stays here.
    download.chunk({ index: 3, state: 'missing' })
    download.chunk({ index: 2, state: 'missing' })
    await settle()
    await (map as unknown as { updateComplete: Promise<unknown> }).updateComplete
    expect(cellColor(canvas, 8, 3)).to.equal(CHUNK_COLORS.missing)
    expect(cellColor(canvas, 8, 2)).to.equal(peerColor('PeerA_0000000001'))
  })

  it('lays out the largest files (4096 chunks) in rows of 64', () => {
    expect(chunkMapLayout(4096)).to.include({ columns: 64, rows: 64 })
    expect(chunkMapLayout(3)).to.include({ columns: 3, rows: 1 })
  })

  it('offers the controls of each state and emits their events', async () => {
    const { engine, root, element, settle } = await mount('swarmdrop-my-files')
    engine.local.add(recordOf(digestOf(1), 'mine.bin', 2, { origin: 'shared', addedAtMs: 1 }))
    engine.local.add(recordOf(digestOf(2), 'got.bin', 2, { origin: 'downloaded', addedAtMs: 2 }))
    downloading(engine, 3, [0], { sources: 1 })
    downloading(engine, 4, [0], { state: 'paused' })
    await settle()
    const seen: string[] = []
    for (const type of [
      'swarmdrop-save',
      'swarmdrop-pause',
      'swarmdrop-resume',
      'swarmdrop-remove',
      'swarmdrop-stop-sharing',
      'swarmdrop-show-peers',
      'swarmdrop-show-link',
    ] as const) {
      element.addEventListener(type, (event) =>
        seen.push(`${type.slice(10)} ${event.detail.digest?.slice(0, 8)}`),
      )
    }
    const buttons = (digest: string) =>
      new Map(
        [...root.querySelectorAll<HTMLButtonElement>(`li[data-digest="${digest}"] .actions button`)].map(
          (b) => [b.textContent!, b],
        ),
      )
    expect([...buttons(digestOf(1)).keys()]).to.include.members([
      'Share link',
      'Peers',
      'Stop sharing',
      'Remove',
    ])
    // One's own share offers no Save; a finished download offers it, as a secondary action.
    expect(buttons(digestOf(1)).has('Save')).to.equal(false)
    expect([...buttons(digestOf(2)).keys()]).to.include.members(['Save', 'Peers', 'Remove'])
    expect(buttons(digestOf(2)).get('Save')!.classList.contains('primary')).to.equal(false)
    expect([...buttons(digestOf(3)).keys()]).to.include.members(['Pause', 'Cancel download'])
    expect([...buttons(digestOf(4)).keys()]).to.include.members(['Resume', 'Cancel download'])
    expect(buttons(digestOf(3)).has('Save')).to.equal(false)
    buttons(digestOf(2)).get('Save')!.click()
    buttons(digestOf(3)).get('Pause')!.click()
    buttons(digestOf(4)).get('Resume')!.click()
    buttons(digestOf(1)).get('Stop sharing')!.click()
    buttons(digestOf(1)).get('Peers')!.click()
    buttons(digestOf(1)).get('Share link')!.click()
    buttons(digestOf(2)).get('Remove')!.click()
    expect(seen).to.deep.equal([
      `save ${digestOf(2).slice(0, 8)}`,
      `pause ${digestOf(3).slice(0, 8)}`,
      `resume ${digestOf(4).slice(0, 8)}`,
      `stop-sharing ${digestOf(1).slice(0, 8)}`,
      `show-peers ${digestOf(1).slice(0, 8)}`,
      `show-link ${digestOf(1).slice(0, 8)}`,
      `remove ${digestOf(2).slice(0, 8)}`,
    ])
    // Every control is labelled with its file.
    expect(buttons(digestOf(1)).get('Stop sharing')!.getAttribute('aria-label')).to.equal(
      'Stop sharing: mine.bin',
    )
  })

  it('hides a removed file at once, and deletes it only when its Undo is over', async () => {
    const { engine, root, services, settle } = await mount('swarmdrop-my-files')
    engine.local.add(recordOf(digestOf(1), 'mine.bin', 2))
    await settle()
    await services.remove(digestOf(1))
    await settle()
    expect(root.querySelector('li')).to.equal(null)
    expect(root.textContent).to.contain('Nothing here yet')
    expect(engine.stopped).to.deep.equal([digestOf(1)])
    expect(engine.removed).to.deep.equal([])
    expect(services.toasts.at(-1)!.text).to.equal('Removed mine.bin.')
    services.flushRemovals()
    await eventually(() => expect(engine.removed).to.deep.equal([digestOf(1)]))
  })

  it('undoes a Remove: the file is back and shared again', async () => {
    const { engine, root, services, settle } = await mount('swarmdrop-my-files')
    engine.local.add(recordOf(digestOf(1), 'mine.bin', 2))
    await services.remove(digestOf(1))
    services.undo(services.toasts.at(-1)!.id)
    await settle()
    await eventually(() =>
      expect(root.querySelector<HTMLElement>(`li[data-digest="${digestOf(1)}"]`)!.dataset.state).to.equal(
        'seeding',
      ),
    )
    expect(engine.removed).to.deep.equal([])
  })

  it('stops sharing a file but keeps it, and Undo shares it again', async () => {
    const { engine, root, services, settle } = await mount('swarmdrop-my-files')
    engine.local.add(recordOf(digestOf(1), 'mine.bin', 2))
    await services.stopSharing(digestOf(1))
    await settle()
    const li = () => root.querySelector<HTMLElement>(`li[data-digest="${digestOf(1)}"]`)!
    expect(li().querySelector('.state')!.textContent).to.equal('Not shared')
    expect([...li().querySelectorAll('button')].map((b) => b.textContent)).to.include('Share again')
    services.undo(services.toasts.at(-1)!.id)
    await eventually(() => expect(li().dataset.state).to.equal('seeding'))
  })

  it('pages a long list, 50 at a time, and groups the files of a collection under it', async () => {
    const { engine, root, services, settle, element } = await mount('swarmdrop-my-files')
    for (let n = 1; n <= 120; n++) engine.local.add(recordOf(digestOf(n), `f-${n}.bin`, 1, { addedAtMs: n }))
    const album = recordOf(digestOf(500), 'album', 1, { addedAtMs: 1000 })
    engine.local.add({
      ...album,
      mime: 'application/vnd.swarmdrop.collection+json',
      collection: { files: 2, bytes: 10 },
    })
    services.collections.set(digestOf(500), {
      swarmdrop: 'collection',
      v: 1,
      name: 'album',
      files: [
        { path: 'album/a.txt', digest: digestOf(1), size: 5 },
        { path: 'album/b.txt', digest: digestOf(2), size: 5 },
      ],
    })
    engine.local.replace({ ...engine.local.get(digestOf(1))!.record, listed: false })
    engine.local.replace({ ...engine.local.get(digestOf(2))!.record, listed: false })
    await settle()
    const top = () => [...root.querySelectorAll<HTMLElement>('ul[aria-labelledby="my-files-title"] > li')]
    expect(top()).to.have.length(50)
    expect(top()[0]!.dataset.collection).to.equal(digestOf(500))
    expect(root.querySelector('nav')!.textContent).to.contain('Page 1 of 3 (119 items)')
    const open = [...top()[0]!.querySelectorAll('button')].find((b) => b.textContent === 'Show files')!
    expect(open.getAttribute('aria-expanded')).to.equal('false')
    open.click()
    await settle()
    expect(
      [...top()[0]!.querySelectorAll('ul.members li')].map((li) => li.querySelector('.name')!.textContent),
    ).to.deep.equal(['album/a.txt', 'album/b.txt'])
    const next = [...root.querySelectorAll<HTMLButtonElement>('nav button')].find(
      (b) => b.textContent === 'Next',
    )!
    next.click()
    await settle()
    expect(element.controller.page).to.equal(1)
    // Page 1 held the collection and f-120 … f-72 (its files f-1 and f-2 are under it).
    expect(top()[0]!.querySelector('.name')!.textContent).to.equal('f-71.bin')
  })
})
