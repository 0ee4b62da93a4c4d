/// <reference types="mocha" />
/**
 * The app's services over a fake engine: downloads by digest (waiting for the tracker), `#<digest>`
 * links, saving a finished download at once through a real browser download, and the problems shown.
 */
import { expect } from 'chai'
import { SwarmError } from '../../../shared/errors.js'
import { toBase64Url } from '../../../shared/private-share.js'
import { ERROR_MESSAGES } from '../../../web/app/error-messages.js'
import { digestFromHash, followLinks, linkFromHash } from '../../../web/app/hash-link.js'
import { saveBlob } from '../../../web/app/save.js'
import { saveZip } from '../../../web/app/save-zip.js'
import { AppServices } from '../../../web/app/services.js'
import { ingest } from '../../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../../web/storage/memory-file-store.js'
import { captureDownload } from '../support/commands.js'
import { digestOf, entryOf, fakeOptions, recordOf } from './support/fake-engine.js'
import { eventually } from './support/mount.js'

describe('AppServices', () => {
  it('downloads a digest once the tracker is online, under its catalog name', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const digest = digestOf(5)
    engine.catalogEntries = [entryOf(digest, 'named.bin')]
    const done = services.download(digest.toUpperCase())
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(services.requests).to.deep.equal([{ digest, state: 'queued' }])
    expect(engine.fetched).to.deep.equal([])
    engine.tracker.goOnline()
    await done
    expect(engine.catalogQueries.at(-1)).to.include({ query: digest })
    expect(engine.fetched).to.deep.equal([digest])
    expect(services.requests).to.deep.equal([])
  })

  it('starts a digest clicked in the catalog at once, without asking the tracker for its entry again', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const digest = digestOf(6)
    engine.catalogEntries = [entryOf(digest, 'shown.bin')]
    engine.tracker.goOnline()
    await engine.catalog({ watch: true, offset: 0, limit: 50 }) // the catalog the page shows
    const asked = engine.catalogQueries.length
    await services.download(digest)
    expect(engine.fetched).to.deep.equal([digest])
    expect(engine.catalogQueries).to.have.length(asked)
  })

  it('downloads through the ring while the tracker is down, once this peer is linked into the ring', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const digest = digestOf(6)
    engine.tracker.setStatus({ state: 'offline', code: 1006, reason: '', retryInMs: 1_000 })
    const done = services.download(digest)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(engine.fetched, 'alone: nothing can find the file yet').to.deep.equal([])
    engine.setRing({ state: 'client' })
    await done
    expect(engine.fetched).to.deep.equal([digest])
    expect(engine.catalogQueries, 'the tracker is not asked while it is down').to.deep.equal([])
  })

  it('saves a file that is here in full instead of downloading it again', async () => {
    const { options, engine, saved } = fakeOptions()
    const services = new AppServices(options)
    engine.local.add(recordOf(digestOf(1), 'here.bin', 2))
    await services.download(digestOf(1))
    expect(saved.map((r) => r.name)).to.deep.equal(['here.bin'])
    expect(engine.fetched).to.deep.equal([])
  })

  it('saves a finished download at once', async () => {
    const { options, engine, saved } = fakeOptions()
    const services = new AppServices(options)
    const file = engine.local.add(recordOf(digestOf(2), 'done.bin', 2, { origin: 'downloaded' }))
    services.saveCompleted(file)
    await eventually(() => expect(saved.map((r) => r.digest)).to.deep.equal([digestOf(2)]))
  })

  it('reports a download that cannot start, and keeps it as an error entry', async () => {
    const { options, engine } = fakeOptions()
    engine.fetch = async () => {
      throw new SwarmError('MANIFEST_MISMATCH', 'a bad manifest')
    }
    engine.catalogEntries = [entryOf(digestOf(3), 'listed.bin')]
    engine.tracker.goOnline()
    const services = new AppServices(options)
    await services.download(digestOf(3))
    expect(services.requests[0]).to.include({ digest: digestOf(3), state: 'error' })
    expect(services.problems[0]).to.include({
      code: 'MANIFEST_MISMATCH',
      message: ERROR_MESSAGES.MANIFEST_MISMATCH,
    })
    await services.remove(digestOf(3))
    expect(services.requests).to.deep.equal([])
  })

  it('waits on a link nobody has, and starts by itself once someone does', async () => {
    const { options, engine } = fakeOptions()
    let holders = 0
    engine.tracker.peersReply = { type: 'peers', digest: digestOf(3), chunkCount: 1, peers: [] }
    engine.fetch = async (digest) => {
      if (holders === 0) throw new SwarmError('FILE_NOT_FOUND', 'nobody has it')
      engine.fetched.push(digest)
      return undefined
    }
    engine.tracker.goOnline()
    const services = new AppServices(options)
    await services.download(digestOf(3))
    expect(services.requests[0]).to.include({ digest: digestOf(3), state: 'waiting' })
    expect(services.problems).to.deep.equal([]) // waiting is not an error
    holders = 1
    engine.tracker.catalogChanged(1) // a holder came: the catalog changed
    await eventually(() => expect(engine.fetched).to.deep.equal([digestOf(3)]))
    expect(services.requests).to.deep.equal([])
  })

  it('asks before a private link from elsewhere, then fetches it with its key, unlisted', async () => {
    const { options, engine } = fakeOptions()
    engine.tracker.goOnline()
    const hints: unknown[] = []
    engine.fetch = async (digest, hint) => {
      engine.fetched.push(digest)
      hints.push(hint)
      return undefined
    }
    const services = new AppServices(options)
    const key = new Uint8Array(32).fill(7)
    services.openLink({ digest: digestOf(6), secret: { kind: 'key', key } }, 'elsewhere')
    expect(services.linkRequest).to.deep.include({ digest: digestOf(6), state: 'ask', lookingUp: false })
    expect(engine.fetched).to.deep.equal([]) // nothing starts unasked
    await services.confirmLinkRequest()
    expect(services.linkRequest).to.equal(undefined)
    expect(engine.fetched).to.deep.equal([digestOf(6)])
    expect(hints[0]).to.deep.include({ listed: false, name: 'Private file' })
    expect((hints[0] as { sealed: { key: string } }).sealed.key).to.equal(toBase64Url(key))
  })

  it('asks a password link for its password, and derives the key from it', async () => {
    const { options, engine } = fakeOptions()
    engine.tracker.goOnline()
    const services = new AppServices(options)
    const salt = new Uint8Array(16).fill(1)
    // From the page too: a password link always asks, since its password is needed.
    services.openLink({ digest: digestOf(6), secret: { kind: 'password', salt } }, 'page')
    await services.confirmLinkRequest()
    expect(services.linkRequest).to.include({ state: 'error' })
    expect(engine.fetched).to.deep.equal([])
    await services.confirmLinkRequest('pass')
    expect(services.linkRequest).to.equal(undefined)
    expect(engine.fetched).to.deep.equal([digestOf(6)])
  })

  it('opens a private file again with the right password after a wrong one, and saves it then', async () => {
    const right = toBase64Url(new Uint8Array(32).fill(1))
    const wrong = toBase64Url(new Uint8Array(32).fill(2))
    const { options, engine, saved } = fakeOptions({
      files: {
        sealedHeader: async (record) => {
          if (record.sealed?.key !== right) throw new SwarmError('WRONG_KEY', 'AES-GCM refused chunk 0')
          return { name: 'plans.pdf', mime: 'application/pdf', size: 100 }
        },
        bytes: async () => new Uint8Array(),
        saveZip: async () => {},
      },
    })
    engine.tracker.goOnline()
    engine.local.add({ ...recordOf(digestOf(6), 'Private file', 2), sealed: { key: wrong }, listed: false })
    const services = new AppServices(options)
    await eventually(() => expect(services.hasWrongKey(digestOf(6))).to.equal(true))
    expect(saved).to.deep.equal([])
    // The wrong key is kept no longer than it takes to be told the right one; a right one is never replaced.
    await services.download(digestOf(6), { name: 'Private file', sealed: { key: right }, listed: false })
    await eventually(() => expect(saved.map((record) => record.name)).to.deep.equal(['plans.pdf']))
    expect(services.hasWrongKey(digestOf(6))).to.equal(false)
    await services.download(digestOf(6), { name: 'Private file', sealed: { key: wrong }, listed: false })
    expect(engine.local.get(digestOf(6))?.record.sealed?.key).to.equal(right)
  })

  it('starts a link the user clicked on the page at once, public or private', async () => {
    const { options, engine } = fakeOptions()
    engine.tracker.goOnline()
    engine.tracker.peersReply = { type: 'peers', digest: digestOf(7), chunkCount: 1, peers: [] }
    const services = new AppServices(options)
    services.openLink({ digest: digestOf(6), secret: { kind: 'key', key: new Uint8Array(32) } }, 'page')
    services.openLink({ digest: digestOf(7) }, 'page')
    await eventually(() => expect([...engine.fetched].sort()).to.deep.equal([digestOf(6), digestOf(7)]))
    expect(services.linkRequest).to.equal(undefined)
  })

  it('shares privately: a fresh key per file, handed to the ingest, and a link that carries it', async () => {
    const { options, engine, ingester } = fakeOptions()
    const services = new AppServices(options)
    services.share([new File(['a'], 'a.txt'), new File(['b'], 'b.txt')], { private: true })
    await eventually(() => expect(ingester.jobs).to.have.length(2))
    const keys = ingester.jobs.map((job) => (job.share as { sealed: { key: Uint8Array } }).sealed.key)
    expect(keys[0]).to.have.length(32)
    expect(toBase64Url(keys[0]!)).not.to.equal(toBase64Url(keys[1]!))
    const record = { ...recordOf(digestOf(5), 'a.txt', 1), sealed: { key: toBase64Url(keys[0]!) } }
    engine.local.add(record)
    expect(services.linkFor(digestOf(5))).to.equal(
      `http://swarm.test/#${digestOf(5)}.${toBase64Url(keys[0]!)}`,
    )
  })

  it('asks before the page is left while a file is prepared', () => {
    const { options, ingester } = fakeOptions()
    const services = new AppServices(options)
    expect(services.leaveWarning()).to.equal(undefined)
    services.share([new File(['x'], 'x.bin')])
    expect(services.leaveWarning()).to.equal('preparing')
    ingester.jobs[0]!.resolve({
      record: recordOf(digestOf(1), 'x.bin', 1),
      duplicate: false,
      chunksWritten: 1,
    })
    return eventually(() => expect(services.leaveWarning()).to.equal(undefined))
  })

  it('asks before the page is left only while it is the only source of an unfinished download', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const digest = digestOf(4)
    engine.local.add(recordOf(digest, 'only here.bin', 4))
    engine.tracker.goOnline()
    const peers = (...have: string[]) => ({
      type: 'peers' as const,
      digest,
      chunkCount: 4,
      peers: have.map((h, i) => ({ peerId: `peer-${i}`, have: h })),
    })
    const link = { connectionType: async () => 'direct' as const }
    const downloader = { peerId: 'peer-0', destroyed: false, link }
    engine.swarm.sessions = [downloader]
    engine.tracker.peersReply = peers('AQ==') // one browser holds a piece: it is downloading from here
    engine.swarm.uploaded('peer-0', 1024, digest)
    expect(services.leaveWarning(), 'before the tracker answers').to.equal('serving')
    await eventually(() => expect(engine.tracker.peersAsked).to.include(digest))
    expect(services.leaveWarning()).to.equal('serving')

    // The downloader finished (now a seeder too): the catalog changed.
    engine.tracker.peersReply = peers('all')
    engine.tracker.catalogChanged(2)
    await eventually(() => expect(services.leaveWarning()).to.equal(undefined))
    // Another starts, then closes its page before the tracker has said anything: its link is gone.
    engine.tracker.peersReply = peers('all', 'AQ==')
    engine.tracker.catalogChanged(3)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(services.leaveWarning(), 'the first one seeds: not the only source').to.equal(undefined)
    engine.tracker.peersReply = peers('AQ==')
    engine.tracker.catalogChanged(4)
    engine.swarm.sessions = [{ peerId: 'peer-1', destroyed: false, link }]
    engine.swarm.uploaded('peer-1', 1024, digest)
    await eventually(() => expect(services.leaveWarning()).to.equal('serving'))
    engine.swarm.sessions = [{ peerId: 'peer-1', destroyed: true, link }]
    expect(services.leaveWarning(), 'bytes went out a moment ago, to a browser now gone').to.equal(undefined)
  })

  it('refuses what is not a digest, with a message', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    await services.download('not-a-digest')
    expect(engine.fetched).to.deep.equal([])
    expect(services.problems.map((p) => [p.code, p.message])).to.deep.equal([
      ['INVALID_DIGEST', ERROR_MESSAGES.INVALID_DIGEST],
    ])
  })

  it('cancels the ingest of a file removed while it is stored', async () => {
    const { options, engine, ingester } = fakeOptions()
    const services = new AppServices(options)
    services.share([new File(['x'], 'x.bin')])
    ingester.jobs[0]!.callbacks.onManifest!(recordOf(digestOf(4), 'x.bin', 1))
    await services.remove(digestOf(4))
    expect(ingester.jobs[0]!.cancelled).to.equal(true)
    services.flushRemovals()
    await eventually(() => expect(engine.removed).to.deep.equal([digestOf(4)]))
    expect(services.jobs).to.deep.equal([])
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(services.problems).to.deep.equal([]) // cancelling is the user's choice, not a problem
  })

  it('reports a download stopped by an error once, not on every progress report', async () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const progress = {
      state: 'error' as const,
      bytesHere: 0,
      bytesTotal: 10,
      chunksHere: 0,
      chunkCount: 1,
      bytesPerSecond: 0,
      sources: 0,
      error: new SwarmError('QUOTA_EXCEEDED', 'full'),
    }
    engine.progress(digestOf(6), progress)
    engine.progress(digestOf(6), progress)
    expect(services.problems).to.have.length(1)
    expect(services.problems[0]).to.include({ code: 'QUOTA_EXCEEDED', count: 1 })
  })
})

