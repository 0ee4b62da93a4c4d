/**
 * The ring under adversity in the simulator, at small N so the suite stays lean (bench/dht runs churn at
 * N = 1,000 and hostile nodes at N = 10,000 and prints the figures): Weibull churn with lookups running
 * throughout, then quiescence; and 10% hostile nodes that drop what they should pass on or store and
 * answer with forged records. Seeded, so each run is the same run; the network loses 0.1% of frames.
 */
import { describe, expect, it } from 'vitest'
import {
  backgroundLookups,
  buildRing,
  churn,
  forgedStored,
  GROWN_BY_JOINS,
  lookups,
  lookupTargets,
  publish,
  settle,
} from '../../support/ring-sim/scenarios.js'
import { Simulation } from '../../support/ring-sim/simulation.js'

const MINUTE = 60_000
/**
 * A safety net against a hung simulation, not a timing assertion: a phase takes seconds of CPU, but this
 * machine is shared by five engineers' suites and benchmarks, and at a load of 15 on 2 cores the wall
 * time is five to seven times the CPU time.
 */
const SIMULATION_TIMEOUT_MS = 600_000

describe('the ring under adversity', () => {
  it(
    'keeps answering lookups through Weibull churn (median session 2 min) and heals into one ring',
    async () => {
      const sim = new Simulation({ seed: 7, ring: GROWN_BY_JOINS })
      await buildRing(sim, 100)
      const published = await publish(sim, 100)
      const background = backgroundLookups(sim, lookupTargets(published.records), 5, sim.now + 2 * MINUTE)
      const moved = await churn(sim, { durationMs: 2 * MINUTE })
      const outcome = await sim.settle(background.done)
      expect(moved.left).toBeGreaterThan(10)
      expect(moved.joined).toBeGreaterThan(10)
      expect(outcome.attempted).toBeGreaterThan(500)
      expect(outcome.succeeded / outcome.attempted).toBeGreaterThanOrEqual(0.98)
      expect(outcome.forgedAccepted).toBe(0)
      expect(sim.invariants.violations).toEqual([])
      expect(await settle(sim, 10 * MINUTE)).toEqual([])
      expect(sim.invariants.verifyFromScratch().ok).toBe(true)
    },
    SIMULATION_TIMEOUT_MS,
  )

  it(
    'finds records past 10% hostile nodes, and neither accepts nor stores a forged one',
    async () => {
      const sim = new Simulation({ seed: 13, ring: GROWN_BY_JOINS })
      await buildRing(sim, 200, { hostileShare: 0.1 })
      expect(sim.liveNodes().filter((node) => node.hostile).length).toBeGreaterThan(10)
      const published = await publish(sim, 200)
      expect(published.failed).toBe(0)
      await sim.run(30_000)
      const outcome = await lookups(sim, lookupTargets(published.records), 300)
      // The hostile nodes did their worst: dropped frames and sent forged records.
      expect(sim.hostileLog.dropped).toBeGreaterThan(0)
      expect(sim.hostileLog.forged).toBeGreaterThan(0)
      // The issue's ≥ 99%. This seed found 285 of 300 (95%) before a retried put walked back to the replica it
      // aims at (a put the hostile owner dropped was left on the last replica alone: docs/BENCHMARKS.md, DHT);
      // 300 of 300 since.
      expect(outcome.succeeded / outcome.attempted).toBeGreaterThanOrEqual(0.99)
      expect(outcome.forgedAccepted).toBe(0)
      expect(forgedStored(sim)).toBe(0)
    },
    SIMULATION_TIMEOUT_MS,
  )

  it(
    'gets round a quarter of hostile nodes: attempts leave by other first hops, puts enter the chain twice',
    async () => {
      // A quarter hostile at N = 200 meets about as many droppers a lookup as 10% does at N = 10,000
      // (bench/dht --diagnose: lookups that failed there met a swallowing first hop again and again, or
      // honest replicas left empty behind two hostile ones). Seed 1 found 369 of 400 (92.25%) before
      // disjoint first hops and the second put; 390 since (seeds 2, 3: 369 → 385, 359 → 380).
      const sim = new Simulation({ seed: 1, ring: { memberAfterMs: 0 } })
      sim.addIdealRing(200, { hostileShare: 0.25 })
      await sim.run(3 * MINUTE)
      const published = await publish(sim, 300)
      await sim.run(30_000)
      const outcome = await lookups(sim, lookupTargets(published.records), 400)
      expect(outcome.succeeded / outcome.attempted).toBeGreaterThanOrEqual(0.96)
      expect(outcome.forgedAccepted).toBe(0)
      expect(forgedStored(sim)).toBe(0)
    },
    SIMULATION_TIMEOUT_MS,
  )
})
