/**
 * bench/flash: a flash crowd. One origin seeder shares a file; N downloaders, each its own Chromium
 * process, fetch it at the same moment. A swarm spreads the load: the origin should upload each chunk
 * about once and the downloaders the rest to one another (issue 16: origin ≤ 1.2 × the file for N = 4,
 * ≤ 1.3 × for N = 2, every downloader taking chunks from its peers; endgame duplicates < 2%).
 *
 *   node --import tsx bench/flash/main.ts [--size-mib 32] [--crowds 2,4] [--runs 3] [--wait-load 1.5]
 *                                         [--json out.json]
 *
 * The page is bench/transfer's (the real SwarmEngine over IndexedDB, built with the project's Vite config),
 * served by the real server. Upload figures are data-channel bytes from each page's RTCPeerConnections
 * (`getStats`, bench/transfer/page/channel-bytes.ts); duplicates are chunk bytes received beyond the file,
 * counted frame by frame in each downloader. Crowd sizes alternate run by run. As root it runs in a network
 * namespace with only lo.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { commonBenchOptions, startBench } from '../support/bench-flags.js'
import { flushWrites, requireChromium, runBench, sleep, waitForQuiet } from '../support/bench-run.js'
import { formatLoad, formatMiB, formatMs, formatRatio, median, verdict } from '../support/figures.js'
import { writeInputFile } from '../support/input-file.js'
import { isolation } from '../support/netns.js'
import { type BenchBrowser, CHROMIUM_PATH, launchBrowser } from '../transfer/browsers.js'
import { buildPage } from '../transfer/build-page.js'
import type { DownloadResult } from '../transfer/page/api.js'
import { servePage } from '../transfer/serve-page.js'

/** The whole bench stops by itself within this, whatever hangs. */
const DEADLINE_MS = 9.5 * 60_000
/** Pause after each run, so that deletions and writeback settle outside the timed runs. */
const SETTLE_MS = 1_000
/** Issue 16's targets: origin upload / file size, by crowd size. */
const ORIGIN_TARGET: Record<number, number> = { 2: 1.3, 4: 1.2 }
/** Duplicate chunk bytes, as a share of the bytes the crowd needed. */
const DUPLICATE_TARGET = 0.02

const { values: flags } = parseArgs({
  options: {
    ...commonBenchOptions({ sizeMiB: 32, runs: 3 }),
    crowds: { type: 'string', default: '2,4' },
  },
})

const crowds = flags.crowds.split(',').map(Number)
const { startedAt, sizeBytes, runs } = startBench('flash', import.meta.url, flags, {
  extraValid: crowds.every((n) => Number.isInteger(n) && n >= 1),
  usage: '--size-mib and --runs take positive numbers, --crowds a list such as 2,4',
})
requireChromium('flash', CHROMIUM_PATH)

const tempDir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-flash-'))
const browsers: BenchBrowser[] = []
let server: { close(): Promise<void> } | undefined

interface DownloaderFigures {
  ms: number
  firstChunkMs: number
  /** Data-channel bytes this downloader sent during the run. */
  uploaded: number
  chunkBytesReceived: number
  chunksFromOrigin: number
  chunksFromPeers: number
}

interface FlashRun {
  crowd: number
  /** Data-channel bytes the origin sent during the run. */
  originUploaded: number
  downloaders: DownloaderFigures[]
  load: number[]
}

const sent = (browser: BenchBrowser) =>
  browser.page.evaluate(() => window.transferBench.dataChannelBytes()).then((bytes) => bytes.sent)

async function flashRun(origin: BenchBrowser, originId: string, crowd: BenchBrowser[], digest: string) {
  await Promise.all(crowd.map((d) => d.page.evaluate(() => window.transferBench.openEngine())))
  const before = await Promise.all([origin, ...crowd].map(sent))
  // All click at once: each page starts its fetch as soon as the driver's message reaches it.
  const results: DownloadResult[] = await Promise.all(
    crowd.map((d) => d.page.evaluate((wanted) => window.transferBench.download(wanted), digest)),
  )
  const after = await Promise.all([origin, ...crowd].map(sent))
  await Promise.all(crowd.map((d) => d.page.evaluate(() => window.transferBench.closeEngine())))
  for (const result of results) {
    if (result.bytes !== sizeBytes) throw new Error(`downloaded ${result.bytes} bytes of ${sizeBytes}`)
  }
  const downloaders = results.map((result, i): DownloaderFigures => {
    const fromOrigin = result.chunksFrom[originId] ?? 0
    const all = Object.values(result.chunksFrom).reduce((a, b) => a + b, 0)
    return {
      ms: result.ms,
      firstChunkMs: result.firstChunkMs,
      uploaded: after[i + 1]! - before[i + 1]!,
      chunkBytesReceived: result.chunkBytesReceived,
      chunksFromOrigin: fromOrigin,
      chunksFromPeers: all - fromOrigin,
    }
  })
  return { crowd: crowd.length, originUploaded: after[0]! - before[0]!, downloaders, load: loadavg() }
}

