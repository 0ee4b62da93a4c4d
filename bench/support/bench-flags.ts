/**
 * The start every loopback benchmark shares: its common flags (`--size-mib`, `--runs`, `--wait-load`,
 * `--json`), a re-run inside a lo-only namespace when root (netns.ts), and the check of the two numbers
 * each one needs. Each bench adds its own flags beside these and checks them in `extraValid`.
 */
import { fileURLToPath } from 'node:url'
import { reRunIsolatedIfRoot } from './netns.js'

const MiB = 1024 * 1024

/** The flags every bench takes, with its own defaults; spread into parseArgs' `options`. */
export function commonBenchOptions(defaults: { sizeMiB: number; runs: number }) {
  return {
    'size-mib': { type: 'string', default: String(defaults.sizeMiB) },
    runs: { type: 'string', default: String(defaults.runs) },
    'wait-load': { type: 'string' },
    json: { type: 'string' },
  } as const
}

export interface BenchStart {
  startedAt: number
  sizeBytes: number
  runs: number
}

/**
 * Re-runs the bench isolated when root (returns only where it should run), then reads the size and the
 * number of runs; exits 2 with `usage` when they, or the bench's own flags (`extraValid`), are not valid.
 */
export function startBench(
  name: string,
  scriptUrl: string,
  flags: { 'size-mib': string; runs: string },
  check: { extraValid?: boolean; usage?: string } = {},
): BenchStart {
  reRunIsolatedIfRoot(fileURLToPath(scriptUrl), process.argv.slice(2))
  const startedAt = Date.now()
  const sizeBytes = Number(flags['size-mib']) * MiB
  const runs = Number(flags.runs)
  if (!(sizeBytes > 0) || !(runs >= 1) || check.extraValid === false) {
    console.error(`bench/${name}: ${check.usage ?? '--size-mib and --runs take positive numbers'}`)
    process.exit(2)
  }
  return { startedAt, sizeBytes, runs }
}
