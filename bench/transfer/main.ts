/**
 * bench/transfer: one seeder → one downloader, two Chromium processes on loopback, against a raw
 * RTCDataChannel between the same two browsers in the same run (SPEC §7: goodput ≥ 0.9 × raw; first
 * verified chunk < 300 ms; page heap < 256 MiB).
 *
 *   node --import tsx bench/transfer/main.ts [--size-mib 256] [--runs 3] [--message-kib 256]
 *                                            [--wait-load 1.0] [--profile] [--json out.json]
 *                                            [--in-flight N]  (experiment: IN_FLIGHT_PER_SOURCE in this build)
 *
 * The page is served by the real Swarmdrop server (startServer, webRoot = the bench page built with the
 * project's Vite config). The seeder ingests a file of pseudo-random bytes (setInputFiles) with the real
 * Ingester and shares it with the real SwarmEngine; the downloader opens a fresh SwarmEngine each run
 * and calls engine.fetch(digest). Raw and Swarmdrop runs alternate (raw, Swarmdrop, raw, …) so that load
 * from elsewhere falls on both alike; medians are reported. `--profile` adds one more download with CPU
 * profiles of both pages. As root it runs in a network namespace with only lo.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { commonBenchOptions, startBench } from '../support/bench-flags.js'
import { flushWrites, requireChromium, runBench, sleep, waitForQuiet } from '../support/bench-run.js'
import { formatLoad, formatMbps, formatMiB, formatMs, mbPerSecond } from '../support/figures.js'
import { HeapProbe } from '../support/heap-probe.js'
import { writeInputFile } from '../support/input-file.js'
import { isolation } from '../support/netns.js'
import { type BenchBrowser, CHROMIUM_PATH, launchBrowser } from './browsers.js'
import { buildPage } from './build-page.js'
import { countCpu } from './process-cpu.js'
import { selfTimes, startProfile, stopProfile } from './profile.js'
import {
  type Figures,
  type ProfileSummary,
  type RawRun,
  type RunCpu,
  rawMbps,
  report,
  type SwarmRun,
  swarmMbps,
} from './report.js'
import { servePage } from './serve-page.js'

const KiB = 1024
const MiB = 1024 * KiB
/** The raw sender waits while more than this is queued: SPEC §8's ~1 MiB, as web/peer's links use. */
const RAW_HIGH_WATER_BYTES = 1 * MiB
/** The whole bench stops by itself within this, whatever hangs (the brief: < 10 min). */
const DEADLINE_MS = 9.5 * 60_000
/**
 * Pause after each run: the downloader's deletion of its IndexedDB chunks and the kernel's writeback
 * settle here instead of during the next timed run.
 */
const SETTLE_MS = 1_000
const PROFILES_DIR = fileURLToPath(new URL('../results/profiles/', import.meta.url))

const { values: flags } = parseArgs({
  options: {
    ...commonBenchOptions({ sizeMiB: 256, runs: 3 }),
    // Chromium's maxMessageSize (SPEC §8), the frame size Swarmdrop's links use too.
    'message-kib': { type: 'string', default: '256' },
    profile: { type: 'boolean', default: false },
    // An experiment, not a figure for the targets: another IN_FLIGHT_PER_SOURCE in this page's build only.
    'in-flight': { type: 'string' },
  },
})

const messageBytes = Number(flags['message-kib']) * KiB
const { startedAt, sizeBytes, runs } = startBench('transfer', import.meta.url, flags, {
  extraValid: messageBytes > 0,
  usage: '--size-mib, --runs and --message-kib take positive numbers',
})
requireChromium('transfer', CHROMIUM_PATH)

const tempDir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-transfer-'))
const browsers: BenchBrowser[] = []
let server: { close(): Promise<void> } | undefined

function closeBrowsers(): Promise<unknown> {
  return Promise.all(browsers.map((browser) => browser.close().catch(() => {})))
}

