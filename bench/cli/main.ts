/**
 * bench/cli: the headless peer against its baselines, each measured in the same run (SPEC §7):
 *
 * - goodput: one file from a CLI to a CLI, and from a CLI to Chromium, against a raw @roamhq/wrtc
 *   RTCDataChannel between the same two processes (≥ 0.9 × raw). The CLI peers are bench-peer.ts
 *   processes running the real HeadlessPeer; Chromium runs bench/transfer's page (the engine over
 *   IndexedDB). Arms alternate (raw, Swarmdrop, raw, …) so load from elsewhere falls on both; medians.
 * - share: `swarmdrop share DIR` of a 2 GiB folder until the tracker lists every file, against hashing
 *   the same files alone (≤ 1.25×); then the RSS of a CLI seeding that folder and of one downloading it
 *   all (`swarmdrop get … --exit`), each < 200 MiB.
 * - restart: `swarmdrop share DIR` of 10,000 files, stopped, started again: time until the tracker lists
 *   every file, with the hash cache (seconds, not a re-hash), beside the first start's.
 *
 *   node --import tsx bench/cli/main.ts [--size-mib 256] [--runs 3] [--folder-mib 2048] [--folder-files 8]
 *                                       [--restart-files 10000] [--parts goodput,share,restart]
 *                                       [--wait-load 1.0] [--json out.json] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` profiles both CLI processes during each CLI → CLI Swarmdrop download (not the raw
 * arm): DIR/run-N-seeder.cpuprofile and DIR/run-N-downloader.cpuprofile, for Chrome DevTools.
 *
 * Everything talks to a server in this process on 127.0.0.1; as root it runs in a network namespace with
 * only lo. Heavy: run it under `flock /tmp/swarmdrop-heavy.lock` on a shared machine.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { createLogger } from '../../signal/logger.js'
import { type RunningServer, startServer } from '../../signal/server.js'
import { flushWrites, requireChromium, runBench, sleep, waitForQuiet } from '../support/bench-run.js'
import { formatLoad, formatMbps, formatMiB, formatMs, mbPerSecond } from '../support/figures.js'
import { type InputFile, writeInputFile } from '../support/input-file.js'
import { isolation, reRunIsolatedIfRoot } from '../support/netns.js'
import { type BenchBrowser, CHROMIUM_PATH, launchBrowser } from '../transfer/browsers.js'
import { buildPage } from '../transfer/build-page.js'
import { PeerProcess } from './peer-process.js'
import { sampleRss } from './process-rss.js'
import { type Figures, type GoodputRun, report, type ShareRun } from './report.js'

const KiB = 1024
const MiB = 1024 * KiB
const SWARMDROP = fileURLToPath(new URL('../../scripts/swarmdrop.mjs', import.meta.url))
const BUILD_CLI = fileURLToPath(new URL('../../scripts/build-cli.mjs', import.meta.url))
/** The raw sender waits while more than this is queued: SimplePeerLink's high-water mark (1 MiB). */
const HIGH_WATER_BYTES = 1 * MiB

/** The whole bench stops by itself within this, whatever hangs. */
const DEADLINE_MS = 20 * 60_000
/** Between runs: writeback of the last run and the deletion of its files settle here, not in the next. */
const SETTLE_MS = 1_000
/** How often the tracker's catalog is looked at while a CLI starts. */
const POLL_MS = 10
/** Longest one CLI may take to have every file of its folder in the catalog. */
const ANNOUNCE_TIMEOUT_MS = 5 * 60_000

const { values: flags } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    'folder-mib': { type: 'string', default: '2048' },
    'folder-files': { type: 'string', default: '8' },
    'restart-files': { type: 'string', default: '10000' },
    // The raw arm's messages: @roamhq/wrtc's and Chromium's maxMessageSize, the frame size the links use.
    'message-kib': { type: 'string', default: '256' },
    parts: { type: 'string', default: 'goodput,share,restart' },
    'wait-load': { type: 'string' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
})

reRunIsolatedIfRoot(fileURLToPath(import.meta.url), process.argv.slice(2))

