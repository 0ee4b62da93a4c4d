/**
 * bench/swarm: three seeders, each at home behind its own cone NAT with its uplink capped by `tc`, and one
 * downloader in a fourth home network, all in the NAT lab (test/nat/support/lab.ts) with the real server
 * and the real app in headless Chromium. SPEC §7: the downloader's goodput ≥ 90% of the sum of the caps.
 * Beside it, in the same run, the single-seeder figure: one capped seeder alone, against its one cap.
 *
 *   node --import tsx bench/swarm/main.ts [--cap-mbit 40] [--seconds 12] [--runs 1] [--json out.json]
 *
 * Goodput is verified bytes stored per second, read from the downloader's my-files progress bar between
 * 10% and 90% of the file (the steady state: connection set-up and the last chunk's tail left out); the
 * whole time from the click on the digest to the saved download is printed beside it. Needs root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type SourceFile, writeSourceFile } from '../../test/e2e/support/source-files.js'
import { type HomeNet, labUnavailableReason, NatLab } from '../../test/nat/support/lab.js'
import { type HomeBrowser, openHomeBrowser } from '../../test/nat/support/lab-browser.js'
import { startLabServer } from '../../test/nat/support/lab-services.js'
import { formatLoad, median } from '../support/figures.js'
import { selfTimes, startProfile, stopProfile } from '../transfer/profile.js'

const MiB = 1024 * 1024
/** SPEC §7. */
const TARGET_RATIO = 0.9
/** The steady-state window of a download, as shares of the file. */
const WINDOW = { from: 0.1, to: 0.9 }
/** How often the downloader's progress is read. */
const POLL_MS = 100
/** Longest ingest (hashing and storing the file in each seeder) may take. */
const SHARE_TIMEOUT_MS = 120_000
/** The whole bench stops by itself within this. */
const DEADLINE_MS = 15 * 60_000

const { values: flags } = parseArgs({
  options: {
    'cap-mbit': { type: 'string', default: '40' },
    // The file is sized so that the timed download lasts about this long at the caps' rate.
    seconds: { type: 'string', default: '12' },
    runs: { type: 'string', default: '1' },
    json: { type: 'string' },
    // Records a CPU profile of the downloader's page during each three-seeder download, summarised here.
    profile: { type: 'boolean', default: false },
  },
})
const capMbit = Number(flags['cap-mbit'])
const seconds = Number(flags.seconds)
const runs = Number(flags.runs)
if (!(capMbit > 0) || !(seconds > 0) || !(runs >= 1)) {
  console.error('bench/swarm: --cap-mbit, --seconds and --runs take positive numbers')
  process.exit(2)
}
const unavailable = labUnavailableReason()
if (unavailable) {
  console.error(`bench/swarm: ${unavailable}`)
  process.exit(2)
}

interface Measured {
  seeders: number
  sizeBytes: number
  /** Bytes a second between WINDOW.from and WINDOW.to of the file. */
  steadyBytesPerSecond: number
  /** Bytes a second from the click to the saved download. */
  wholeBytesPerSecond: number
  capBytesPerSecond: number
  /** Share of the machine's CPU time that was busy during the steady window (all processes, all cores). */
  cpuBusy: number
}

/** The machine's CPU time so far, busy and total, in clock ticks (/proc/stat's first line). */
function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
  const idle = fields[3]! + fields[4]! // idle and iowait
  return { busy: total - idle, total }
}

const capBytesPerSecond = (capMbit * 1e6) / 8
const workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-swarm-'))
const lab = new NatLab()
const browsers: HomeBrowser[] = []
const deadline = setTimeout(() => {
  console.error(`bench/swarm: not done in ${DEADLINE_MS / 60_000} min; stopping`)
  void teardown().then(() => process.exit(1))
}, DEADLINE_MS)

async function teardown(): Promise<void> {
  clearTimeout(deadline)
  for (const browser of browsers) await browser.close().catch(() => {})
  await lab.destroy()
  rmSync(workDir, { recursive: true, force: true })
}

