/**
 * SPEC §8: browser benchmarks stay on this machine. As root, the bench re-runs itself inside a new network
 * namespace whose only interface is loopback, so neither Chromium nor anything else can reach outside.
 */
import { spawnSync } from 'node:child_process'

/** Set in the re-run process, so it does not try again. */
const INSIDE_ENV = 'SWARMDROP_BENCH_NETNS'

export type Isolation = 'namespace with only lo' | 'none (not root: loopback by configuration only)'

export function isolation(): Isolation {
  return process.env[INSIDE_ENV] === '1'
    ? 'namespace with only lo'
    : 'none (not root: loopback by configuration only)'
}

/**
 * As root and not yet isolated: runs this same command in a namespace with only lo and exits with its
 * status. Otherwise returns, and the caller runs here.
 */
export function reRunIsolatedIfRoot(script: string, args: string[]): void {
  if (process.env[INSIDE_ENV] === '1' || process.getuid?.() !== 0) return
  const result = spawnSync(
    'unshare',
    [
      '-n',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      script,
      ...args,
    ],
    { stdio: 'inherit', env: { ...process.env, [INSIDE_ENV]: '1' } },
  )
  if (result.error) throw result.error
  process.exit(result.status ?? 1)
}
