/**
 * The ring in the product, engine level on loopback (issue 13): twelve engines (in-memory links that
 * negotiate through real signals, the test ring's periods), one file shared; lookups and link opens
 * timed with the tracker up (the baseline, same run) and then with it closed (answered by the ring).
 *
 *   npm run bench -- ring-product [--lookups 200] [--links 10]
 */
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { bytesOf, openRingPeer, ringIsIdeal, shareBytes } from '../../test/support/ring-engines.js'
import { startTestServer } from '../../test/support/server.js'
import { until } from '../../test/support/until.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { formatLoad } from '../support/figures.js'

const { values } = parseArgs({ options: { lookups: { type: 'string' }, links: { type: 'string' } } })
const LOOKUPS = Number(values.lookups ?? 200)
const LINKS = Number(values.links ?? 10)

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
  const unlinkAll = async () => {
    for (const p of others) p.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  for (let i = 0; i < LINKS; i++) {
    const p = others[(i * 5) % others.length]!
    p.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = performance.now()
    await p.engine.openSession(aId)
    trackerLinks.push(performance.now() - started)
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
  await unlinkAll()
  for (let i = 0; i < LINKS; i++) {
    const p = others[(i * 5) % others.length]!
    p.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const started = performance.now()
    try {
      await p.engine.openSession(aId)
      ringLinks.push(performance.now() - started)
    } catch {
      linkFailures++
    }
  }
  console.log(`lookup, tracker (baseline):      ${fmt(tracker)}`)
  console.log(`lookup, ring (tracker closed):   ${fmt(ring)}; ${failed} of ${LOOKUPS} found nothing`)
  console.log(`link open, tracker-signalled:    ${fmt(trackerLinks)}`)
  console.log(`link open, ring-signalled:       ${fmt(ringLinks)}; ${linkFailures} of ${LINKS} failed`)
  console.log(`load after: ${formatLoad(loadavg())}`)
  for (const p of peers) p.engine.destroy()
  process.exit(0)
}

await main()