async function main(): Promise<void> {
  const seederHomes: HomeNet[] = [lab.addHome('cone'), lab.addHome('cone'), lab.addHome('cone')]
  const downloaderHome = lab.addHome('cone')
  for (const home of seederHomes) lab.capUplink(home, capMbit)
  const server = await startLabServer(lab)
  for (const [i, home] of seederHomes.entries()) {
    browsers.push(await openHomeBrowser(lab, home, server.origin, `seeder ${i + 1}`, workDir))
  }
  const downloader = await openHomeBrowser(lab, downloaderHome, server.origin, 'downloader', workDir)
  browsers.push(downloader)
  const seeders = browsers.slice(0, 3)

  console.log(
    `lab: 3 seeders each behind a cone NAT, uplink capped at ${capMbit} Mbit/s (tc tbf); downloader in a 4th home, uncapped`,
  )
  console.log(`load before: ${formatLoad(loadavg())}`)
  const results: Measured[] = []
  for (let run = 1; run <= runs; run++) {
    for (const count of [1, 3]) {
      const sizeBytes = Math.ceil((count * capBytesPerSecond * seconds) / MiB) * MiB
      const file = await writeSourceFile(
        workDir,
        `swarm-${count}-${run}.bin`,
        sizeBytes,
        `bench-swarm-${count}-${run}`,
      )
      for (const seeder of seeders.slice(0, count)) await shareFrom(seeder, file)
      const measured = await download(downloader, file, count)
      results.push(measured)
      printRun(measured, run)
      // The next file must come only from the seeders that share it: this one leaves every seeder.
      for (const seeder of seeders.slice(0, count)) await removeFrom(seeder, file)
      rmSync(file.path, { force: true })
    }
  }
  report(results)
}

async function shareFrom(seeder: HomeBrowser, file: SourceFile): Promise<void> {
  await seeder.app.share([file.path])
  await seeder.app
    .myFile(file.digest)
    .and(seeder.app.page.locator('[data-state="seeding"]'))
    .waitFor({ timeout: SHARE_TIMEOUT_MS })
}

async function removeFrom(browser: HomeBrowser, file: SourceFile): Promise<void> {
  const entry = browser.app.myFile(file.digest)
  await entry.getByRole('button', { name: /^(Stop sharing|Remove): / }).click()
  await entry.waitFor({ state: 'detached', timeout: 30_000 })
}

