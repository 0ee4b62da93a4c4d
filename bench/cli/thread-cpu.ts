/**
 * CPU time of this process by thread name, from /proc/self/task (Linux): which threads a transfer's CPU
 * goes to. The main thread is `main`; Node's helpers (the thread pool: disk, WebCrypto; V8's) are `node`; WebRTC's own threads carry their names (signaling, network, worker). bench/cli prints the
 * difference over each arm, per MiB (issue 11: where Swarmdrop's CPU goes that the raw arm's does not).
 */
import { readdirSync, readFileSync } from 'node:fs'

/** /proc counts CPU time in USER_HZ ticks: 100 a second on Linux whatever the kernel's HZ (`getconf CLK_TCK`). */
const MS_PER_TICK = 10

/** CPU ms used so far by the threads of this process, summed by thread name; {} where /proc is missing. */
export function threadCpuMs(): Record<string, number> {
  const byName: Record<string, number> = {}
  let tasks: string[]
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return byName
  }
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8')
      // The name sits in parentheses and may hold spaces; utime and stime are fields 14 and 15.
      const close = stat.lastIndexOf(')')
      const comm = stat
        .slice(stat.indexOf('(') + 1, close)
        .replace(/[0-9]+$/, '')
        .trim()
      // Node's helper threads are called `node` too: the main thread is the one whose id is the process's.
      const name = Number(task) === process.pid ? 'main' : comm || 'unnamed'
      const fields = stat.slice(close + 2).split(' ')
      const ticks = Number(fields[11]) + Number(fields[12])
      byName[name] = (byName[name] ?? 0) + ticks * MS_PER_TICK
    } catch {
      // the thread ended while we looked
    }
  }
  return byName
}
