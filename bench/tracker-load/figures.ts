/** Turning the workers' raw counts and latencies into the figures the benchmark prints. */
import type { RelayStepResult, RequestsResult } from './commands.js'
import type { GcPauses } from './server-ipc.js'

/** A relay step is saturated when less than this share of the target rate gets through… */
export const SATURATION_MIN_DELIVERED = 0.9
/** …or when its p99 latency exceeds this, in ms. */
export const SATURATION_P99_MS = 100
/** The generator, not the tracker, limited a step when it sent less than this share of its schedule. */
const GENERATOR_MIN_SENT = 0.9

export interface Latency {
  p50: number
  p99: number
  max: number
}

export interface PhaseFigures extends Latency {
  name: string
  wallMs: number
  ok: number
  failed: number
  errors: Record<string, number>
  meanItems: number
}

export interface StepFigures extends Latency {
  targetRate: number
  /** Offers and answers delivered within the step, per second. */
  achievedRate: number
  /** Offers and answers the generator sent (answers counted as delivered offers are answered), per second. */
  sentRate: number
  missing: number
  errors: Record<string, number>
  /** Other tracker messages per second (bittorrent-tracker's reply to each offer announce). */
  otherRate: number
  /** Heartbeat pings the peers received during the step (Swarmdrop pings every connection every 30 s). */
  pings: number
  trackerCpuPercent: number
  generatorCpuPercent: number
  /** Longest event-loop stall of the tracker and of the slowest worker during the step, in ms. */
  trackerLoopMaxMs: number
  /** The tracker's GC pauses during the step (server-ipc.ts), when its build reports them. */
  trackerGc?: GcPauses
  /** The tracker's longest event-loop gap and the CPU it used within it (server-ipc.ts). */
  trackerGap?: { wallMs: number; cpuMs: number }
  generatorLoopMaxMs: number
  generatorLimited: boolean
  saturated: boolean
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function latencyOf(parts: readonly Float64Array[], lost = 0): Latency {
  const total = parts.reduce((n, part) => n + part.length, 0)
  const all = new Float64Array(total + lost)
  let at = 0
  for (const part of parts) {
    all.set(part, at)
    at += part.length
  }
  // A message that never arrived is slower than any that did.
  all.fill(Number.POSITIVE_INFINITY, at)
  all.sort()
  return {
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all.length ? all[all.length - 1]! : Number.NaN,
  }
}

function mergeCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n
  return into
}

export function phaseFigures(name: string, wallMs: number, results: readonly RequestsResult[]): PhaseFigures {
  const ok = results.reduce((n, r) => n + r.ok, 0)
  const items = results.reduce((n, r) => n + (r.meanItems ?? 0) * r.ok, 0)
  return {
    name,
    wallMs,
    ok,
    failed: results.reduce((n, r) => n + r.failed, 0),
    errors: results.reduce((all, r) => mergeCounts(all, r.errors), {}),
    meanItems: ok > 0 ? items / ok : 0,
    ...latencyOf(results.map((r) => r.latenciesMs)),
  }
}

export function stepFigures(
  targetRate: number,
  durationMs: number,
  wallMs: number,
  results: readonly RelayStepResult[],
  cpu: { trackerMs: number; generatorMs: number },
  trackerLoopMaxMs: number,
): StepFigures {
  const sum = (pick: (r: RelayStepResult) => number) => results.reduce((n, r) => n + pick(r), 0)
  const seconds = durationMs / 1000
  const missing = sum((r) => r.missing)
  const latency = latencyOf(
    results.map((r) => r.latenciesMs),
    missing,
  )
  const achievedRate = sum((r) => r.deliveredInWindow) / seconds
  const scheduled = sum((r) => r.scheduledOffers)
  const sentOffers = sum((r) => r.sentOffers)
  return {
    targetRate,
    achievedRate,
    sentRate: (sentOffers * 2) / seconds,
    missing,
    errors: results.reduce((all, r) => mergeCounts(all, r.errors), {}),
    otherRate: sum((r) => r.otherMessages) / seconds,
    pings: sum((r) => r.pings),
    trackerCpuPercent: (100 * cpu.trackerMs) / wallMs,
    generatorCpuPercent: (100 * cpu.generatorMs) / wallMs,
    trackerLoopMaxMs,
    generatorLoopMaxMs: Math.max(...results.map((r) => r.loopMaxMs)),
    generatorLimited: sentOffers < GENERATOR_MIN_SENT * scheduled,
    saturated: achievedRate < SATURATION_MIN_DELIVERED * targetRate || latency.p99 > SATURATION_P99_MS,
    ...latency,
  }
}

export const formatMs = (ms: number): string =>
  !Number.isFinite(ms)
    ? Number.isNaN(ms)
      ? '—'
      : 'lost'
    : ms < 10
      ? ms.toFixed(2)
      : ms < 100
        ? ms.toFixed(1)
        : ms.toFixed(0)

export const formatMiB = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0)

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US')

export const formatCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([key, n]) => `${key} ×${n}`)
    .join(', ') || 'none'