async function download(downloader: HomeBrowser, file: SourceFile, seeders: number): Promise<Measured> {
  const app = downloader.app
  const entry = app.catalogEntry(file.digest)
  await app.until(
    async () => (await entry.textContent())?.includes(`${seeders} seeder`) ?? false,
    `${seeders} seeder(s) of ${file.name} in the catalog`,
    30_000,
  )
  const saved = app.nextDownload(SHARE_TIMEOUT_MS + (file.size / capBytesPerSecond) * 4000, file.name)
  const profiling = flags.profile && seeders === 3 ? await app.context.newCDPSession(app.page) : undefined
  if (profiling) await startProfile(profiling)
  const clickedAt = performance.now()
  await entry.locator('button.digest').click()
  const samples: { atMs: number; fraction: number; cpu: { busy: number; total: number } }[] = []
  let done = false
  const stop = () => {
    done = true
  }
  saved.then(stop, stop) // a failed download is reported by the await below
  while (!done) {
    const fraction = await app
      .myFile(file.digest)
      .locator('progress')
      .evaluate((bar) => {
        const progress = bar as HTMLProgressElement
        return progress.hasAttribute('max') ? progress.value / progress.max : 0
      })
      .catch(() => 0)
    samples.push({ atMs: performance.now(), fraction, cpu: cpuTicks() })
    if (fraction >= 1) break
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  const result = await saved
  const savedAt = performance.now()
  if (profiling) {
    const profile = await stopProfile(profiling, join(workDir, 'downloader.cpuprofile'))
    const busy = selfTimes(profile).filter((t) => !/^\((idle|program|garbage collector)\)/.test(t.name))
    console.log(`downloader page, main thread self time (top 12 of ${busy.length}):`)
    for (const t of busy.slice(0, 12))
      console.log(
        `  ${t.ms.toFixed(0).padStart(6)} ms  ${(100 * t.share).toFixed(1).padStart(5)}%  ${t.name}`,
      )
    const idle = selfTimes(profile).find((t) => t.name.startsWith('(idle)'))
    if (idle) console.log(`  idle: ${(100 * idle.share).toFixed(1)}% of the profile`)
  }
  if (result.sha256 !== file.sha256) throw new Error(`the saved ${file.name} differs from the shared one`)
  const from = crossing(samples, WINDOW.from)
  const to = crossing(samples, WINDOW.to)
  const cpuFrom = samples.find((s) => s.fraction >= WINDOW.from)!.cpu
  const cpuTo = samples.find((s) => s.fraction >= WINDOW.to)!.cpu
  // The download just measured leaves the downloader too, so its IndexedDB stays small.
  await removeFrom(downloader, file)
  rmSync(result.path, { force: true })
  return {
    seeders,
    sizeBytes: file.size,
    steadyBytesPerSecond: ((WINDOW.to - WINDOW.from) * file.size) / ((to - from) / 1000),
    wholeBytesPerSecond: file.size / ((savedAt - clickedAt) / 1000),
    capBytesPerSecond: seeders * capBytesPerSecond,
    cpuBusy: (cpuTo.busy - cpuFrom.busy) / Math.max(1, cpuTo.total - cpuFrom.total),
  }
}

/** When the progress first reached `fraction`, interpolated between the samples around it. */
function crossing(samples: readonly { atMs: number; fraction: number }[], fraction: number): number {
  const after = samples.findIndex((s) => s.fraction >= fraction)
  if (after <= 0) throw new Error(`too few progress samples around ${fraction * 100}%`)
  const a = samples[after - 1]!
  const b = samples[after]!
  return a.atMs + ((fraction - a.fraction) / (b.fraction - a.fraction)) * (b.atMs - a.atMs)
}

const mbit = (bytesPerSecond: number) => `${((bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s`

function printRun(m: Measured, run: number): void {
  console.log(
    `run ${run}, ${m.seeders} seeder(s), ${m.sizeBytes / MiB} MiB: steady ${mbit(m.steadyBytesPerSecond)} ` +
      `(${((100 * m.steadyBytesPerSecond) / m.capBytesPerSecond).toFixed(1)}% of ${mbit(m.capBytesPerSecond)}), ` +
      `click to saved ${mbit(m.wholeBytesPerSecond)}; machine CPU busy ${(100 * m.cpuBusy).toFixed(0)}%`,
  )
}

function report(results: Measured[]): void {
  console.log(`\nload after: ${formatLoad(loadavg())}`)
  console.log(
    `\n| seeders | sum of caps | goodput 10–90% (median) | ratio | click → saved | CPU busy | target |`,
  )
  console.log('|---|---|---|---|---|---|---|')
  const figures: Record<string, unknown> = { capMbit, runs: results }
  for (const count of [1, 3]) {
    const mine = results.filter((r) => r.seeders === count)
    const steady = median(mine.map((r) => r.steadyBytesPerSecond))
    const whole = median(mine.map((r) => r.wholeBytesPerSecond))
    const cpu = median(mine.map((r) => r.cpuBusy))
    const ratio = steady / (count * capBytesPerSecond)
    const target = count === 3 ? (ratio >= TARGET_RATIO ? `≥ 90%: met` : `≥ 90%: MISSED`) : '(baseline)'
    console.log(
      `| ${count} | ${mbit(count * capBytesPerSecond)} | ${mbit(steady)} | ${(100 * ratio).toFixed(1)}% | ${mbit(whole)} (${((100 * whole) / (count * capBytesPerSecond)).toFixed(1)}%) | ${(100 * cpu).toFixed(0)}% | ${target} |`,
    )
    figures[`ratio${count}`] = ratio
  }
  if (flags.json) writeFileSync(flags.json, JSON.stringify(figures, null, 2))
}

try {
  await main()
} catch (error) {
  console.error(`bench/swarm failed: ${error instanceof Error ? error.stack : String(error)}`)
  process.exitCode = 1
} finally {
  await teardown()
}
