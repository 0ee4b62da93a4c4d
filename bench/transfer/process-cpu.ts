/**
 * CPU time of each browser's process tree, read from /proc, by Chromium process type. On 2 shared cores a
 * loopback transfer is CPU-bound (SPEC §8), so CPU seconds per run show what Swarmdrop costs beyond the
 * raw channel and in which process: the renderer (page, data channel), the browser process (Blob
 * registry, IndexedDB unless it runs in a storage service), the network service (UDP sockets) or others.
 */
import { processTree, readProcesses } from '../ingest/proc-tree.js'

/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat, on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100

export const PROCESS_KINDS = ['renderer', 'browser', 'network', 'storage', 'other'] as const
export type ProcessKind = (typeof PROCESS_KINDS)[number]
export type CpuSeconds = Record<ProcessKind, number>

function readProcessTicks() {
  // utime and stime are fields 11 and 12 after the command name (proc(5), counted from 0).
  return readProcesses((_, fields) => ({ ticks: Number(fields[11]) + Number(fields[12]) }))
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
  const all = readProcessTicks()
  const root = all.find((info) => info.command.includes(marker) && kindOf(info.command) === 'browser')
  const tree = new Map<number, { kind: ProcessKind; ticks: number }>()
  if (!root) return tree
  const members = processTree(all, root.pid)
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