describe('AppServices: problems that end', () => {
  it('takes back "cannot reach a source" once the download has a source again, and keeps the rest', () => {
    const { options, engine } = fakeOptions()
    const services = new AppServices(options)
    const digest = digestOf(7)
    engine.problem(new SwarmError('NAT_BLOCKED', 'no path'), digest)
    engine.problem(new SwarmError('CHUNK_CORRUPT', 'bad chunk'), digest)
    engine.problem(new SwarmError('PEER_UNREACHABLE', 'no path'), digestOf(8))
    const progress = (sources: number) => ({
      state: 'downloading' as const,
      bytesHere: 0,
      bytesTotal: 10,
      chunksHere: 0,
      chunkCount: 1,
      bytesPerSecond: 0,
      sources,
    })
    engine.progress(digest, progress(0))
    expect(services.problems.map((p) => p.code)).to.have.members([
      'NAT_BLOCKED',
      'CHUNK_CORRUPT',
      'PEER_UNREACHABLE',
    ])
    engine.progress(digest, progress(1))
    // Only this file's problem about reaching sources goes; another file's, and a corrupt chunk, stay.
    expect(services.problems.map((p) => [p.code, p.digest])).to.have.deep.members([
      ['CHUNK_CORRUPT', digest],
      ['PEER_UNREACHABLE', digestOf(8)],
    ])
  })
})

