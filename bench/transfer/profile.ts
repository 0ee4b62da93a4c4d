/**
 * CPU profiles of a page's main thread over the DevTools protocol, saved for DevTools and summarised here
 * by self time, so the report names where a slow transfer spends its time (or that the thread is idle,
 * which puts the bottleneck elsewhere: the channel, the other browser, or the IndexedDB backend).
 */
import { writeFileSync } from 'node:fs'
import type { CDPSession } from 'playwright-core'

/** 1 ms sampling: fine enough for per-chunk work of a few ms, light enough not to skew the transfer. */
const SAMPLING_INTERVAL_US = 1000

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
  startTime: number
  endTime: number
}

export interface SelfTime {
  name: string
  ms: number
  share: number
}

export async function startProfile(cdp: CDPSession): Promise<void> {
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US })
  await cdp.send('Profiler.start')
}

export async function stopProfile(cdp: CDPSession, path: string): Promise<CpuProfile> {
  const { profile } = await cdp.send('Profiler.stop')
  await cdp.send('Profiler.disable')
  writeFileSync(path, JSON.stringify(profile))
  return profile as unknown as CpuProfile
}

/** Self time per function (name, file, line), largest first; `(idle)` is the thread waiting for work. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]))
  const totals = new Map<string, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let all = 0
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next one; the last sample has none.
    const us = deltas[i + 1] ?? 0
    const frame = byNode.get(samples[i]!)?.callFrame
    if (!frame) continue
    const file =
      frame.url
        .split('/')
        .at(-1)
        ?.replace(/-[A-Za-z0-9_-]{8}\.js$/, '.js') ?? ''
    const name = file
      ? `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`
      : frame.functionName
    totals.set(name, (totals.get(name) ?? 0) + us)
    all += us
  }
  return [...totals]
    .map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 }))
    .sort((a, b) => b.ms - a.ms)
}
