/**
 * The ring in the product, engine level on loopback (issue 13): twelve engines (in-memory links that
 * negotiate through real signals, the test ring's periods), one file shared; lookups and link opens
 * timed with the tracker up (the baseline, same run) and then with it closed (answered by the ring).
 *
 * Then, with the tracker still closed, fresh peers that know only a `--listen` peer's URL rejoin through it
 * (issue 13: "a new tab rejoins in ≤ 5 s"); and, first, with the tracker up, what the ring costs a download:
 * a fresh downloader with the ring on and one with it off fetch the same file from the holder, alternating,
 * in the same run (engine level, in-memory links in one process: CPU share, not WebRTC).
 *
 *   npm run bench -- ring-product [--lookups 200] [--links 10] [--rejoins 5] [--transfers 3] [--mib 16]
 */
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { ListenServer } from '../../cli/listen-server.js'
import { bytesOf, openRingPeer, ringIsIdeal, shareBytes } from '../../test/support/ring-engines.js'
import { startTestServer } from '../../test/support/server.js'
import { until } from '../../test/support/until.js'
import { SwarmEngine } from '../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { MemoryContactStore } from '../../web/peer/ring/contacts.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { formatLoad } from '../support/figures.js'

const { values } = parseArgs({
  options: {
    lookups: { type: 'string' },
    links: { type: 'string' },
    rejoins: { type: 'string' },
    transfers: { type: 'string' },
    mib: { type: 'string' },
  },
})
const LOOKUPS = Number(values.lookups ?? 200)
const LINKS = Number(values.links ?? 10)
const REJOINS = Number(values.rejoins ?? 5)
const TRANSFERS = Number(values.transfers ?? 3)
const TRANSFER_MIB = Number(values.mib ?? 16)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const fmt = (values: number[]) => {
  if (values.length === 0) return 'none measured'
  const sorted = [...values].sort((a, b) => a - b)
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms (n = ${values.length})`
}

async function main(): Promise<void> {
  console.log(`load before: ${formatLoad(loadavg())} on ${cpus().length} cores`)
  const server = await startTestServer()
  const network = new MemoryLinkNetwork()
  const a = await openRingPeer(server.url, network)
  await until(() => a.engine.tracker.status.state === 'online')
  const record = await shareBytes(a, bytesOf(1 << 20, 1), 'bench ring file.bin')
  await until(() => server.tracker.stats().files === 1)
  const others = await Promise.all(Array.from({ length: 11 }, () => openRingPeer(server.url, network)))
  const peers = [a, ...others]
  await until(() => ringIsIdeal(peers.map((p) => p.engine)), 'ring', 60_000)
  await until(async () => (await others[0]!.engine.search('bench')).length > 0, 'records', 30_000, 1_000)
  await new Promise((resolve) => setTimeout(resolve, 3_000)) // anti-entropy settles (TEST_RING syncMs)

  // Baseline: the tracker's answer to the same question, same run.
  const tracker: number[] = []
  for (let i = 0; i < LOOKUPS; i++) {
    const asker = others[i % others.length]!.engine
    const started = performance.now()
    await asker.tracker.peers(record.digest)
    tracker.push(performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, 25)) // within the tracker's message rate
  }
  const trackerLinks: number[] = []
  const aId = a.engine.identity.peerId
  for (let i = 0; i < LINKS; i++) {
    const p = others[(i * 5) % others.length]!
    p.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = performance.now()
    await p.engine.openSession(aId)
    trackerLinks.push(performance.now() - started)
  }

  // The ring's cost to a download, tracker up: the same file to a fresh downloader with the ring on and
  // one with it off, alternating (the first arm flips each round), each run's MB/s.
  const big = await shareBytes(a, bytesOf(TRANSFER_MIB << 20, 9), 'bench transfer file.bin')
  await until(() => server.tracker.stats().files === 2)
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] }
  for (let round = 0; round < TRANSFERS; round++) {
    for (const arm of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const engine =
        arm === 'on'
          ? (await openRingPeer(server.url, network)).engine
          : await SwarmEngine.open({
              trackerUrl: server.url,
              createSocket: (url) => new WebSocket(url),
              chunks: new MemoryChunkStore(),
              files: new MemoryFileStore(),
              createLink: network.createLink,
              ring: false,
            })
      await until(() => engine.tracker.status.state === 'online')
      const started = performance.now()
      const download = await engine.fetch(big.digest)
      await download.once('complete')
      rates[arm].push(TRANSFER_MIB / ((performance.now() - started) / 1000))
      engine.destroy()
    }
  }

  await server.close()
  await until(() => peers.every((p) => p.engine.tracker.status.state !== 'online'), 'offline')
  const ring: number[] = []
  let failed = 0
  for (let i = 0; i < LOOKUPS; i++) {
    const asker = others[i % others.length]!.engine
    const started = performance.now()
    const hits = i % 2 === 0 ? await asker.findProviders(record.digest) : await asker.search('bench ring')
    ring.push(performance.now() - started)
    if (hits.length === 0) failed++
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const ringLinks: number[] = []
  let linkFailures = 0
  const linkErrors = new Set<string>()
  // Dialled from peers that A's ring does not link (not its predecessor, successors or fingers), one at a
  // time, each first cut from A: their offer must travel the ring to A's neighbours, which hand it over.
  // (The first version of this bench cut every peer's link to A at once: then nobody could hand A a
  // signal, A itself could route nothing, and every dial failed — a partition, not a measure.)
  const ringOfA = () => {
    const status = a.engine.ringStatus()
    return new Set([status.predecessor, ...status.successors, ...status.fingers].map((peer) => peer?.peerId))
  }
  const dialers = others.filter((p) => !ringOfA().has(p.engine.identity.peerId))
  for (let i = 0; i < LINKS && dialers.length > 0; i++) {
    const p = dialers[i % dialers.length]!
    p.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = performance.now()
    try {
      await p.engine.openSession(aId)
      ringLinks.push(performance.now() - started)
    } catch (error) {
      linkFailures++
      linkErrors.add(String(error))
    }
  }
  // Rejoin with the tracker down: a fresh peer that knows only a listening peer's URL (share --listen).
  const listener = await ListenServer.start({
    port: 0,
    host: '127.0.0.1',
    identity: others[1]!.engine.identity,
    iceServers: () => [],
  })
  const offListener = others[1]!.engine.addEntryPoint(listener)
  const rejoined: number[] = []
  const rejoinLookups: number[] = []
  let rejoinFailures = 0
  for (let i = 0; i < REJOINS; i++) {
    const contacts = new MemoryContactStore()
    await contacts.save({ contacts: [], entryUrls: [`ws://127.0.0.1:${listener.port}`], iceServers: [] })
    const started = performance.now()
    const fresh = await openRingPeer(server.url, network, { contacts })
    try {
      await until(
        () => fresh.engine.ringStatus().state === 'member' && fresh.engine.ringStatus().successors.length > 0,
        'rejoined',
        30_000,
      )
      rejoined.push(performance.now() - started)
      await until(
        async () => (await fresh.engine.findProviders(record.digest)).length > 0,
        'found',
        30_000,
        100,
      )
      rejoinLookups.push(performance.now() - started)
    } catch {
      rejoinFailures++
    }
    fresh.engine.destroy()
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // its neighbours notice it left
  }
  offListener()
  listener.destroy()

  const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / Math.max(1, xs.length)
  console.log(`lookup, tracker (baseline):      ${fmt(tracker)}`)
  console.log(`lookup, ring (tracker closed):   ${fmt(ring)}; ${failed} of ${LOOKUPS} found nothing`)
  console.log(`link open, tracker-signalled:    ${fmt(trackerLinks)}`)
  console.log(
    `link open, ring-signalled:       ${fmt(ringLinks)}; ${linkFailures} of ${LINKS} failed${linkErrors.size > 0 ? ` (${[...linkErrors].join('; ')})` : ''}`,
  )
  console.log(
    `rejoin via --listen, tracker closed: member ${fmt(rejoined)}; first lookup answered ${fmt(rejoinLookups)}; ${rejoinFailures} of ${REJOINS} failed`,
  )
  console.log(
    `download ${TRANSFER_MIB} MiB, tracker up: ring on ${rates.on.map((r) => r.toFixed(1)).join(', ')} MB/s, ring off ${rates.off.map((r) => r.toFixed(1)).join(', ')} MB/s; on/off ${(mean(rates.on) / mean(rates.off)).toFixed(3)}`,
  )
  console.log(`load after: ${formatLoad(loadavg())}`)
  for (const p of peers) p.engine.destroy()
  process.exit(0)
}

await main()