async function rawRun(seeder: BenchBrowser, downloader: BenchBrowser, to: string): Promise<RawRun> {
  await downloader.page.evaluate((bytes) => window.transferBench.armRawReceiver(bytes), sizeBytes)
  const cpu = countRunCpu(seeder, downloader)
  const [receive, send] = await Promise.all([
    downloader.page.evaluate(() => window.transferBench.receiveRaw()),
    seeder.page.evaluate((options) => window.transferBench.sendRaw(options), {
      to,
      bytes: sizeBytes,
      messageBytes,
      highWaterBytes: RAW_HIGH_WATER_BYTES,
    }),
  ])
  const cpuUsed = cpu()
  await Promise.all([
    seeder.page.evaluate(() => window.transferBench.closeRaw()),
    downloader.page.evaluate(() => window.transferBench.closeRaw()),
  ])
  return { receive, send, cpu: cpuUsed, load: loadavg() }
}

/** Counts both browsers' CPU from now; the returned function gives it, with the wall time between. */
function countRunCpu(seeder: BenchBrowser, downloader: BenchBrowser): () => RunCpu {
  const started = performance.now()
  const seederCpu = countCpu(seeder.marker)
  const downloaderCpu = countCpu(downloader.marker)
  return () => ({ seeder: seederCpu(), downloader: downloaderCpu(), wallMs: performance.now() - started })
}

interface Probes {
  downloader: HeapProbe
  seeder: HeapProbe
}

async function swarmRun(
  seeder: BenchBrowser,
  downloader: BenchBrowser,
  digest: string,
  probes: Probes,
): Promise<SwarmRun> {
  await downloader.page.evaluate(() => window.transferBench.openEngine())
  await probes.downloader.collectPageGarbage()
  await seeder.page.evaluate(() => window.transferBench.takeSeederSteps())
  probes.downloader.start()
  probes.seeder.start()
  const cpu = countRunCpu(seeder, downloader)
  const download = await downloader.page.evaluate((wanted) => window.transferBench.download(wanted), digest)
  const cpuUsed = cpu()
  const heaps = probes.downloader.stop()
  const seederHeaps = probes.seeder.stop()
  const seederSteps = await seeder.page.evaluate(() => window.transferBench.takeSeederSteps())
  await downloader.page.evaluate(() => window.transferBench.closeEngine())
  if (download.bytes !== sizeBytes) throw new Error(`downloaded ${download.bytes} bytes of ${sizeBytes}`)
  return { download, heaps, seederHeaps, seeder: seederSteps, cpu: cpuUsed, load: loadavg() }
}

async function profiledRun(
  seeder: BenchBrowser,
  downloader: BenchBrowser,
  digest: string,
): Promise<ProfileSummary> {
  const dir = join(PROFILES_DIR, `transfer-${new Date().toISOString().replaceAll(':', '-')}`)
  mkdirSync(dir, { recursive: true })
  await downloader.page.evaluate(() => window.transferBench.openEngine())
  await Promise.all([startProfile(downloader.cdp), startProfile(seeder.cdp)])
  const download = await downloader.page.evaluate((wanted) => window.transferBench.download(wanted), digest)
  const [downloaderProfile, seederProfile] = await Promise.all([
    stopProfile(downloader.cdp, join(dir, 'downloader.cpuprofile')),
    stopProfile(seeder.cdp, join(dir, 'seeder.cpuprofile')),
  ])
  await downloader.page.evaluate(() => window.transferBench.closeEngine())
  return { dir, download, downloader: selfTimes(downloaderProfile), seeder: selfTimes(seederProfile) }
}