const startedAt = Date.now()
const sizeBytes = Number(flags['size-mib']) * MiB
const runs = Number(flags.runs)
const folderBytes = Number(flags['folder-mib']) * MiB
const folderFiles = Number(flags['folder-files'])
const restartFiles = Number(flags['restart-files'])
const messageBytes = Number(flags['message-kib']) * KiB
const parts = new Set(flags.parts.split(','))
if (![sizeBytes, runs, folderBytes, folderFiles, restartFiles].every((n) => n > 0)) {
  console.error(
    'bench/cli: --size-mib, --runs, --folder-mib, --folder-files and --restart-files take positive numbers',
  )
  process.exit(2)
}
if (parts.has('goodput')) requireChromium('cli', CHROMIUM_PATH)

const tempDir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-cli-'))
const browsers: BenchBrowser[] = []
const peers: PeerProcess[] = []
const commands = new Set<ChildProcess>()
let server: RunningServer | undefined

async function closeAll(): Promise<void> {
  for (const command of commands) command.kill('SIGKILL')
  await Promise.all([
    ...peers.map((peer) => peer.close().catch(() => {})),
    ...browsers.map((browser) => browser.close().catch(() => {})),
  ])
}

// ---------------------------------------------------------------- goodput

async function goodput(url: string, trackerUrl: string): Promise<GoodputRun[]> {
  const input = await writeInputFile(join(mkdirIn('seeder'), 'input.bin'), sizeBytes)
  const seeder = new PeerProcess('seeder CLI')
  const downloader = new PeerProcess('downloader CLI')
  peers.push(seeder, downloader)
  await seeder.call({ type: 'open', dir: join(tempDir, 'seeder'), trackerUrl })
  const { peerId: downloaderId } = await downloader.call({
    type: 'open',
    dir: mkdirIn('downloader'),
    trackerUrl,
  })
  await announced(1)
  const chromium = await launchBrowser('downloader', url, join(tempDir, 'chromium-profile'))
  browsers.push(chromium)
  const chromiumRawId = await chromium.page.evaluate(() => window.transferBench.connectRaw())
  console.log(`Chromium ${chromium.version}, Node ${process.version}; ${formatMiB(sizeBytes)} a run`)

  const results: GoodputRun[] = []
  // CPU time of both CLI processes (all their threads: WebRTC's too) over one step, in ms.
  // And by thread of each process (thread-cpu.ts), keyed `seeder: name` and `downloader: name`.
  const threads = async () => {
    const [a, b] = await Promise.all([seeder.call({ type: 'threads' }), downloader.call({ type: 'threads' })])
    const all: Record<string, number> = {}
    for (const [name, ms] of Object.entries(a)) all[`seeder: ${name}`] = ms
    for (const [name, ms] of Object.entries(b)) all[`downloader: ${name}`] = ms
    return all
  }
  const cpuOf = async <T>(step: () => Promise<T>): Promise<[T, number, Record<string, number>]> => {
    const cpu = () => Promise.all([seeder.call({ type: 'cpu' }), downloader.call({ type: 'cpu' })])
    const [before, threadsBefore] = await Promise.all([cpu(), threads()])
    const value = await step()
    const [after, threadsAfter] = await Promise.all([cpu(), threads()])
    const byThread: Record<string, number> = {}
    for (const [name, ms] of Object.entries(threadsAfter)) byThread[name] = ms - (threadsBefore[name] ?? 0)
    return [value, (after[0] - before[0] + after[1] - before[1]) / 1000, byThread]
  }
  for (let run = 1; run <= runs; run++) {
    const [rawCli, rawCpuMs, rawThreads] = await cpuOf(() => rawToCli(seeder, downloader, downloaderId))
    const [cli, cliCpuMs, cliThreads] = await cpuOf(() => cliDownload(seeder, downloader, input, run))
    const result: GoodputRun = {
      cliRawMbps: mbPerSecond(...rawCli),
      cli,
      cpuMs: { raw: rawCpuMs, cli: cliCpuMs },
      threadCpuMs: { raw: rawThreads, cli: cliThreads },
      chromiumRawMbps: mbPerSecond(...(await rawToChromium(seeder, chromium, chromiumRawId))),
      chromium: await chromiumDownload(seeder, chromium, input),
      load: loadavg(),
    }
    results.push(result)
    console.log(
      `run ${run}: CLI→CLI raw ${formatMbps(result.cliRawMbps)}, Swarmdrop ${formatMbps(mbPerSecond(result.cli.bytes, result.cli.ms))} ` +
        `(then ${formatMs(result.cli.assembleMs)} to assemble the file; CPU of both processes ${formatMs(rawCpuMs)} raw, ${formatMs(cliCpuMs)} Swarmdrop); CLI→Chromium raw ${formatMbps(result.chromiumRawMbps)}, ` +
        `Swarmdrop ${formatMbps(mbPerSecond(result.chromium.bytes, result.chromium.ms))}; load ${formatLoad(result.load)}`,
    )
  }
  await Promise.all([seeder.close(), downloader.close(), chromium.close()])
  return results
}

