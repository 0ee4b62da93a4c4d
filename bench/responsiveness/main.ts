/**
 * bench/responsiveness: how long the page's main thread is blocked at a time while many small files are
 * added at once (issue 14: "adding 1,000 small files never blocks the page for more than 100 ms at a
 * time"), read from a DevTools performance trace of the real app, against the same measurement while
 * adding a handful of files, in the same browser and run. Figures, not assertions: this machine is shared.
 *
 *   node --import tsx bench/responsiveness/main.ts [--files 1000] [--baseline-files 10] [--file-kib 4]
 *                                                  [--runs 2] [--json out.json]
 *
 * The app is served by the real server as `npm start` runs it; each run opens a fresh browser context
 * (empty IndexedDB), chooses the files in the drop zone's public input, and waits until every one is
 * stored and shared. The trace's `RunTask` events on the page's main thread (CrRendererMain) are the
 * tasks; the longest, and how many passed 50 ms (a "long task") and 100 ms, are reported. Arms alternate
 * (baseline, many, baseline, many, …) so that load from elsewhere falls on both alike. As root it runs in
 * a network namespace with only lo.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { type AppServer, startAppServer } from '../../test/e2e/support/app-server.js'
import { launchChromium } from '../../test/e2e/support/browsers.js'
import { isolation, reRunIsolatedIfRoot } from '../support/netns.js'

/** The whole bench stops by itself within this, whatever hangs. */
const DEADLINE_MS = 9 * 60_000
/** Longest one run may take to have every file shared. */
const RUN_TIMEOUT_MS = 180_000

const { values: flags } = parseArgs({
  options: {
    files: { type: 'string', default: '1000' },
    'baseline-files': { type: 'string', default: '10' },
    'file-kib': { type: 'string', default: '4' },
    runs: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
})

reRunIsolatedIfRoot(fileURLToPath(import.meta.url), process.argv.slice(2))

interface TraceEvent {
  name: string
  ph: string
  pid: number
  tid: number
  ts: number
  dur?: number
  args?: { name?: string; data?: { type?: string } }
}

interface RunFigures {
  files: number
  /** From choosing the files until every one is shared, in ms. */
  wallMs: number
  longestTaskMs: number
  /** The task in which the file input delivered the files (Chromium reads each chosen file's metadata). */
  deliveryTaskMs: number
  /** The longest task apart from that one: the app's own work. */
  longestAppTaskMs: number
  tasksOver50Ms: number
  tasksOver100Ms: number
  /** Main-thread time in tasks of 50 ms or more, in ms. */
  blockedMs: number
}

const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline']
const PUBLIC_INPUT =
  'swarmdrop-drop-zone input[type="file"][multiple]:not([webkitdirectory]):not([data-visibility]):not([data-collection])'

function writeFiles(dir: string, count: number, kib: number): string[] {
  mkdirSync(dir, { recursive: true })
  return Array.from({ length: count }, (_, i) => {
    const path = join(dir, `note-${String(i).padStart(5, '0')}.txt`)
    writeFileSync(path, `file ${i} of ${count} `.repeat(Math.ceil((kib * 1024) / 16)).slice(0, kib * 1024))
    return path
  })
}

/**
 * The page's main-thread tasks, from a trace: RunTask events on the renderer thread named CrRendererMain, in
 * ms, and which of them dispatched the file input's `change` (the delivery of the chosen files).
 */
function mainThreadTasks(trace: { traceEvents: TraceEvent[] }): { tasks: number[]; delivery: number } {
  const mains = new Set(
    trace.traceEvents
      .filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  )
  const onMain = (e: TraceEvent) => mains.has(`${e.pid}:${e.tid}`)
  const runs = trace.traceEvents.filter(
    (e) => e.name === 'RunTask' && e.ph === 'X' && e.dur !== undefined && onMain(e),
  )
  const change = trace.traceEvents.find(
    (e) => e.name === 'EventDispatch' && e.args?.data?.type === 'change' && onMain(e),
  )
  const delivery = change
    ? runs.findIndex(
        (e) =>
          e.pid === change.pid && e.tid === change.tid && e.ts <= change.ts && change.ts <= e.ts + e.dur!,
      )
    : -1
  return { tasks: runs.map((e) => e.dur! / 1000), delivery }
}

function figuresOf(trace: { traceEvents: TraceEvent[] }, files: number, wallMs: number): RunFigures {
  const { tasks, delivery } = mainThreadTasks(trace)
  const long = tasks.filter((ms) => ms >= 50)
  return {
    files,
    wallMs,
    longestTaskMs: Math.max(0, ...tasks),
    deliveryTaskMs: tasks[delivery] ?? 0,
    longestAppTaskMs: Math.max(0, ...tasks.filter((_, i) => i !== delivery)),
    tasksOver50Ms: long.length,
    tasksOver100Ms: tasks.filter((ms) => ms > 100).length,
    blockedMs: long.reduce((sum, ms) => sum + ms, 0),
  }
}

async function stopTracing(browser: Browser): Promise<{ traceEvents: TraceEvent[] }> {
  return JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }
}

