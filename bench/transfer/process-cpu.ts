/**
 * CPU time of each browser's process tree, read from /proc, by Chromium process type. On 2 shared cores a
 * loopback transfer is CPU-bound (SPEC §8), so CPU seconds per run show what Swarmdrop costs beyond the
 * raw channel and in which process: the renderer (page, data channel), the browser process (Blob
 * registry, IndexedDB unless it runs in a storage service), the network service (UDP sockets) or others.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat, on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100

export const PROCESS_KINDS = ['renderer', 'browser', 'network', 'storage', 'other'] as const
export type ProcessKind = (typeof PROCESS_KINDS)[number]
export type CpuSeconds = Record<ProcessKind, number>

interface ProcessInfo {
  pid: number
  parent: number
  command: string
  ticks: number
}

function readProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name is in parentheses and may hold spaces: fields after the last ')' are fixed.
      // From there, field 1 is the parent pid, 11 and 12 are utime and stime (proc(5), counted from 0).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      found.push({
        pid: Number(entry),
        parent: Number(fields[1]),
        command,
        ticks: Number(fields[11]) + Number(fields[12]),
      })
    } catch {
      // the process ended while being read
    }
  }
  return found
}

function kindOf(command: string): ProcessKind {
  if (command.includes('--type=renderer')) return 'renderer'
  // WebRTC's UDP sockets live in the network service; IndexedDB may run in a storage service process.
  if (command.includes('--utility-sub-type=network.')) return 'network'
  if (command.includes('--utility-sub-type=storage.')) return 'storage'
  return command.includes('--type=') ? 'other' : 'browser'
}

/** CPU ticks so far of every process in the tree of the browser whose command line holds `marker`. */
function treeTicks(marker: string): Map<number, { kind: ProcessKind; ticks: number }> {
  const all = readProcesses()
  const root = all.find((info) => info.command.includes(marker) && kindOf(info.command) === 'browser')
  const tree = new Map<number, { kind: ProcessKind; ticks: number }>()
  if (!root) return tree
  const members = new Set([root.pid])
  // Children appear after their parents in pid order only usually: repeat until nothing is added.
  for (let grew = true; grew; ) {
    grew = false
    for (const info of all) {
      if (!members.has(info.pid) && members.has(info.parent)) {
        members.add(info.pid)
        grew = true
      }
    }
  }
  for (const info of all) {
    if (members.has(info.pid)) tree.set(info.pid, { kind: kindOf(info.command), ticks: info.ticks })
  }
  return tree
}

/** Starts counting; the returned function gives the CPU seconds used since, by process kind. */
export function countCpu(marker: string): () => CpuSeconds {
  const before = treeTicks(marker)
  return () => {
    const used = Object.fromEntries(PROCESS_KINDS.map((kind) => [kind, 0])) as CpuSeconds
    for (const [pid, { kind, ticks }] of treeTicks(marker)) {
      used[kind] += (ticks - (before.get(pid)?.ticks ?? 0)) / CLOCK_TICKS_PER_SECOND
    }
    return used
  }
}