async function settle(): Promise<void> {
  flushWrites()
  await sleep(SETTLE_MS)
}

async function rawToCli(seeder: PeerProcess, downloader: PeerProcess, to: string): Promise<[number, number]> {
  await settle()
  await downloader.call({ type: 'raw-arm', bytes: sizeBytes })
  const [received] = await Promise.all([
    downloader.call({ type: 'raw-result' }),
    seeder.call({
      type: 'raw-send',
      options: { to, bytes: sizeBytes, messageBytes: messageBytes, highWaterBytes: HIGH_WATER_BYTES },
    }),
  ])
  await Promise.all([seeder.call({ type: 'raw-close' }), downloader.call({ type: 'raw-close' })])
  return [received.bytes, received.ms]
}

async function cliDownload(
  seeder: PeerProcess,
  downloader: PeerProcess,
  input: InputFile,
  run: number,
): Promise<GoodputRun['cli']> {
  await settle()
  await Promise.all([seeder.call({ type: 'frames' }), downloader.call({ type: 'frames' })])
  const profileDir = flags['cpu-prof']
  if (profileDir !== undefined) {
    mkdirSync(profileDir, { recursive: true })
    await Promise.all([seeder.call({ type: 'profile-start' }), downloader.call({ type: 'profile-start' })])
  }
  const download = await downloader.call({ type: 'download', digest: input.digest })
  if (profileDir !== undefined) {
    const profile = (name: string) => ({
      type: 'profile-stop' as const,
      path: join(profileDir, `run-${run}-${name}.cpuprofile`),
    })
    await Promise.all([seeder.call(profile('seeder')), downloader.call(profile('downloader'))])
  }
  const [seederFrames, downloaderFrames] = await Promise.all([
    seeder.call({ type: 'frames' }),
    downloader.call({ type: 'frames' }),
  ])
  return { ...download, frames: { seeder: seederFrames, downloader: downloaderFrames } }
}

async function rawToChromium(
  seeder: PeerProcess,
  chromium: BenchBrowser,
  to: string,
): Promise<[number, number]> {
  await settle()
  await chromium.page.evaluate((bytes) => window.transferBench.armRawReceiver(bytes), sizeBytes)
  const [received] = await Promise.all([
    chromium.page.evaluate(() => window.transferBench.receiveRaw()),
    seeder.call({
      type: 'raw-send',
      options: { to, bytes: sizeBytes, messageBytes: messageBytes, highWaterBytes: HIGH_WATER_BYTES },
    }),
  ])
  await Promise.all([
    seeder.call({ type: 'raw-close' }),
    chromium.page.evaluate(() => window.transferBench.closeRaw()),
  ])
  return [received.bytes, received.ms]
}

async function chromiumDownload(
  seeder: PeerProcess,
  chromium: BenchBrowser,
  input: InputFile,
): Promise<GoodputRun['chromium']> {
  await settle()
  await chromium.page.evaluate(() => window.transferBench.openEngine())
  await seeder.call({ type: 'frames' })
  const download = await chromium.page.evaluate(
    (digest) => window.transferBench.download(digest),
    input.digest,
  )
  const seederFrames = await seeder.call({ type: 'frames' })
  await chromium.page.evaluate(() => window.transferBench.closeEngine())
  return {
    bytes: download.bytes,
    ms: download.ms,
    firstFrameMs: download.firstFrameMs,
    seederFrames,
  }
}

