/**
 * The experiments of issue 12's acceptance list, on a Simulation: build a ring, publish and look up
 * records, fail half the nodes at once, churn with Weibull sessions, count the keys a join or a leave
 * moves, and measure traffic and connections. The test suite runs them at N = 1,000 and asserts
 * correctness; the benchmark (bench/dht) runs them at N = 10,000 and prints the figures.
 */
import { toHex } from '../../../shared/encoding.js'
import type { SignedRecord } from '../../../shared/ring-records.js'
import type { PutReport } from '../../../web/peer/ring/publisher.js'
import type { LookupResult } from '../../../web/peer/ring/ring-node.js'
import type { RingOptions } from '../../../web/peer/ring/ring-options.js'
import type { PeerCounters } from './sim-network.js'
import type { PublishedRecord, SimNode, Simulation } from './simulation.js'

/**
 * Ring options for a ring grown by joins in a few simulated minutes: nodes join at once (not after the
 * product's 10 min as clients) and take fingers from others after 2 min (not 10), or a ring younger than
 * that would route without fingers.
 */
export const GROWN_BY_JOINS = Object.freeze({ memberAfterMs: 0, fingerMinAgeMs: 2 * 60_000 })

/** Time between waves of joins while a ring is built: a few stabilise rounds. */
const WAVE_SETTLE_MS = 20_000
/** How often a settling ring is checked against the ideal. */
const SETTLE_CHECK_MS = 10_000

/**
 * Grows the ring to `n` nodes: each wave doubles it, the joiners spread over a few seconds, then the
 * ring settles until it is ideal (or `maxSettleMs` passes). Returns the simulated time taken.
 */
export async function buildRing(
  sim: Simulation,
  n: number,
  options: { maxSettleMs?: number; hostileShare?: number } = {},
): Promise<number> {
  const started = sim.now
  const hostile = () => sim.prng.next() < (options.hostileShare ?? 0)
  if (sim.liveNodes().length === 0) {
    sim.addNode()
    await sim.run(1_000)
  }
  while (sim.liveNodes().length < n) {
    const add = Math.min(sim.liveNodes().length, n - sim.liveNodes().length)
    const spreadMs = 2_000 + add * 2
    for (let i = 0; i < add; i++) {
      sim.addNode({ hostile: hostile() })
      await sim.run(spreadMs / add)
    }
    await sim.run(WAVE_SETTLE_MS)
  }
  await settle(sim, options.maxSettleMs ?? 600_000)
  return sim.now - started
}

/** Runs until the ring is ideal (checked every 10 s), at most `maxMs`; the problems left, if any. */
export async function settle(sim: Simulation, maxMs: number): Promise<string[]> {
  let problems = sim.idealRingProblems()
  for (let waited = 0; problems.length > 0 && waited < maxMs; waited += SETTLE_CHECK_MS) {
    await sim.run(SETTLE_CHECK_MS)
    problems = sim.idealRingProblems()
  }
  return problems
}

export interface PublishOutcome {
  records: PublishedRecord[]
  /** Milliseconds from each put's start to its first replica's acknowledgement (stored puts). */
  putMs: number[]
  failed: number
}

/** A random digest (64 hex characters). */
export function randomDigest(sim: Simulation): string {
  return toHex(sim.prng.bytes32())
}

/**
 * `count` provider records (and, for one in `nameEvery`, a name record of the same file) published by
 * random live nodes, `perSecond` at a time across the ring. Runs until every put is done.
 */
