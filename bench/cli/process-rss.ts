/** The resident memory of one process (VmRSS in /proc), sampled: its peak while something runs. */
import { readFileSync } from 'node:fs'

const POLL_MS = 100

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) * 1024 : 0
}

/** Samples `pid` until `stop()`, which gives the peak and the last sample. */
export function sampleRss(pid: number): { stop(): { peakBytes: number; lastBytes: number } } {
  let peakBytes = 0
  let lastBytes = 0
  const sample = () => {
    try {
      lastBytes = rssBytes(pid)
      peakBytes = Math.max(peakBytes, lastBytes)
    } catch {
      // exited
    }
  }
  sample()
  const timer = setInterval(sample, POLL_MS)
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      return { peakBytes, lastBytes }
    },
  }
}
