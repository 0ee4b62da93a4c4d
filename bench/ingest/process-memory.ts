/**
 * Resident memory of the Chromium process tree, read from /proc. The JS heaps (heap-probe.ts) leave out
 * ArrayBuffer contents and Blob data, which Chromium holds in the renderer and the browser process; RSS
 * shows whether those grow with the file.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** /proc is cheap to read, but a whole-tree scan each 50 ms would cost CPU the bench measures. */
export const RSS_POLL_MS = 250
const PAGE_BYTES = 4096

export interface RssPeaks {
  /** The largest renderer process (it hosts the page and its workers). */
  rendererBytes: number
  /** The browser process (blob registry, IndexedDB backend). */
  browserBytes: number
  /** All of Chromium's processes at once. */
  totalBytes: number
}

interface ProcessInfo {
  pid: number
  parent: number
  command: string
  rssBytes: number
}

function readProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name is in parentheses and may hold spaces: fields after the last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const rssPages = Number(readFileSync(`/proc/${entry}/statm`, 'utf8').split(' ')[1])
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
      found.push({ pid: Number(entry), parent: Number(fields[1]), command, rssBytes: rssPages * PAGE_BYTES })
    } catch {
      // the process ended while being read
    }
  }
  return found
}

/** Samples the tree of the browser process started with `--user-data-dir=<userDataDir>`. */
export class RssSampler {
  readonly #userDataDir: string
  #timer: NodeJS.Timeout | undefined
  #peaks: RssPeaks = { rendererBytes: 0, browserBytes: 0, totalBytes: 0 }

  constructor(userDataDir: string) {
    this.#userDataDir = userDataDir
  }

  start(): void {
    this.stop()
    this.#peaks = { rendererBytes: 0, browserBytes: 0, totalBytes: 0 }
    this.#timer = setInterval(() => this.#sample(), RSS_POLL_MS)
    this.#sample()
  }

  stop(): RssPeaks {
    clearInterval(this.#timer)
    this.#timer = undefined
    return this.#peaks
  }

  #sample(): void {
    const all = readProcesses()
    const browser = all.find(
      (info) =>
        info.command.includes(`--user-data-dir=${this.#userDataDir}`) && !info.command.includes('--type='),
    )
    if (!browser) return
    const tree = new Set([browser.pid])
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
    let total = 0
    let renderer = 0
    for (const info of all) {
      if (!tree.has(info.pid)) continue
      total += info.rssBytes
      if (info.command.includes('--type=renderer')) renderer = Math.max(renderer, info.rssBytes)
    }
    this.#peaks.totalBytes = Math.max(this.#peaks.totalBytes, total)
    this.#peaks.rendererBytes = Math.max(this.#peaks.rendererBytes, renderer)
    this.#peaks.browserBytes = Math.max(this.#peaks.browserBytes, browser.rssBytes)
  }
}
