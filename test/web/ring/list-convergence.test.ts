/**
 * How fast successor lists take in nodes that join (issue 12): with Zave's stabilise alone a node learns
 * its successor's list once a period, so a joiner reaches the r = 20 lists before it one period a node,
 * ~20 periods of 5 s (measured: 50–58 s after the last of 10 joiners became a member, seeds 3–5). A node
 * whose list changed now pushes it to its predecessor, which reconciles at once (ring-node.ts, PUSHED):
 * 2–11 s. Simulated time, so the bound below is a count of rounds, not a timing of this machine.
 */
import { describe, expect, it } from 'vitest'
import { settle } from '../../support/ring-sim/scenarios.js'
import { Simulation } from '../../support/ring-sim/simulation.js'

const STABILISE_MS = 5_000
const SIMULATION_TIMEOUT_MS = 120_000

describe('successor lists after joins', () => {
  it(
    'take in 10 joiners within 4 stabilise periods of the last one becoming a member (20 without the push)',
    async () => {
      const sim = new Simulation({ seed: 3, ring: { memberAfterMs: 0 }, network: { loss: 0 } })
      sim.addIdealRing(100)
      await sim.run(3 * 60_000)
      expect(await settle(sim, 2 * 60_000)).toEqual([])
      for (let i = 0; i < 10; i++) {
        sim.addNode()
        await sim.run(100)
      }
      while (sim.liveMembers().length < 110) await sim.run(1_000)
      const allMembers = sim.now
      while (sim.idealRingProblems().length > 0 && sim.now - allMembers < 30 * STABILISE_MS)
        await sim.run(1_000)
      expect(sim.idealRingProblems()).toEqual([])
      expect(sim.now - allMembers).toBeLessThanOrEqual(4 * STABILISE_MS)
      expect(sim.invariants.violations).toEqual([])
    },
    SIMULATION_TIMEOUT_MS,
  )
})