describe('AppServices outside a secure context', () => {
  /** What `globalThis` looks like on a page served over plain HTTP from a public name. */
  const plainHttp = { isSecureContext: false, crypto: { subtle: undefined } }

  it('says at once that the page is not served over HTTPS, as one INSECURE_CONTEXT problem', () => {
    const { options } = fakeOptions({ environment: plainHttp })
    const services = new AppServices(options)
    expect(services.problems).to.have.length(1)
    expect(services.problems[0]).to.include({
      code: 'INSECURE_CONTEXT',
      message: ERROR_MESSAGES.INSECURE_CONTEXT,
      count: 1,
    })
    expect(services.problems[0]!.detail).to.contain('not a secure context')
  })

  it('refuses to share, download or resume with INSECURE_CONTEXT, before any work starts', async () => {
    const { options, engine, ingester } = fakeOptions({ environment: plainHttp })
    engine.tracker.goOnline()
    const services = new AppServices(options)
    services.share([new File(['x'], 'x.bin')])
    await services.download(digestOf(7))
    services.resume(digestOf(7))
    expect(ingester.jobs).to.deep.equal([])
    expect(services.jobs).to.deep.equal([])
    expect(engine.fetched).to.deep.equal([])
    expect(engine.catalogQueries).to.deep.equal([])
    expect(services.requests).to.deep.equal([])
    // Still one problem, counted up, not one per attempt.
    expect(services.problems).to.have.length(1)
    expect(services.problems[0]).to.include({ code: 'INSECURE_CONTEXT', count: 4 })
  })

  it('also refuses in a secure context whose browser has no crypto.subtle', () => {
    const { options } = fakeOptions({ environment: { isSecureContext: true, crypto: {} } })
    const services = new AppServices(options)
    expect(services.problems.map((p) => p.code)).to.deep.equal(['INSECURE_CONTEXT'])
  })

  it('says nothing on this page, which is a secure context (localhost) with crypto.subtle', () => {
    expect(globalThis.isSecureContext).to.equal(true)
    const { options, ingester } = fakeOptions()
    const services = new AppServices(options)
    services.share([new File(['x'], 'x.bin')])
    expect(services.problems).to.deep.equal([])
    expect(ingester.jobs).to.have.length(1)
  })
})

