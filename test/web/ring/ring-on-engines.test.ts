/**
 * The ring on real engines (session-transport.ts): four SwarmEngines on one real tracker, their links set up
 * through it (signed offers and answers, in-memory links instead of WebRTC), each with a RingNode whose
 * transport is the frame router. They form one ring, a record published by one is found by another, and
 * the ring's links are claimed, within its share of the tab's links.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { RunningServer } from '../../../signal/server.js'
import { systemClock } from '../../../web/peer/clock.js'
import { SwarmEngine } from '../../../web/peer/engine.js'
import { webCryptoRing } from '../../../web/peer/identity.js'
import { MemoryLinkNetwork } from '../../../web/peer/memory-link.js'
import { RingNode } from '../../../web/peer/ring/ring-node.js'
import { MAX_CLAIMED_RING_LINKS, SessionRingTransport } from '../../../web/peer/ring/session-transport.js'
import { MemoryChunkStore } from '../../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../../web/storage/memory-file-store.js'
import { startTestServer } from '../../support/server.js'
import { until } from '../../support/until.js'

const engines: SwarmEngine[] = []
const nodes: RingNode[] = []
const servers: RunningServer[] = []

afterEach(async () => {
  for (const node of nodes.splice(0)) node.destroy()
  for (const engine of engines.splice(0)) engine.destroy()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** Ring timings for a test of a few seconds: members at once, stabilising several times a second. */
const FAST = {
  memberAfterMs: 0,
  stabiliseMs: 200,
  fingerFixMs: 500,
  requestTimeoutMs: 1000,
  lookupAttemptMs: 1000,
}

async function openEngine(url: string, network: MemoryLinkNetwork): Promise<SwarmEngine> {
  const engine = await SwarmEngine.open({
    trackerUrl: url,
    createSocket: (u) => new WebSocket(u),
    chunks: new MemoryChunkStore(),
    files: new MemoryFileStore(),
    createLink: network.createLink,
    // This test builds its own RingNode on the engine's router (the product's is ring-host.ts).
    ring: false,
  })
  engines.push(engine)
  await until(() => engine.tracker.status.state === 'online')
  return engine
}

function ringOn(
  engine: SwarmEngine,
  bootstrap: string[],
): { node: RingNode; transport: SessionRingTransport } {
  const transport = new SessionRingTransport({
    handle: (protocol) => engine.protocols.handle(protocol),
    openSession: (peerId) => engine.openSession(peerId),
  })
  const node = new RingNode({
    identity: engine.identity,
    transport,
    crypto: webCryptoRing,
    clock: systemClock,
    bootstrap: () => bootstrap,
    options: FAST,
  })
  nodes.push(node)
  node.start()
  return { node, transport }
}

describe('the ring on the frame router', () => {
  it('forms one ring over real engines and a tracker, and answers a lookup for a published record', async () => {
    const server = await startTestServer()
    servers.push(server)
    const network = new MemoryLinkNetwork()
    const all = await Promise.all([1, 2, 3, 4].map(() => openEngine(server.url, network)))
    // Each node joins through the ones before it, as a tab would through the peers the tracker names.
    const rings = all.map((engine, i) =>
      ringOn(
        engine,
        all.slice(0, i).map((e) => e.identity.peerId),
      ),
    )

    // One ring: every node a member, and each one's successor the next node id round the circle.
    const sorted = all.map((engine) => engine.identity.nodeId).sort()
    const successorOf = (id: string) => sorted[(sorted.indexOf(id) + 1) % sorted.length]
    const predecessorOf = (id: string) => sorted[(sorted.indexOf(id) + sorted.length - 1) % sorted.length]
    const ideal = () =>
      rings.every(({ node }) => {
        const { member, successors, pred } = node.snapshot()
        return member && successors[0] === successorOf(node.id) && pred === predecessorOf(node.id)
      })
    await until(ideal, 'the ideal ring of four', 20_000)

    // The first publishes that it holds a file; the last finds it through the ring.
    const digest = 'cd'.repeat(32)
    await rings[0]!.node.provide(digest, 3)
    const found = await rings[3]!.node.findProviders(digest)
    expect(found.answered).toBe(true)
    expect(found.records.map((record) => record.chunks)).toEqual([3])
    expect(Buffer.from(found.records[0]!.publisher).toString('hex')).toBe(
      Buffer.from(all[0]!.identity.publicKey).toString('hex'),
    )

    // The ring's links ride the engines' links, claimed, within the ring's share.
    for (const { node, transport } of rings) {
      expect(node.ringLinkCount()).toBeGreaterThan(0)
      expect(transport.claimedCount).toBeGreaterThan(0)
      expect(transport.claimedCount).toBeLessThanOrEqual(MAX_CLAIMED_RING_LINKS)
    }
  }, 30_000)
})
