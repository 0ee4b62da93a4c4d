/**
 * Joining the ring after the welcome (issue 13, ring-host.ts `#rebootstrap`): peers whose welcome found
 * nobody to join through (the catalog was empty then) each start a ring of one; once a file is shared, the
 * tracker names its holder, and the lonely peers ask again, link it and heal into one ring. Before, the
 * engine asked the tracker for bootstrap holders only at the welcome, and such peers stayed alone for good
 * (the ring e2e formed its ring in only 2 of 6 runs).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { SwarmEngine } from '../../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../../web/peer/memory-link.js'
import { BOOTSTRAP_WAIT_MS } from '../../../web/peer/ring/ring-host.js'
import { bytesOf, openRingPeer, ringIsIdeal, shareBytes } from '../../support/ring-engines.js'
import { startTestServer } from '../../support/server.js'
import { until } from '../../support/until.js'

const engines: SwarmEngine[] = []

afterEach(() => {
  for (const engine of engines.splice(0)) engine.destroy()
})

describe('joining after the welcome', () => {
  it('peers alone since their welcome find a holder named later and heal into one ring', async () => {
    const server = await startTestServer()
    try {
      const network = new MemoryLinkNetwork()
      const peers = await Promise.all([0, 1, 2].map(() => openRingPeer(server.url, network)))
      engines.push(...peers.map((p) => p.engine))
      // Nobody holds anything: each welcome names no one, and after the bootstrap wait each is a ring of one.
      await until(() => peers.every((p) => p.engine.tracker.status.state === 'online'), 'all online')
      await new Promise((resolve) => setTimeout(resolve, BOOTSTRAP_WAIT_MS + 2_000))
      expect(peers.map((p) => p.engine.ringStatus().state)).toEqual(['alone', 'alone', 'alone'])
      await shareBytes(peers[0]!, bytesOf(100_000, 1), 'later.bin')
      await until(() => server.tracker.stats().files === 1)
      await until(() => ringIsIdeal(engines), 'one ring of three', 60_000).catch((e) => {
        for (const p of peers)
          console.log(
            p.engine.identity.peerId,
            JSON.stringify(p.engine.ringStatus()).slice(0, 400),
            p.engine.swarm.sessions.map((s) => s.peerId),
          )
        throw e
      })
    } finally {
      await server.close()
    }
  }, 90_000)
})