export async function publish(
  sim: Simulation,
  count: number,
  options: { perSecond?: number; nameEvery?: number; from?: SimNode[] } = {},
): Promise<PublishOutcome> {
  const perSecond = options.perSecond ?? 200
  const nameEvery = options.nameEvery ?? 10
  const reports: Promise<PutReport[]>[] = []
  for (let i = 0; i < count; i++) {
    const from = sim.prng.pick(options.from ?? sim.liveMembers().filter((node) => !node.hostile))
    const digest = randomDigest(sim)
    reports.push(from.node.provide(digest, 1 + sim.prng.int(4096)))
    if (nameEvery > 0 && i % nameEvery === 0) {
      reports.push(
        from.node.publishName(digest, `${NAMES[i % NAMES.length]}-${i}.bin`, 1 + sim.prng.int(2 ** 30), 64),
      )
    }
    if (i % perSecond === perSecond - 1) await sim.run(1_000)
  }
  const done = (await sim.settle(Promise.all(reports))).flat()
  const publishers = new Map<string, string>()
  for (const node of sim.nodes.values()) publishers.set(node.publicKey, node.id)
  return {
    records: done
      .filter((report) => report.stored)
      .map((report) => ({
        key: report.key,
        record: report.record,
        publisher: publishers.get(toHex(report.record.publisher)) ?? '',
      })),
    putMs: done.filter((report) => report.stored).map((report) => report.ms),
    failed: done.filter((report) => !report.stored).length,
  }
}

const NAMES = ['holiday photos', 'thesis draft', 'band rehearsal', 'garden plan', 'tax return', 'recipe book']

export interface LookupOutcome {
  attempted: number
  /** Lookups that returned the record looked for. */
  succeeded: number
  hops: number[]
  ms: number[]
  /** Records returned that no honest publisher signed (must stay 0). */
  forgedAccepted: number
  /** Lookups for a record no live node held any more when the lookup started (all its replicas died). */
  lost: number
  /** The lookups that did not return their record: who asked for what (to analyse why). */
  failures: { from: SimNode; target: PublishedRecord; result: LookupResult }[]
}

/**
 * The records a lookup can be expected to return: provider records, and name records under keys that
 * hold no more records than one answer carries (a token common to hundreds of names, like "bin", returns
 * the newest that fit; search intersects tokens, so the rare ones decide).
 */
export function lookupTargets(records: PublishedRecord[], perKey = 64): PublishedRecord[] {
  const count = new Map<string, number>()
  for (const { key } of records) count.set(key, (count.get(key) ?? 0) + 1)
  return records.filter(({ key }) => count.get(key)! <= perKey)
}

function emptyOutcome(): LookupOutcome {
  return { attempted: 0, succeeded: 0, hops: [], ms: [], forgedAccepted: 0, lost: 0, failures: [] }
}

/**
 * `count` lookups, `perSecond` at a time, each from a random live node (not hostile) for a random record
 * of `records`; a lookup succeeds when it returns that record, verified.
 */
export async function lookups(
  sim: Simulation,
  records: PublishedRecord[],
  count: number,
  options: { perSecond?: number } = {},
): Promise<LookupOutcome> {
  const perSecond = options.perSecond ?? 100
  const genuine = sim.genuineSignatures
  const outcome = emptyOutcome()
  const pending: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const from = sim.prng.pick(sim.liveNodes().filter((node) => !node.hostile))
    const target = sim.prng.pick(records)
    outcome.attempted++
    if (!heldAnywhere(sim, target)) outcome.lost++
    pending.push(
      from.node.lookup(target.record.kind, target.key).then((result) => {
        for (const record of result.records)
          if (!genuine.has(toHex(record.signature))) outcome.forgedAccepted++
        if (result.records.some((record) => sameSlot(record, target.record))) {
          outcome.succeeded++
          outcome.hops.push(result.hops)
          outcome.ms.push(result.ms)
        } else outcome.failures.push({ from, target, result })
      }),
    )
    if (i % perSecond === perSecond - 1) await sim.run(1_000)
  }
  await sim.settle(Promise.all(pending))
  return outcome
}

/**
 * Lookups launched by the simulation's own clock, `perSecond` a second until `untilMs`, whatever else
 * runs meanwhile (churn); each from a random live node that is not hostile, for a random record of
 * `records` that has not expired. Returns the outcome, filled in as lookups finish, and a promise of the
 * moment all have.
 */
