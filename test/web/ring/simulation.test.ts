/**
 * The ring at N = 1,000 in the simulator (issue 12): real RingNode code, seeded, on simulated WebRTC links
 * (latency, dial cost and failures, the link caps), with Zave's invariant checked after every event. One
 * ring is built and then put through its paces in order: records, a join, a leave, and half of it
 * crashing at once. Correctness only; the figures are bench/dht's.
 *
 * Frames are not lost here: data channels are reliable, and exact key-movement accounting needs every
 * push to arrive. Loss (a frame gone with a link that breaks) is simulated in the churn and hostile
 * suite (ring-adversity.test.ts) and in the benchmark.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { betweenRightIncl } from '../../../web/peer/ring/ids.js'
import {
  buildRing,
  GROWN_BY_JOINS,
  lookups,
  lookupTargets,
  massFailure,
  publish,
  settle,
} from '../../support/ring-sim/scenarios.js'
import { type PublishedRecord, Simulation } from '../../support/ring-sim/simulation.js'

const N = 1000
const K = 8
const MINUTE = 60_000
/**
 * A safety net against a hung simulation, not a timing assertion: a phase takes seconds of CPU, but this
 * machine is shared by five engineers' suites and benchmarks, and at a load of 15 on 2 cores the wall
 * time is five to seven times the CPU time.
 */
const SIMULATION_TIMEOUT_MS = 600_000
/**
 * Shorter than the product's (60 s, 10 min) so that the phases that wait for them fit in the minute the
 * suite may take on this 2-core machine; what they check does not depend on the length.
 */
const PRUNE_GRACE_MS = 20_000
const SYNC_MS = 3 * MINUTE