const originRatio = (run: FlashRun) => run.originUploaded / sizeBytes
const peersRatio = (run: FlashRun) => run.downloaders.reduce((sum, d) => sum + d.uploaded, 0) / sizeBytes
const duplicateShare = (run: FlashRun) =>
  run.downloaders.reduce((sum, d) => sum + d.chunkBytesReceived - sizeBytes, 0) / (sizeBytes * run.crowd)
const slowestMs = (run: FlashRun) => Math.max(...run.downloaders.map((d) => d.ms))
const everyoneFromPeers = (run: FlashRun) => run.downloaders.every((d) => d.chunksFromPeers > 0)

function describe(run: FlashRun): string {
  const fromPeers = run.downloaders.map((d) => d.chunksFromPeers).join('/')
  return (
    `N = ${run.crowd}: origin ${formatRatio(originRatio(run))}, downloaders ${formatRatio(peersRatio(run))}, ` +
    `duplicates ${(duplicateShare(run) * 100).toFixed(1)}%, slowest ${formatMs(slowestMs(run))}, ` +
    `chunks from peers ${fromPeers}; load ${formatLoad(run.load)}`
  )
}

function report(all: FlashRun[], loadAtStart: number[], version: string): void {
  console.log(`\nbench/flash: ${formatMiB(sizeBytes)}, Chromium ${version}, Node ${process.version}`)
  console.log(`load average at start ${formatLoad(loadAtStart)}, at end ${formatLoad(loadavg())}`)
  console.log(`network isolation: ${isolation()}`)
  for (const crowd of crowds) {
    const mine = all.filter((run) => run.crowd === crowd)
    const origin = median(mine.map(originRatio))
    const target = ORIGIN_TARGET[crowd]
    const dup = median(mine.map(duplicateShare))
    const list = (values: number[], f: (v: number) => string) => values.map(f).join(', ')
    console.log(`\nN = ${crowd} (${mine.length} runs), medians (each run):`)
    console.log(
      `  origin upload / file: ${formatRatio(origin)} (${list(mine.map(originRatio), formatRatio)})` +
        (target === undefined ? '' : `  target ≤ ${target}: ${verdict(origin, (v) => v <= target)}`),
    )
    console.log(
      `  downloaders' upload / file: ${formatRatio(median(mine.map(peersRatio)))} (${list(mine.map(peersRatio), formatRatio)})`,
    )
    console.log(
      `  duplicate chunk bytes / bytes needed: ${(dup * 100).toFixed(1)}% (${list(mine.map(duplicateShare), (v) => `${(v * 100).toFixed(1)}%`)})` +
        `  target < ${DUPLICATE_TARGET * 100}%: ${verdict(dup, (v) => v < DUPLICATE_TARGET)}`,
    )
    console.log(
      `  slowest downloader, fetch → complete: ${formatMs(median(mine.map(slowestMs)))} (${list(mine.map(slowestMs), formatMs)})`,
    )
    console.log(
      `  first chunk, median of the crowd: ${formatMs(median(mine.map((r) => median(r.downloaders.map((d) => d.firstChunkMs)))))}`,
    )
    console.log(
      `  every downloader took chunks from its peers: ${mine.filter(everyoneFromPeers).length} of ${mine.length} runs`,
    )
  }
}

async function main(): Promise<void> {
  if (flags['wait-load'] !== undefined) await waitForQuiet(Number(flags['wait-load']), 0)
  const loadAtStart = loadavg()
  console.log(`bench/flash: ${formatMiB(sizeBytes)}, crowds of ${crowds.join(' and ')}, ${runs} runs each`)
  console.log(`load average at start (1, 5, 15 min): ${formatLoad(loadAtStart)}`)
  const input = await writeInputFile(join(tempDir, 'input.bin'), sizeBytes)
  const pageDir = join(tempDir, 'page')
  await buildPage(pageDir)
  const page = await servePage(pageDir)
  server = page
  const { url } = page
  const origin = await launchBrowser('origin', url, join(tempDir, 'origin-profile'))
  browsers.push(origin)
  const crowd: BenchBrowser[] = []
  for (let i = 1; i <= Math.max(...crowds); i++) {
    const downloader = await launchBrowser(`downloader-${i}`, url, join(tempDir, `downloader-${i}-profile`))
    browsers.push(downloader)
    crowd.push(downloader)
  }
  const originId = await origin.page.evaluate(() => window.transferBench.openEngine())
  await origin.page.setInputFiles('#input', input.path)
  const ingest = await origin.page.evaluate(() => window.transferBench.ingestAndShare())
  if (ingest.digest !== input.digest)
    throw new Error(`ingest made ${ingest.digest}, expected ${input.digest}`)

  const all: FlashRun[] = []
  for (let run = 1; run <= runs; run++) {
    for (const size of crowds) {
      flushWrites()
      await sleep(SETTLE_MS)
      const result = await flashRun(origin, originId, crowd.slice(0, size), input.digest)
      all.push(result)
      console.log(`run ${run}, ${describe(result)}`)
    }
  }
  report(all, loadAtStart, origin.version)
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ sizeBytes, runs: all }, null, 2)}\n`)
}

await runBench({
  name: 'flash',
  startedAt,
  tempDir,
  deadlineMs: DEADLINE_MS,
  closeBrowsers: () => Promise.all(browsers.map((browser) => browser.close().catch(() => {}))),
  closeServer: () => server?.close(),
  main,
})
