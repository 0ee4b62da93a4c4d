/**
 * Resident memory of the Chromium process tree, read from /proc. The JS heaps (heap-probe.ts) leave out
 * ArrayBuffer contents and Blob data, which Chromium holds in the renderer and the browser process; RSS
 * shows whether those grow with the file.
 */
import { readFileSync } from 'node:fs'
import { processTree, readProcesses } from './proc-tree.js'

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

function readProcessRss() {
  return readProcesses((pid) => ({
    rssBytes: Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES,
  }))
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
    const all = readProcessRss()
    const browser = all.find(
      (info) =>
        info.command.includes(`--user-data-dir=${this.#userDataDir}`) && !info.command.includes('--type='),
    )
    if (!browser) return
    const tree = processTree(all, browser.pid)
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
