/**
 * bench/ingest: dropping a file until it is seeding, against hashing the same bytes alone, in the same
 * headless Chromium and the same run (SPEC §7: ≤ 1.25×), with the heaps meanwhile (< 256 MiB) and
 * WebCrypto's and hash-wasm's chunk hashing speeds.
 *
 *   node --import tsx bench/ingest/main.ts [--size-mib 1024] [--runs 3] [--hash-mib 256]
 *                                          [--breakdown-mib 256] [--wait-load 1.0] [--json out.json]
 *
 * The page is the real `Ingester` (web/storage/ingester.ts) and its module worker, bundled by Vite. The
 * input is a file of pseudo-random bytes written to a temp dir and handed over with `setInputFiles`, so
 * the page holds a disk-backed File as after a drop. Every measurement runs `--runs` times, interleaved
 * (hash-only, ingest, hash-only, …) so that load from elsewhere falls on both alike; medians are reported.
 * IndexedDB is emptied before each ingest. As root it runs in a network namespace with only lo.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type BrowserContext, chromium } from 'playwright-core'
import { CHROMIUM_ARGS as BASE_CHROMIUM_ARGS, CHROMIUM_PATH } from '../../test/support/chromium.mjs'
import { commonBenchOptions, startBench } from '../support/bench-flags.js'
import { flushWrites, requireChromium, runBench, waitForQuiet } from '../support/bench-run.js'
import { formatLoad, formatMiB, formatMs } from '../support/figures.js'
import { HeapProbe } from '../support/heap-probe.js'
import { writeInputFile } from '../support/input-file.js'
import { isolation } from '../support/netns.js'
import { buildPage } from './build-page.js'
import type { HashOnlyResult, Pass2Stages } from './page/api.js'
import { RssSampler } from './process-memory.js'
import { type Figures, type IngestRun, report } from './report.js'
import { serveDirectory } from './serve.js'

const MiB = 1024 * 1024
/** The shared flags, and precise (not bucketed) `performance.memory`. */
const CHROMIUM_ARGS = [...BASE_CHROMIUM_ARGS, '--enable-precise-memory-info']

/** The whole bench stops by itself within this, whatever hangs: a default run at 1 GiB takes ~4 min. */
const DEADLINE_MS = 9.5 * 60_000
/** While `--wait-load` waits, it says so only this often: a default run's output stays short. */
const LOAD_LOG_MS = 30_000

const { values: flags } = parseArgs({
  options: {
    ...commonBenchOptions({ sizeMiB: 1024, runs: 3 }),
    'hash-mib': { type: 'string', default: '256' },
    // 256 chunks are enough for per-chunk costs to average out, and few enough to take seconds.
    'breakdown-mib': { type: 'string', default: '256' },
  },
})

const hashMiB = Number(flags['hash-mib'])
const breakdownMiB = Number(flags['breakdown-mib'])
const { startedAt, sizeBytes, runs } = startBench('ingest', import.meta.url, flags, {
  extraValid: hashMiB >= 1 && breakdownMiB >= 0,
  usage: '--size-mib, --runs, --hash-mib and --breakdown-mib take positive numbers',
})
requireChromium('ingest', CHROMIUM_PATH)

const tempDir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-ingest-'))
let context: BrowserContext | undefined
let server: { close(): Promise<void> } | undefined

async function main(): Promise<void> {
  if (flags['wait-load'] !== undefined) await waitForQuiet(Number(flags['wait-load']), LOAD_LOG_MS)
  const loadAtStart = loadavg()
  console.log(`bench/ingest: ${formatMiB(sizeBytes)} file, ${runs} runs, hashing speeds over ${hashMiB} MiB`)
  console.log(`load average at start (1, 5, 15 min): ${formatLoad(loadAtStart)}`)
  console.log(`network isolation: ${isolation()}`)

  const input = await writeInputFile(join(tempDir, 'input.bin'), sizeBytes)
  const pageDir = join(tempDir, 'page')
  await buildPage(pageDir)
  const served = await serveDirectory(pageDir)
  server = served

  const userDataDir = join(tempDir, 'profile')
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  const version = context.browser()?.version() ?? (await chromiumVersion(context))
  console.log(`Chromium ${version}, Node ${process.version}`)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => console.error('page error:', error.message))
  await page.goto(served.url)
  await page.setInputFiles('#input', input.path)
  const probe = await HeapProbe.attach(await context.newCDPSession(page), 'ingest-worker')
  const rssSampler = new RssSampler(userDataDir)

  const hashOnlyWorker: HashOnlyResult[] = []
  const hashOnlyPage: HashOnlyResult[] = []
  const ingests: IngestRun[] = []
  for (let run = 1; run <= runs; run++) {
    flushWrites()
    hashOnlyWorker.push(await page.evaluate(() => window.bench.hashOnlyInWorker()))
    hashOnlyPage.push(await page.evaluate(() => window.bench.hashOnlyInPage()))
    await page.evaluate(() => window.bench.clearStorage())
    await page.evaluate(() => window.bench.prepareIngester())
    await probe.collectPageGarbage()
    flushWrites()
    probe.start()
    rssSampler.start()
    const result = await page.evaluate(() => window.bench.ingestPicked())
    const heaps = probe.stop()
    const rss = rssSampler.stop()
    const afterCollection = await probe.workerAfterCollection()
    const ingest: IngestRun = { ...result, heaps, rss, workerAfterCollection: afterCollection }
    ingests.push(ingest)
    if (ingest.digest !== input.digest || ingest.plainSha256 !== input.plainSha256 || ingest.duplicate) {
      throw new Error(`run ${run}: ingest produced ${ingest.digest} / ${ingest.plainSha256}, expected
        ${input.digest} / ${input.plainSha256}`)
    }
    console.log(
      `run ${run}: hash-only ${formatMs(hashOnlyWorker.at(-1)!.ms)} (worker), ` +
        `${formatMs(hashOnlyPage.at(-1)!.ms)} (page); ingest ready ${formatMs(ingest.readyMs)}, ` +
        `done ${formatMs(ingest.doneMs)}; load ${formatLoad(loadavg())}`,
    )
  }
  await page.evaluate(() => window.bench.clearStorage())

  const breakdowns: Pass2Stages[][] = []
  for (let run = 1; run <= runs && breakdownMiB > 0; run++) {
    flushWrites()
    breakdowns.push(await page.evaluate((mib) => window.bench.pass2Breakdown(mib), breakdownMiB))
  }

  const speeds = await page.evaluate(([mib, repeats]) => window.bench.hashSpeeds(mib, repeats), [
    hashMiB,
    runs,
  ] as const)
  const loadAtEnd = loadavg()
  const figures: Figures = {
    version,
    input,
    hashOnlyWorker,
    hashOnlyPage,
    ingests,
    breakdownBytes: Math.min(breakdownMiB * MiB, input.bytes),
    breakdowns,
    hashMiB,
    speeds,
    loadAtEnd,
  }
  report(figures)
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ ...figures, loadAtStart }, null, 2)}\n`)
}

async function chromiumVersion(browserContext: BrowserContext): Promise<string> {
  const session = await browserContext.newCDPSession(browserContext.pages()[0]!)
  const { product } = await session.send('Browser.getVersion')
  return product
}

await runBench({
  name: 'ingest',
  startedAt,
  tempDir,
  deadlineMs: DEADLINE_MS,
  closeBrowsers: () => context?.close().catch(() => {}),
  closeServer: () => server?.close(),
  main,
})