export function backgroundLookups(
  sim: Simulation,
  records: PublishedRecord[],
  perSecond: number,
  untilMs: number,
): { outcome: LookupOutcome; done: Promise<LookupOutcome> } {
  const outcome = emptyOutcome()
  const genuine = sim.genuineSignatures
  const pending: Promise<void>[] = []
  let finished!: () => void
  const launched = new Promise<void>((resolve) => (finished = resolve))
  const tick = () => {
    if (sim.now >= untilMs) return finished()
    const nowS = Math.floor(sim.now / 1000)
    const live = records.filter((published) => published.record.expiresAt > nowS + 30)
    const askers = sim.liveNodes().filter((node) => !node.hostile)
    for (let i = 0; i < perSecond && live.length > 0 && askers.length > 0; i++) {
      const target = sim.prng.pick(live)
      outcome.attempted++
      pending.push(
        sim.prng
          .pick(askers)
          .node.lookup(target.record.kind, target.key)
          .then((result) => {
            for (const record of result.records)
              if (!genuine.has(toHex(record.signature))) outcome.forgedAccepted++
            if (!result.records.some((record) => sameSlot(record, target.record))) return
            outcome.succeeded++
            outcome.hops.push(result.hops)
            outcome.ms.push(result.ms)
          }),
      )
    }
    sim.clock.setTimeout(tick, 1_000)
  }
  tick()
  return { outcome, done: launched.then(() => Promise.all(pending)).then(() => outcome) }
}

/** Whether some live node still holds this record (in its slot: any version of it). */
function heldAnywhere(sim: Simulation, target: PublishedRecord): boolean {
  const nowS = Math.floor(sim.now / 1000)
  return sim
    .liveNodes()
    .some((node) =>
      node.node.store.recordsUnder(target.key, nowS).some((record) => sameSlot(record, target.record)),
    )
}

function sameSlot(a: SignedRecord, b: SignedRecord): boolean {
  return a.kind === b.kind && a.digest === b.digest && toHex(a.publisher) === toHex(b.publisher)
}

/** Records held by honest nodes that no honest node signed: forged records that got stored (must be 0). */
export function forgedStored(sim: Simulation): number {
  let forged = 0
  const nowS = Math.floor(sim.now / 1000)
  for (const node of sim.liveNodes()) {
    if (node.hostile) continue
    for (const key of node.node.store.keys()) {
      for (const record of node.node.store.recordsUnder(key, nowS)) {
        if (!sim.genuineSignatures.has(toHex(record.signature))) forged++
      }
    }
  }
  return forged
}

/** Crashes `fraction` of the live nodes at once; returns them. */
export function massFailure(sim: Simulation, fraction: number): SimNode[] {
  const live = sim.liveNodes()
  const victims: SimNode[] = []
  for (const node of live) if (sim.prng.next() < fraction) victims.push(node)
  for (const node of victims) sim.crash(node)
  return victims
}

export interface ChurnOptions {
  durationMs: number
  /** Median session length; default 2 minutes (DHT.md). */
  medianSessionMs?: number
  /** Weibull shape; default 0.5 (Stutzbach & Rejaie: 0.34–0.59). */
  shape?: number
  /** Share of departures that close the tab (a goodbye) rather than crash. Default 0. */
  graceful?: number
  /** Ring options of the nodes that arrive (client mode: `memberAfterMs`). */
  ring?: RingOptions
}

/**
 * Churn at a steady population: each live node's session ends after a Weibull draw (crash or leave), and
 * new nodes arrive at the rate that keeps the population where it started (Little's law).
 */
export async function churn(
  sim: Simulation,
  options: ChurnOptions,
): Promise<{ joined: number; left: number }> {
  const median = options.medianSessionMs ?? 120_000
  const shape = options.shape ?? 0.5
  const population = sim.liveNodes().length
  // Mean of a Weibull: scale · Γ(1 + 1/shape); Γ(3) = 2 for shape 0.5.
  const meanSession = (median / Math.log(2) ** (1 / shape)) * gamma(1 + 1 / shape)
  const arrivalGapMs = meanSession / population
  let joined = 0
  let left = 0
  const end = sim.now + options.durationMs
  const scheduleEnd = (node: SimNode, session: number) => {
    sim.clock.setTimeout(() => {
      if (!node.alive || sim.now >= end) return
      left++
      if (sim.prng.next() < (options.graceful ?? 0)) sim.depart(node)
      else sim.crash(node)
    }, session)
  }
  // Nodes already up are mid-session: their remaining time follows the equilibrium residual law (a
  // length-biased session, times a uniform share), or the population would collapse at the start.
  for (const node of sim.liveNodes()) scheduleEnd(node, residualWeibull(sim, shape, median))
  while (sim.now < end) {
    const gap = sim.prng.exponential(arrivalGapMs)
    await sim.run(Math.min(gap, end - sim.now))
    if (sim.now >= end) break
    scheduleEnd(sim.addNode({ ring: options.ring }), sim.prng.weibull(shape, median))
    joined++
  }
  return { joined, left }
}

