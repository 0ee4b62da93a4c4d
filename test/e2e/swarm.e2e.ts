/**
 * Downloads between real Chromium browsers, each in a profile of its own, against the real signal server
 * (tracker and signalling relay), over WebRTC on loopback. Every case ends with the file saved through an
 * ordinary browser download, and the saved bytes are checked against the source in Node.
 *
 * One Chromium process, one browser context per peer (contexts are separate profiles: their own
 * IndexedDB, cookies and storage); "closing a seeder" closes its context, which closes its page, its
 * peer connections and its tracker socket. The corrupting peer runs in this Node process, over
 * @roamhq/wrtc. Run by scripts/test.mjs inside a network namespace that has only `lo` (SPEC §8).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { until } from '../support/until.js'
import type { HarnessProgress } from './harness/api.js'
import { BrowserPeer, launchChromium } from './support/browsers.js'
import { type HarnessServer, serveHarness } from './support/build-harness.js'
import { CorruptPeer } from './support/corrupt-peer.js'
import { MiB, type SourceFile, writeSourceFile } from './support/source-files.js'
import {
  DOWNLOAD_TIMEOUT_MS,
  describing,
  finishDownload,
  shareFrom,
  startDownload,
} from './support/timed-download.js'

/** Longest a download may take to reach a given point (30%, 50%) before the test acts. */
const MILESTONE_TIMEOUT_MS = 30_000
/** Longest a closed link may take to be seen closed on the other side (ICE and SCTP teardown). */
const LINK_CLOSE_TIMEOUT_MS = 5_000
/** The reload case: the share of the file that may be fetched twice. */
const MAX_REFETCHED_FRACTION = 0.05
/**
 * The reload case's file. A reload loses what is in flight whatever the file's size: up to
 * IN_FLIGHT_PER_SOURCE (4) chunks partly received, and the ones received whole and still being stored.
 * Measured here on 64 MiB: 1.5–3 MiB of chunk frames received twice (2.3–4.7%), 3–5 chunks served twice
 * (4.7–7.8%); the window alone is 6.25% of 64 MiB, so the 5% bound would measure the window, not the resume.
 * At 128 MiB it checks what it is meant to: that what was stored before the reload is not fetched again.
 */
const RELOAD_FILE_BYTES = 128 * MiB

let browser: Browser
let served: HarnessServer
let baseUrl: string
let sourceDir: string
let files: Record<'one' | 'three' | 'closed' | 'reload' | 'corrupt', SourceFile>

/** Peers opened by the running test, closed after it whatever happened. */
const opened: BrowserPeer[] = []
const corruptPeers: CorruptPeer[] = []

beforeAll(async () => {
  sourceDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-files-'))
  // Distinct seeds: no case can find another case's file in the tracker.
  files = {
    one: await writeSourceFile(sourceDir, 'one seeder 64MiB.bin', 64 * MiB, 'one'),
    three: await writeSourceFile(sourceDir, 'three-seeders.bin', 64 * MiB, 'three'),
    closed: await writeSourceFile(sourceDir, 'seeder-closed.bin', 64 * MiB, 'closed'),
    reload: await writeSourceFile(sourceDir, 'receiver-reloaded.bin', RELOAD_FILE_BYTES, 'reload'),
    corrupt: await writeSourceFile(sourceDir, 'corrupt-peer.bin', 32 * MiB, 'corrupt'),
  }
  served = await serveHarness('warn')
  baseUrl = served.baseUrl
  browser = await launchChromium()
})

afterEach(async () => {
  for (const peer of corruptPeers.splice(0)) peer.close()
  await Promise.all(opened.splice(0).map((peer) => peer.close().catch(() => {})))
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  if (sourceDir) rmSync(sourceDir, { recursive: true, force: true })
  const log = served?.log ?? []
  if (log.length > 0) console.log(`server warnings and errors:\n${log.slice(-20).join('\n')}`)
})

async function openPeer(label: string): Promise<BrowserPeer> {
  const peer = await BrowserPeer.open(browser, baseUrl, label)
  opened.push(peer)
  return peer
}