// ---------------------------------------------------------------- share a 2 GiB folder

async function share(trackerUrl: string): Promise<NonNullable<Figures['share']>> {
  const folder = mkdirIn('folder')
  const inputs: InputFile[] = []
  for (let i = 0; i < folderFiles; i++) {
    inputs.push(await writeInputFile(join(folder, `file-${i}.bin`), Math.floor(folderBytes / folderFiles)))
  }
  const hashOnly = await bundleHashOnly()
  const shareRuns: ShareRun[] = []
  const hashMs: number[] = []
  for (let run = 1; run <= runs; run++) {
    await settle()
    const started = performance.now()
    const hashed = spawnSync(process.execPath, [hashOnly, folder], { encoding: 'utf8' })
    if (hashed.status !== 0) throw new Error(`hash-only failed: ${hashed.stderr}`)
    hashMs.push(performance.now() - started)
    await settle()
    rmSync(join(folder, '.swarmdrop'), { recursive: true, force: true }) // nothing from the cache: all hashed
    shareRuns.push(await shareUntilAnnounced(folder, trackerUrl, folderFiles))
    console.log(
      `run ${run}: hashing alone ${formatMs(hashMs.at(-1)!)}, swarmdrop share until all announced ${formatMs(shareRuns.at(-1)!.ms)} ` +
        `(RSS peak ${formatMiB(shareRuns.at(-1)!.rssPeakBytes)}); load ${formatLoad(loadavg())}`,
    )
  }
  await settle()
  const sha256sum = timed(() => spawnSync('sh', ['-c', `sha256sum ${folder}/*.bin > /dev/null`]))
  const transfer = await seedAndDownload(folder, trackerUrl, inputs)
  return { bytes: folderBytes, files: folderFiles, hashMs, shareRuns, sha256sumMs: sha256sum, transfer }
}

/** Bundles hash-only.ts as the CLI is bundled: both arms run plain JS in a Node process of their own. */
async function bundleHashOnly(): Promise<string> {
  const outfile = join(tempDir, 'hash-only.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('./hash-only.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Written to the temp dir, far from node_modules: its few dependencies (zod) are bundled in.
    logLevel: 'warning',
  })
  return outfile
}

/** Starts `swarmdrop share DIR`; resolves once the tracker lists `files` files, with the time and RSS. */
async function shareUntilAnnounced(folder: string, trackerUrl: string, files: number): Promise<ShareRun> {
  const started = performance.now()
  const cli = startCommand(['share', folder, '--server', trackerUrl, '--quiet'])
  const rss = sampleRss(cli.pid!)
  try {
    await announced(files)
    const ms = performance.now() - started
    return { ms, rssPeakBytes: rss.stop().peakBytes }
  } finally {
    await stopCommand(cli)
    await announced(0)
  }
}

/** A CLI seeding the folder, another downloading all of it (`get … --exit`): both processes' RSS. */
async function seedAndDownload(
  folder: string,
  trackerUrl: string,
  inputs: InputFile[],
): Promise<NonNullable<Figures['share']>['transfer']> {
  const seeder = startCommand(['share', folder, '--server', trackerUrl, '--quiet'])
  try {
    await announced(inputs.length)
    const seederRss = sampleRss(seeder.pid!)
    const into = mkdirIn('download')
    const started = performance.now()
    const downloader = startCommand([
      'get',
      ...inputs.map((i) => i.digest),
      '--server',
      trackerUrl,
      '--dir',
      into,
      '--exit',
      '--quiet',
    ])
    const downloaderRss = sampleRss(downloader.pid!)
    const code = await new Promise<number | null>((resolve) => downloader.once('exit', resolve))
    const ms = performance.now() - started
    if (code !== 0) throw new Error(`swarmdrop get exited ${code}`)
    const result = {
      bytes: folderBytes,
      ms,
      seederRssPeakBytes: seederRss.stop().peakBytes,
      downloaderRssPeakBytes: downloaderRss.stop().peakBytes,
      load: loadavg(),
    }
    console.log(
      `${formatMiB(folderBytes)} seeded by one CLI and downloaded by another in ${formatMs(ms)}: RSS peaks ${formatMiB(result.seederRssPeakBytes)} ` +
        `(seeding), ${formatMiB(result.downloaderRssPeakBytes)} (downloading); load ${formatLoad(result.load)}`,
    )
    return result
  } finally {
    await stopCommand(seeder)
    await announced(0)
  }
}

