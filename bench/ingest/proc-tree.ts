/**
 * Chromium's processes as /proc lists them, for process-memory.ts (RSS) and bench/transfer's
 * process-cpu.ts (CPU time): both find one browser process and everything it started.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessInfo {
  pid: number
  parent: number
  command: string
}

/**
 * Every process now running, with what `more` reads of it from its pid and the fields of its
 * /proc/<pid>/stat after the command name (there, field 1 is the parent pid; proc(5), counted from 0).
 */
export function readProcesses<T extends object>(
  more: (pid: number, statFields: string[]) => T,
): (ProcessInfo & T)[] {
  const found: (ProcessInfo & T)[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name is in parentheses and may hold spaces: fields after the last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const pid = Number(entry)
      const extra = more(pid, fields)
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      found.push({ ...extra, pid, parent: Number(fields[1]), command })
    } catch {
      // the process ended while being read
    }
  }
  return found
}

/** The pids of `rootPid` and all its descendants among `all`. */
export function processTree(all: ProcessInfo[], rootPid: number): Set<number> {
  const tree = new Set([rootPid])
  // Children appear after their parents in pid order only usually: repeat until nothing is added.
  for (let grew = true; grew; ) {
    grew = false
    for (const info of all) {
      if (!tree.has(info.pid) && tree.has(info.parent)) {
        tree.add(info.pid)
        grew = true
      }
    }
  }
  return tree
}