/** Chooses the files in the app's public input and waits until every one is stored and shared. */
async function appRun(browser: Browser, page: Page, server: AppServer, paths: string[]): Promise<RunFigures> {
  await page.goto(server.url)
  await page.locator('[data-tracker-state="online"]').waitFor({ timeout: 30_000 })
  await browser.startTracing(page, { categories: TRACE_CATEGORIES })
  const startedAt = Date.now()
  await page.locator(PUBLIC_INPUT).setInputFiles(paths)
  await page.waitForFunction(
    (count) => {
      const app = document.querySelector('swarmdrop-app')?.shadowRoot
      const zone = app?.querySelector('swarmdrop-drop-zone') as unknown as { jobs: unknown[] } | null
      const files = app?.querySelector('swarmdrop-my-files') as unknown as {
        controller: { total: number }
      } | null
      return zone?.jobs.length === 0 && files?.controller.total === count
    },
    paths.length,
    { timeout: RUN_TIMEOUT_MS, polling: 250 },
  )
  const wallMs = Date.now() - startedAt
  return figuresOf(await stopTracing(browser), paths.length, wallMs)
}

/**
 * The control: the same files chosen in a bare `<input type=file multiple>` with no app behind it, which
 * tells the browser's (and the test driver's) own cost of taking them from the app's.
 */
async function bareRun(browser: Browser, page: Page, paths: string[]): Promise<RunFigures> {
  await page.setContent('<input type="file" multiple>')
  await browser.startTracing(page, { categories: TRACE_CATEGORIES })
  const startedAt = Date.now()
  await page.locator('input').setInputFiles(paths)
  await page.waitForFunction(
    (count) => document.querySelector('input')?.files?.length === count,
    paths.length,
  )
  const wallMs = Date.now() - startedAt
  return figuresOf(await stopTracing(browser), paths.length, wallMs)
}

async function run(browser: Browser, server: AppServer, paths: string[], bare = false): Promise<RunFigures> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  try {
    return bare ? await bareRun(browser, page, paths) : await appRun(browser, page, server, paths)
  } finally {
    await context.close()
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench/responsiveness: deadline passed, stopping')
    process.exit(1)
  }, DEADLINE_MS)
  const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-bench-responsiveness-'))
  const server = await startAppServer()
  const browser = await launchChromium()
  const loadBefore = loadavg()
  try {
    const many = writeFiles(join(dir, 'many'), Number(flags.files), Number(flags['file-kib']))
    const few = writeFiles(join(dir, 'few'), Number(flags['baseline-files']), Number(flags['file-kib']))
    const results: { baseline: RunFigures[]; many: RunFigures[]; bare: RunFigures[] } = {
      baseline: [],
      many: [],
      bare: [],
    }
    for (let i = 0; i < Number(flags.runs); i++) {
      results.baseline.push(await run(browser, server, few))
      results.many.push(await run(browser, server, many))
      results.bare.push(await run(browser, server, many, true))
    }
    const loadAfter = loadavg()
    const ms = (runs: RunFigures[], pick: (r: RunFigures) => number) => median(runs.map(pick)).toFixed(0)
    const line = (label: string, runs: RunFigures[]) =>
      `${label.padEnd(34)} longest task ${ms(runs, (r) => r.longestTaskMs)} ms (runs: ${runs
        .map((r) => r.longestTaskMs.toFixed(0))
        .join(', ')}): delivering the files ${ms(runs, (r) => r.deliveryTaskMs)} ms, longest other ${ms(
        runs,
        (r) => r.longestAppTaskMs,
      )} ms; tasks ≥ 50 ms ${ms(runs, (r) => r.tasksOver50Ms)}, > 100 ms ${ms(runs, (r) => r.tasksOver100Ms)}; ` +
      `done in ${(median(runs.map((r) => r.wallMs)) / 1000).toFixed(1)} s`
    console.log(`isolation: ${isolation()}`)
    console.log(line(`${flags['baseline-files']} files (baseline)`, results.baseline))
    console.log(line(`${flags.files} files`, results.many))
    console.log(line(`${flags.files} files in a bare input (control)`, results.bare))
    const worst = Math.max(...results.many.map((r) => r.longestAppTaskMs))
    const ratio =
      Number(ms(results.many, (r) => r.longestAppTaskMs)) /
      Number(ms(results.baseline, (r) => r.longestAppTaskMs))
    console.log(
      `the app's longest task after the files were delivered, ${flags.files} files: worst run ${worst.toFixed(0)} ms, ` +
        `${ratio.toFixed(2)}× the ${flags['baseline-files']}-file baseline (target: none over 100 ms: ${worst <= 100 ? 'met' : 'missed'})`,
    )
    console.log(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    )
    if (flags.json) writeFileSync(flags.json, JSON.stringify({ ...results, loadBefore, loadAfter }, null, 2))
  } finally {
    await browser.close()
    await server.close()
    rmSync(dir, { recursive: true, force: true })
    clearTimeout(deadline)
  }
}

await main()