// ---------------------------------------------------------------- restart with 10,000 files

async function restart(trackerUrl: string): Promise<NonNullable<Figures['restart']>> {
  const folder = mkdirIn('many')
  for (let i = 0; i < restartFiles; i++)
    writeFileSync(join(folder, `note-${i}.txt`), `note ${i}: ${'x'.repeat(i % 4096)}\n`)
  await settle()
  const first = await shareUntilAnnounced(folder, trackerUrl, restartFiles)
  console.log(`first start, ${restartFiles} files hashed and announced: ${formatMs(first.ms)}`)
  const again: ShareRun[] = []
  for (let run = 1; run <= runs; run++) {
    await settle()
    again.push(await shareUntilAnnounced(folder, trackerUrl, restartFiles))
    console.log(
      `restart ${run}: all ${restartFiles} announced in ${formatMs(again.at(-1)!.ms)}; load ${formatLoad(loadavg())}`,
    )
  }
  return { files: restartFiles, first, again }
}

// ---------------------------------------------------------------- helpers

function mkdirIn(name: string): string {
  const dir = join(tempDir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

function startCommand(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [SWARMDROP, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
  commands.add(child)
  child.once('exit', () => commands.delete(child))
  return child
}

async function stopCommand(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** Resolves once the tracker's catalog holds exactly `files` files. */
async function announced(files: number): Promise<void> {
  const deadline = Date.now() + ANNOUNCE_TIMEOUT_MS
  while (server!.tracker.stats().files !== files) {
    if (Date.now() > deadline)
      throw new Error(`the catalog never held ${files} files (${server!.tracker.stats().files})`)
    await sleep(POLL_MS)
  }
}

function timed(work: () => unknown): number {
  const started = performance.now()
  work()
  return performance.now() - started
}

async function main(): Promise<void> {
  if (flags['wait-load'] !== undefined) await waitForQuiet(Number(flags['wait-load']), 0)
  const loadAtStart = loadavg()
  console.log(`bench/cli: ${[...parts].join(', ')}; ${runs} runs each`)
  console.log(`load average at start (1, 5, 15 min): ${formatLoad(loadAtStart)}`)
  console.log(`network isolation: ${isolation()}`)
  // Built now, so that no timed start of the command pays for it.
  if (spawnSync(process.execPath, [BUILD_CLI], { stdio: 'inherit' }).status !== 0)
    throw new Error('building swarmdrop failed')
  const pageDir = join(tempDir, 'page')
  if (parts.has('goodput')) await buildPage(pageDir)
  else mkdirSync(pageDir)
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    stunPort: null,
    webRoot: pageDir,
    logger: createLogger('warn', (line) => console.error(`server: ${line}`)),
  })
  const url = `http://127.0.0.1:${server.port}/`
  const figures: Figures = { node: process.version, isolation: isolation(), loadAtStart, loadAtEnd: [] }
  if (parts.has('goodput')) figures.goodput = { sizeBytes, runs: await goodput(url, url) }
  if (parts.has('share')) figures.share = await share(url)
  if (parts.has('restart')) figures.restart = await restart(url)
  figures.loadAtEnd = loadavg()
  report(figures)
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(figures, null, 2)}\n`)
}

await runBench({
  name: 'cli',
  startedAt,
  tempDir,
  deadlineMs: DEADLINE_MS,
  closeBrowsers: closeAll,
  closeServer: () => server?.close(),
  main,
})
