/**
 * The finger connection budget (ring-options `fingerConnectionsPerHour`, `fingerConnectionBurst`): a node
 * dials a finger it has no link to, or gives its slot to someone else's finger, only with a token, because
 * both cost a tab one of the ~500 RTCPeerConnections Chromium allows it. A ring started whole in the
 * simulator, where every node wants 7 fingers at once, shows the bucket's burst binding.
 */
import { describe, expect, it } from 'vitest'
import type { RingOptions } from '../../../web/peer/ring/ring-options.js'
import { Simulation } from '../../support/ring-sim/simulation.js'

const N = 80
/** Links of a member with no finger: its predecessor, 2 linked successors, and the 2 members before it. */
const NEIGHBOUR_LINKS = 4

async function settledRing(ring: RingOptions): Promise<number[]> {
  const sim = new Simulation({ seed: 31, ring: { memberAfterMs: 0, ...ring }, network: { loss: 0 } })
  sim.addIdealRing(N)
  await sim.run(3 * 60_000)
  expect(sim.invariants.violations).toEqual([])
  return sim.liveNodes().map((node) => node.node.ringLinkCount())
}

describe('the finger connection budget', () => {
  it('opens no finger link with an empty bucket, where the same ring without it links fingers', async () => {
    const unlimited = await settledRing({ fingerConnectionBurst: 1_000 })
    const mean = unlimited.reduce((sum, links) => sum + links, 0) / N
    expect(mean).toBeGreaterThan(NEIGHBOUR_LINKS + 3) // fingers there are, without a budget

    const none = await settledRing({ fingerConnectionBurst: 0, fingerConnectionsPerHour: 0 })
    // A link that is open already may serve as a finger at no cost (a neighbour's, or one a node kept):
    // at most one such beyond the neighbours here, against ~7 fingers a node without the budget.
    expect(Math.max(...none)).toBeLessThanOrEqual(NEIGHBOUR_LINKS + 1)
    expect(none.reduce((sum, links) => sum + links, 0) / N).toBeLessThan(NEIGHBOUR_LINKS + 0.5)
  }, 120_000)
})