describe('links to a file', () => {
  it('reads a digest from the fragment, and nothing else', () => {
    expect(digestFromHash(`#${digestOf(1)}`)).to.equal(digestOf(1))
    expect(digestFromHash(`#${digestOf(1).toUpperCase()}`)).to.equal(digestOf(1))
    expect(digestFromHash('#top')).to.equal(undefined)
    expect(digestFromHash('')).to.equal(undefined)
  })

  it('reads public and private links, and nothing else, without throwing', () => {
    const key = new Uint8Array(32).fill(3)
    const salt = new Uint8Array(16).fill(4)
    expect(linkFromHash(`#${digestOf(1)}`)).to.deep.equal({ digest: digestOf(1) })
    expect(linkFromHash(`#${digestOf(1)}.${toBase64Url(key)}`)).to.deep.equal({
      digest: digestOf(1),
      secret: { kind: 'key', key },
    })
    expect(linkFromHash(`#${digestOf(1)}.p.${toBase64Url(salt)}`)).to.deep.equal({
      digest: digestOf(1),
      secret: { kind: 'password', salt },
    })
    expect(linkFromHash(`#${digestOf(1)}.short`)).to.equal(undefined)
    expect(linkFromHash('#%zz')).to.equal(undefined)
    expect(linkFromHash('#top')).to.equal(undefined)
  })

  it('follows the link in the page address, and every change of it', async () => {
    const before = location.hash
    const asked: string[] = []
    history.replaceState(null, '', `#${digestOf(8)}`)
    const stop = followLinks(window, (link) => asked.push(link.digest))
    try {
      expect(asked).to.deep.equal([digestOf(8)])
      expect(location.hash).to.equal('') // a reload does not start it again
      location.hash = digestOf(9)
      await eventually(() => expect(asked).to.deep.equal([digestOf(8), digestOf(9)]))
      location.hash = digestOf(8) // the same link opened again
      await eventually(() => expect(asked).to.deep.equal([digestOf(8), digestOf(9), digestOf(8)]))
      location.hash = 'top'
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(asked).to.have.length(3)
      expect(location.hash).to.equal('#top')
    } finally {
      stop()
      history.replaceState(null, '', before || location.pathname + location.search)
    }
  })
})

describe('saving', () => {
  it('hands a Blob to a[download] under the sanitised name: an ordinary browser download', async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => i % 251)
    const saved = await captureDownload(() =>
      saveBlob(new Blob([bytes]), '<img src=x onerror=alert(1)>../../evil.sh'),
    )
    expect(saved).to.deep.equal({
      suggestedFilename: '_img src=x onerror=alert(1)_.._.._evil.sh',
      size: bytes.length,
    })
    expect(document.querySelectorAll('a[download]')).to.have.length(0) // the link is gone again
  })

  it('saves a zip as a Blob where no service worker can stream it (streaming is in sharing.e2e)', async () => {
    const deps = { chunks: new MemoryChunkStore(), files: new MemoryFileStore(), now: () => 1 }
    const { record } = await ingest(new Blob(['in the zip']), deps, { name: 'a.txt', mime: 'text/plain' })
    let how: Promise<string> | undefined
    const saved = await captureDownload(() => {
      how = saveZip(deps.chunks, 'album', [{ path: 'a.txt', record }], window)
    })
    expect(await how).to.equal('blob')
    expect(saved.suggestedFilename).to.equal('album.zip')
  })
})