async function main(): Promise<void> {
  // Logs at every poll: the falling load shows whether waiting on is worth it.
  if (flags['wait-load'] !== undefined) await waitForQuiet(Number(flags['wait-load']), 0)
  const loadAtStart = loadavg()
  console.log(`bench/transfer: ${formatMiB(sizeBytes)}, ${runs} runs each of raw and Swarmdrop`)
  console.log(`load average at start (1, 5, 15 min): ${formatLoad(loadAtStart)}`)
  console.log(`network isolation: ${isolation()}`)

  const input = await writeInputFile(join(tempDir, 'input.bin'), sizeBytes)
  const pageDir = join(tempDir, 'page')
  const inFlight = flags['in-flight'] === undefined ? undefined : Number(flags['in-flight'])
  if (inFlight !== undefined) console.log(`experiment: IN_FLIGHT_PER_SOURCE = ${inFlight} in this build`)
  await buildPage(pageDir, inFlight === undefined ? {} : { inFlightPerSource: inFlight })
  const page = await servePage(pageDir)
  server = page
  const { url } = page

  const seeder = await launchBrowser('seeder', url, join(tempDir, 'seeder-profile'))
  browsers.push(seeder)
  const downloader = await launchBrowser('downloader', url, join(tempDir, 'downloader-profile'))
  browsers.push(downloader)
  const { version } = seeder
  console.log(`Chromium ${version}, Node ${process.version}`)

  await seeder.page.evaluate(() => window.transferBench.connectRaw())
  const downloaderRawId = await downloader.page.evaluate(() => window.transferBench.connectRaw())

  await seeder.page.evaluate(() => window.transferBench.openEngine())
  await seeder.page.setInputFiles('#input', input.path)
  const ingest = await seeder.page.evaluate(() => window.transferBench.ingestAndShare())
  if (ingest.digest !== input.digest)
    throw new Error(`ingest made ${ingest.digest}, expected ${input.digest}`)
  console.log(
    `seeder: ingested and sharing in ${formatMs(ingest.doneMs)} (ready to seed at ${formatMs(ingest.readyMs)})`,
  )

  // Any worker of either page: the downloader runs none today, the seeder its idle-by-now ingest worker.
  const probes: Probes = {
    downloader: await HeapProbe.attach(downloader.cdp, ''),
    seeder: await HeapProbe.attach(seeder.cdp, ''),
  }
  const raw: RawRun[] = []
  const swarm: SwarmRun[] = []
  for (let run = 1; run <= runs; run++) {
    flushWrites()
    await sleep(SETTLE_MS)
    raw.push(await rawRun(seeder, downloader, downloaderRawId))
    flushWrites()
    await sleep(SETTLE_MS)
    swarm.push(await swarmRun(seeder, downloader, input.digest, probes))
    const last = swarm.at(-1)!
    console.log(
      `run ${run}: raw ${formatMbps(rawMbps(raw.at(-1)!))}, Swarmdrop ${formatMbps(swarmMbps(last))} ` +
        `(first chunk ${formatMs(last.download.firstChunkMs)}, heap peak ${formatMiB(last.download.heapPeakBytes)}); ` +
        `load ${formatLoad(last.load)}`,
    )
  }

  let profile: ProfileSummary | undefined
  if (flags.profile) {
    flushWrites()
    await sleep(SETTLE_MS)
    profile = await profiledRun(seeder, downloader, input.digest)
    console.log(
      `profiled run: ${formatMbps(mbPerSecond(profile.download.bytes, profile.download.ms))}, profiles in ${profile.dir}`,
    )
  }

  const figures: Figures = {
    version,
    node: process.version,
    isolation: isolation(),
    sizeBytes,
    chunkSize: input.chunkSize,
    messageBytes,
    highWaterBytes: RAW_HIGH_WATER_BYTES,
    ingest,
    raw,
    swarm,
    loadAtStart,
    loadAtEnd: loadavg(),
    ...(profile ? { profile } : {}),
  }
  report(figures)
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(figures, null, 2)}\n`)
}

await runBench({
  name: 'transfer',
  startedAt,
  tempDir,
  deadlineMs: DEADLINE_MS,
  closeBrowsers,
  closeServer: () => server?.close(),
  main,
})
