/**
 * What bench/ingest and bench/transfer both do around their measurements: wait for a quiet machine,
 * flush writes between timed steps, stop by a deadline and always remove their temp dir.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { formatLoad } from './figures.js'

/** After the deadline, cleanup gets this long before the process exits regardless. */
const CLEANUP_GRACE_MS = 15_000
/** `--wait-load` waits at most this long for the 1-minute load average to fall, then runs anyway. */
const LOAD_WAIT_MAX_MS = 3 * 60_000
const LOAD_POLL_MS = 5_000

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Exits with status 2 and a hint when Debian's Chromium is missing, before any temp file exists. */
export function requireChromium(name: string, chromiumPath: string): void {
  if (existsSync(chromiumPath)) return
  console.error(`bench/${name}: no ${chromiumPath}; install Debian's: apt-get install -y chromium`)
  process.exit(2)
}

/** Waits until the 1-minute load average is at most `maxLoad`, saying so at most every `logEveryMs`. */
export async function waitForQuiet(maxLoad: number, logEveryMs: number): Promise<void> {
  const until = Date.now() + LOAD_WAIT_MAX_MS
  let loggedAt = 0
  while (loadavg()[0]! > maxLoad && Date.now() < until) {
    if (Date.now() - loggedAt >= logEveryMs) {
      console.log(`load ${formatLoad(loadavg())}: waiting for the 1-min load to drop below ${maxLoad}`)
      loggedAt = Date.now()
    }
    await sleep(LOAD_POLL_MS)
  }
}

/**
 * Writes the kernel still holds (the input file just written, the last run's IndexedDB) go to disk
 * before the next timed step, instead of competing with it for the disk and a core.
 */
export function flushWrites(): void {
  spawnSync('sync')
}

export interface BenchRun {
  /** `ingest` or `transfer`, for the messages. */
  name: string
  startedAt: number
  tempDir: string
  deadlineMs: number
  /** Closes every browser; closing makes each pending evaluate reject, so `main` unwinds. */
  closeBrowsers: () => Promise<unknown> | undefined
  closeServer: () => Promise<void> | undefined
  main: () => Promise<void>
}

/**
 * Runs `main`, stopping it at the deadline, and whatever happens closes the browsers and the server,
 * removes the temp dir (a gigabyte of input, the built page, browser profiles) and exits.
 */
export async function runBench(run: BenchRun): Promise<never> {
  const { name, tempDir } = run
  let timedOut = false
  const deadline = setTimeout(() => {
    timedOut = true
    console.error(`bench/${name}: past the ${run.deadlineMs / 60_000} min deadline, stopping`)
    void run.closeBrowsers()
    setTimeout(() => {
      rmSync(tempDir, { recursive: true, force: true })
      process.exit(1)
    }, CLEANUP_GRACE_MS).unref()
  }, run.deadlineMs)
  deadline.unref()
  // Interrupted, the bench still removes its temp dir.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void run.closeBrowsers()
      rmSync(tempDir, { recursive: true, force: true })
      process.exit(1)
    })
  }

  try {
    await run.main()
  } catch (error) {
    process.exitCode = 1
    console.error(timedOut ? `bench/${name}: stopped at the deadline` : `bench/${name} failed:`, error)
  } finally {
    await run.closeBrowsers()
    await run.closeServer()
    rmSync(tempDir, { recursive: true, force: true })
    clearTimeout(deadline)
    console.log(`bench/${name}: ${((Date.now() - run.startedAt) / 1000).toFixed(0)} s, temp files removed`)
    // Whatever a hung browser or a late callback may hold open, the bench ends here.
    process.exit()
  }
}