function chunksFrom(progress: HarnessProgress): number {
  return Object.values(progress.fromPeers).reduce((sum, n) => sum + n, 0)
}

describe('downloads between Chromium browsers against the real signal server', () => {
  it('downloads a 64 MiB file from one seeder', async () => {
    const file = files.one
    const seeder = await openPeer('seeder')
    const receiver = await openPeer('receiver')
    await shareFrom([seeder], file)

    const started = await startDownload(receiver, file)
    const done = await finishDownload(receiver, file, started, 'one seeder', describing([seeder]))

    expect(done.fromPeers).toEqual({ [seeder.peerId]: file.manifest.hashes.length })
    expect(done.banned).toEqual([])
  })

  it('downloads from three seeders, with chunks arriving from at least two of them', async () => {
    const file = files.three
    const seeders = await Promise.all(['seeder 1', 'seeder 2', 'seeder 3'].map(openPeer))
    const receiver = await openPeer('receiver')
    await shareFrom(seeders, file)

    const started = await startDownload(receiver, file)
    const done = await finishDownload(receiver, file, started, 'three seeders', describing(seeders))

    const seederIds = seeders.map((s) => s.peerId)
    console.log(
      `chunks by seeder: ${seederIds.map((id) => done.fromPeers[id] ?? 0).join(', ')}; requests: ` +
        seederIds.map((id) => done.requestedFrom[id] ?? 0).join(', '),
    )
    expect(Object.keys(done.fromPeers).every((id) => seederIds.includes(id))).toBe(true)
    expect(chunksFrom(done)).toBe(file.manifest.hashes.length)
    expect(Object.values(done.fromPeers).filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
  })

  it('finishes from the remaining seeder when the other is closed at 50%', async () => {
    const file = files.closed
    const chunkCount = file.manifest.hashes.length
    const seeders = await Promise.all(['seeder 1', 'seeder 2'].map(openPeer))
    const receiver = await openPeer('receiver')
    await shareFrom(seeders, file)

    const started = await startDownload(receiver, file)
    const half = await receiver.waitFor(
      file.digest,
      (p) => p.chunksHere >= chunkCount / 2,
      '50% of the chunks',
      MILESTONE_TIMEOUT_MS,
      describing(seeders),
    )
    // Close the seeder that has given the most so far: the download loses its busiest source.
    const [closed, remaining] = [...seeders].sort(
      (a, b) => (half.fromPeers[b.peerId] ?? 0) - (half.fromPeers[a.peerId] ?? 0),
    ) as [BrowserPeer, BrowserPeer]
    const beforeClose = half.fromPeers[closed.peerId] ?? 0
    const closingAt = Date.now()
    await closed.close()
    const atClose = (await receiver.progress(file.digest))!
    console.log(
      `closed ${closed.label} at ${half.chunksHere}/${chunkCount} chunks (${atClose.chunksHere} once closed, ` +
        `${Date.now() - closingAt} ms later), after it gave ${beforeClose}`,
    )
    expect(beforeClose).toBeGreaterThan(0)
    expect(atClose.chunksHere).toBeLessThan(chunkCount)

    const done = await finishDownload(
      receiver,
      file,
      started,
      'seeder closed at 50%',
      describing([remaining]),
      'the download to complete from the remaining seeder',
    )

    // Nothing comes from the closed seeder but what was asked of it before it closed: chunks whose bytes
    // were already on their way, or in this page's queue, are stored after that, once checked. Everything
    // else came from the remaining seeder.
    expect(done.fromPeers[closed.peerId] ?? 0).toBeLessThanOrEqual(atClose.requestedFrom[closed.peerId] ?? 0)
    expect(done.fromPeers[remaining.peerId]).toBe(chunkCount - (done.fromPeers[closed.peerId] ?? 0))
  })

  it('resumes by itself after the receiver is reloaded at 30%, fetching at most 5% twice', async () => {
    const file = files.reload
    const chunkCount = file.manifest.hashes.length
    const seeder = await openPeer('seeder')
    const receiver = await openPeer('receiver')
    await shareFrom([seeder], file)

    const started = await startDownload(receiver, file)
    const atReload = await receiver.waitFor(
      file.digest,
      (p) => p.chunksHere >= chunkCount * 0.3,
      '30% of the chunks',
      MILESTONE_TIMEOUT_MS,
      describing([seeder]),
    )
    const firstPeerId = receiver.peerId
    await receiver.reload()
    // Nothing asks the new page to download: SwarmEngine.open resumes unfinished downloads from storage.
    const done = await finishDownload(
      receiver,
      file,
      started,
      'receiver reloaded at 30%',
      describing([seeder]),
      'the resumed download to complete',
    )

    // The new page counts only what it received itself: the rest was in storage, at least what was
    // stored when the page was reloaded.
    const storedBefore = chunkCount - chunksFrom(done)
    expect(receiver.peerId).not.toBe(firstPeerId)
    expect(Object.keys(done.fromPeers)).toEqual([seeder.peerId])
    expect(storedBefore).toBeGreaterThanOrEqual(atReload.chunksHere)

    // Fetched twice, measured where the bytes arrive: every chunk frame either page received (summed in
    // sessionStorage, which survives the reload), cut-off chunks included, beyond the file's size. Also
    // shown from where the bytes leave: chunks the seeder served in full (Swarm `uploaded`) beyond the
    // chunk count; that one also counts chunks lost in the pipe when the page went away, which never
    // reached the receiver (measured 1–6 of 128 here), and is not bounded by the test.
    const received = await receiver.received()
    const refetchedBytes = received.bytes - file.size
    const uploads = await seeder.uploads()
    console.log(
      `reload at ${atReload.chunksHere}/${chunkCount} chunks (${storedBefore} stored by then): the receiver ` +
        `took ${(received.bytes / MiB).toFixed(2)} MiB of chunk frames over ${received.loads} page loads ` +
        `(${((refetchedBytes / file.size) * 100).toFixed(1)}% of the file twice); the seeder served ` +
        `${uploads.chunks} chunks (${uploads.chunks - chunkCount} twice) to ${JSON.stringify(uploads.byPeer)}`,
    )
    expect(received.loads).toBe(2)
    expect(Object.keys(uploads.byPeer).sort()).toEqual([firstPeerId, receiver.peerId].sort())
    // The case proves a resume only if the new page had chunks left to fetch, and fetched them itself.
    expect(chunksFrom(done)).toBeGreaterThan(0)
    expect(refetchedBytes).toBeLessThanOrEqual(file.size * MAX_REFETCHED_FRACTION)
  })

  it('bans a peer that sends corrupt chunks and completes from the honest seeder', async () => {
    const file = files.corrupt
    const chunkCount = file.manifest.hashes.length
    const liar = await CorruptPeer.start(served.trackerUrl, file)
    corruptPeers.push(liar)
    const seeder = await openPeer('seeder')
    const receiver = await openPeer('receiver')

    // The liar is the only source until the receiver bans it: with the honest seeder there from the
    // start, the download could finish before the liar had sent the three bad chunks a ban takes.
    const started = await startDownload(receiver, file)
    await receiver.waitFor(
      file.digest,
      (p) => p.banned.includes(liar.peerId),
      'the receiver to ban the corrupt peer',
      DOWNLOAD_TIMEOUT_MS,
      async () => `; corrupt peer ${JSON.stringify(liar.report)}`,
    )
    await shareFrom([seeder], file)
    const done = await finishDownload(
      receiver,
      file,
      started,
      'with a corrupting peer',
      async () => `; corrupt peer ${JSON.stringify(liar.report)}${await describing([seeder])()}`,
    )
    console.log(`corrupt peer: ${JSON.stringify(liar.report)}`)

    expect(liar.report.garbageChunks).toBeGreaterThanOrEqual(3)
    expect(done.banned).toEqual([liar.peerId])
    expect(done.fromPeers).toEqual({ [seeder.peerId]: chunkCount })
    // The ban closed the liar's link to the receiver.
    await until(
      () => liar.report.closed.some((c) => c.peerId === receiver.peerId),
      `the corrupt peer to see its link to the receiver closed (${JSON.stringify(liar.report)})`,
      LINK_CLOSE_TIMEOUT_MS,
    )
  })
})