/**
 * Remaining time of a session seen at a random moment: length-biased Weibull times a uniform share. With
 * X = (S/scale)^shape, a length-biased S has X ~ Gamma(1 + 1/shape); sampled here for 1/shape an
 * integer (shape 0.5: the sum of three exponentials), else approximated by an ordinary draw.
 */
function residualWeibull(sim: Simulation, shape: number, median: number): number {
  const scale = median / Math.log(2) ** (1 / shape)
  const k = 1 + 1 / shape
  if (!Number.isInteger(k)) return sim.prng.weibull(shape, median)
  let x = 0
  for (let i = 0; i < k; i++) x += sim.prng.exponential(1)
  return sim.prng.next() * scale * x ** (1 / shape)
}

/** Lanczos approximation of Γ, for the Weibull mean. */
function gamma(z: number): number {
  const g = 7
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  if (z < 0.5) return Math.PI / (Math.sin(Math.PI * z) * gamma(1 - z))
  const x = z - 1
  let a = c[0]!
  const t = x + g + 0.5
  for (let i = 1; i < g + 2; i++) a += c[i]! / (x + i)
  return Math.sqrt(2 * Math.PI) * t ** (x + 0.5) * Math.exp(-t) * a
}

export interface TrafficFigures {
  /** Bytes sent per node per minute: all ring traffic, upkeep only, records only. */
  allPerMinute: number
  maintenancePerMinute: number
  recordsPerMinute: number
  /** Connections created per node per hour, over every node's time online in the window. */
  connectionsPerHour: number
  /** The same for the nodes online through the whole window: the long-lived tabs whose budget matters. */
  connectionsPerHourLongLived: number
  /** Frames the receivers' budgets dropped. */
  overBudget: number
}

/**
 * Traffic between two counter snapshots, per node-minute online in the window (nodes that came or went
 * count for the time they were up).
 */
export function trafficBetween(
  sim: Simulation,
  before: Map<string, PeerCounters>,
  after: Map<string, PeerCounters>,
  fromMs: number,
  toMs: number,
): TrafficFigures {
  let nodeMs = 0
  let longLivedMs = 0
  let longLivedConnections = 0
  const sums = { all: 0, maintenance: 0, records: 0, connections: 0, overBudget: 0 }
  for (const [id, end] of after) {
    const node = sim.nodes.get(id)!
    const up = Math.min(toMs, node.diedMs ?? toMs) - Math.max(fromMs, node.bornMs)
    if (up <= 0) continue
    nodeMs += up
    const start = before.get(id)
    sums.all += end.bytesSent - (start?.bytesSent ?? 0)
    sums.maintenance += end.sentByKind.maintenance - (start?.sentByKind.maintenance ?? 0)
    sums.records += end.sentByKind.records - (start?.sentByKind.records ?? 0)
    sums.connections += end.connectionsCreated - (start?.connectionsCreated ?? 0)
    if (node.bornMs <= fromMs && (node.diedMs ?? toMs) >= toMs) {
      longLivedMs += up
      longLivedConnections += end.connectionsCreated - (start?.connectionsCreated ?? 0)
    }
    sums.overBudget += end.overBudget - (start?.overBudget ?? 0)
  }
  const minutes = nodeMs / 60_000
  return {
    allPerMinute: sums.all / minutes,
    maintenancePerMinute: sums.maintenance / minutes,
    recordsPerMinute: sums.records / minutes,
    connectionsPerHour: sums.connections / (minutes / 60),
    connectionsPerHourLongLived: longLivedConnections / (longLivedMs / 3_600_000),
    overBudget: sums.overBudget,
  }
}

/** The p-quantile (0..1) of `values`; NaN for none. */
export function quantile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length
}