describe(`the ring simulated at N = ${N}`, () => {
  const sim = new Simulation({
    seed: 2026,
    ring: { ...GROWN_BY_JOINS, pruneGraceMs: PRUNE_GRACE_MS, syncMs: SYNC_MS },
    network: { loss: 0 },
  })
  let records: PublishedRecord[] = []

  beforeAll(async () => {
    await buildRing(sim, N)
  }, SIMULATION_TIMEOUT_MS)

  const sorted = () =>
    sim
      .liveMembers()
      .map((node) => node.id)
      .sort()
  /** Records under keys in (from, to]. */
  const inRange = (from: string, to: string) => records.filter(({ key }) => betweenRightIncl(from, key, to))

  it('grows into the ideal ring, keeping Zave’s invariant after every event once it held', () => {
    expect(sim.idealRingProblems()).toEqual([])
    expect(sim.invariants.armedAt).not.toBeNull()
    expect(sim.invariants.violations).toEqual([])
    expect(sim.checks).toBe(sim.clock.events)
    expect(sim.invariants.verifyFromScratch()).toEqual({ ok: true, withoutLiveSuccessor: 0, principals: N })
    expect(Math.max(...sim.liveNodes().map((node) => node.node.ringLinkCount()))).toBeLessThanOrEqual(16)
  })

  it(
    'keeps every record on the first 8 successors of its key, and finds it again',
    async () => {
      const outcome = await publish(sim, N / 2)
      records = outcome.records
      expect(outcome.failed).toBe(0)
      await sim.run(10_000)
      expect(sim.placementProblems(records)).toEqual([])
      const found = await lookups(sim, lookupTargets(records), 400)
      expect(found.succeeded).toBe(found.attempted)
      expect(found.forgedAccepted).toBe(0)
    },
    SIMULATION_TIMEOUT_MS,
  )

  it(
    'hands a joining node exactly the keys it becomes a replica of, and nobody else anything',
    async () => {
      sim.countMovements(true)
      const joiner = sim.addNode()
      expect(await settle(sim, 5 * MINUTE)).toEqual([])
      await sim.run(10_000)
      const members = sorted()
      const at = members.indexOf(joiner.id)
      const range = inRange(members[(at - K + members.length) % members.length]!, joiner.id)
      expect(range.length).toBeGreaterThan(0)
      expect(sim.movements.every((move) => move.node === joiner.id && move.via === 'replicate')).toBe(true)
      expect(sim.movements.map((move) => move.key).sort()).toEqual(range.map(({ key }) => key).sort())
      // The node that stopped being the 8th replica drops its copies after the grace.
      await sim.run(2 * PRUNE_GRACE_MS + 10_000)
      expect(sim.placementProblems(records)).toEqual([])
      const nowS = Math.floor(sim.now / 1000)
      for (const { key } of range) {
        const holders = sim.liveNodes().filter((node) => node.node.store.recordsUnder(key, nowS).length > 0)
        expect(holders.length).toBe(K)
      }
      sim.countMovements(false)
    },
    SIMULATION_TIMEOUT_MS,
  )

  it(
    'copies a leaving node’s keys once each, to the member that takes its place as a replica',
    async () => {
      const before = sorted()
      const leaver = sim.nodes.get(before[Math.floor(before.length / 3)]!)!
      const at = before.indexOf(leaver.id)
      const range = inRange(before[(at - K + before.length) % before.length]!, leaver.id)
      sim.countMovements(true)
      sim.depart(leaver)
      expect(await settle(sim, 5 * MINUTE)).toEqual([])
      await sim.run(10_000)
      const after = sorted()
      const newReplica = (key: string) => {
        let owner = after.findIndex((id) => id >= key)
        if (owner < 0) owner = 0
        return after[(owner + K - 1) % after.length]
      }
      expect(sim.movements.length).toBe(range.length)
      for (const move of sim.movements) {
        expect(range.some(({ key }) => key === move.key)).toBe(true)
        expect(move.node).toBe(newReplica(move.key))
      }
      expect(sim.placementProblems(records)).toEqual([])
      sim.countMovements(false)
    },
    SIMULATION_TIMEOUT_MS,
  )

  it(
    'finds ≥ 99% of surviving records 10 s after half the ring crashed, then heals into one ideal ring',
    async () => {
      massFailure(sim, 0.5)
      await sim.run(10_000)
      const found = await lookups(sim, lookupTargets(records), 400)
      // A record whose 8 replicas all crashed is gone (0.5^8 = 0.4% expected; a seed of 1,000 nodes may lose
      // a few times that): routing must find the others. bench/dht reports the raw figure at N = 10,000.
      expect(found.lost / found.attempted).toBeLessThan(0.02)
      expect(found.succeeded / (found.attempted - found.lost)).toBeGreaterThanOrEqual(0.99)
      expect(found.forgedAccepted).toBe(0)
      expect(await settle(sim, 10 * MINUTE)).toEqual([])
      expect(sim.invariants.violations).toEqual([])
      // Owners push what they took over to the members new to their replica sets, and push their whole
      // range again every sync period (10 minutes in the product): then every record that still has a
      // copy is back on 8 replicas.
      await sim.run(SYNC_MS + MINUTE)
      const nowS = Math.floor(sim.now / 1000)
      const surviving = records.filter(({ key }) =>
        sim.liveNodes().some((node) => node.node.store.recordsUnder(key, nowS).length > 0),
      )
      expect(sim.placementProblems(surviving)).toEqual([])
      expect(sim.invariants.verifyFromScratch().ok).toBe(true)
    },
    SIMULATION_TIMEOUT_MS,
  )
})

describe('a ring built whole in its ideal state (how bench/dht starts its rings of 10,000)', () => {
  it(
    'stays ideal while its members link neighbours and fingers, and places and finds records',
    async () => {
      const sim = new Simulation({ seed: 31, ring: { memberAfterMs: 0 }, network: { loss: 0 } })
      sim.addIdealRing(300)
      expect(sim.idealRingProblems()).toEqual([])
      expect(sim.invariants.verifyFromScratch()).toEqual({
        ok: true,
        withoutLiveSuccessor: 0,
        principals: 300,
      })
      await sim.run(3 * MINUTE)
      expect(await settle(sim, 2 * MINUTE)).toEqual([])
      expect(sim.invariants.violations).toEqual([])
      const links = sim.liveNodes().map((node) => node.node.ringLinkCount())
      expect(Math.max(...links)).toBeLessThanOrEqual(16)
      // Fingers, not only the 4–6 neighbour links: routing has short cuts.
      expect(links.reduce((a, b) => a + b, 0) / links.length).toBeGreaterThan(8)
      const outcome = await publish(sim, 200)
      expect(outcome.failed).toBe(0)
      await sim.run(10_000)
      expect(sim.placementProblems(outcome.records)).toEqual([])
      const found = await lookups(sim, lookupTargets(outcome.records), 200)
      expect(found.succeeded).toBe(found.attempted)
    },
    SIMULATION_TIMEOUT_MS,
  )
})
