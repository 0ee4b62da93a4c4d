/**
 * The ring in the product (issue 13), engine level: twelve engines on a real tracker, the ring on by
 * default (ring-host.ts), in-memory links negotiated through real signals. With the tracker gone, a file
 * is found by digest and by a word of its name from the ring, downloaded byte-identical over a link
 * whose offer and answer went through the ring, still found after half the peers left at once; when the
 * tracker comes back everything is announced to it again, and no pair of peers holds two links.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../../signal/server.js'
import type { SwarmEngine } from '../../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../../web/peer/memory-link.js'
import {
  bytesOf,
  openRingPeer,
  type RingPeer,
  ringIsIdeal,
  savedBytes,
  shareBytes,
} from '../../support/ring-engines.js'
import { startTestServer } from '../../support/server.js'
import { until } from '../../support/until.js'

const MiB = 1024 * 1024
const engines: SwarmEngine[] = []
const servers: RunningServer[] = []

afterEach(async () => {
  for (const engine of engines.splice(0)) engine.destroy()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function open(url: string, network: MemoryLinkNetwork): Promise<RingPeer> {
  const peer = await openRingPeer(url, network)
  engines.push(peer.engine)
  return peer
}

/** No engine holds two sessions with one peer, and every session has its twin on the other side. */
function oneLinkPerPair(peers: readonly RingPeer[]): boolean {
  const byId = new Map(peers.map((p) => [p.engine.identity.peerId, p.engine]))
  return peers.every(({ engine }) => {
    const ids = engine.swarm.sessions.map((s) => s.peerId)
    if (new Set(ids).size !== ids.length) return false
    return ids.every((id) => {
      const other = byId.get(id)
      return !other || other.swarm.sessions.filter((s) => s.peerId === engine.identity.peerId).length === 1
    })
  })
}

describe('the ring in the engine', () => {
  it('finds, links and downloads through the ring while the tracker is down, and re-announces when it is back', async () => {
    const server = await startTestServer()
    const port = server.port
    const network = new MemoryLinkNetwork()
    // A shares first, so the others find a peer to join through in the catalog (ring-host.ts bootstrap).
    const a = await open(server.url, network)
    await until(() => a.engine.tracker.status.state === 'online')
    const bytes = bytesOf(3 * MiB, 7)
    const record = await shareBytes(a, bytes, 'Holiday photos 2026.zip')
    await until(() => server.tracker.stats().files === 1)
    const others = await Promise.all(Array.from({ length: 11 }, () => 0).map(() => open(server.url, network)))
    const peers = [a, ...others]
    await until(() => ringIsIdeal(peers.map((p) => p.engine)), 'one ring of twelve', 60_000)

    // A's records are in the ring: a peer's providers lookup and search (tracker up) name A's file from
    // both sources. (Records put while the ring grew reach their owners by hand-offs, replication.ts.)
    const probe = others[0]!.engine
    await until(
      async () => (await probe.findProviders(record.digest)).some((hit) => hit.sources.includes('ring')),
      "A's provider record in the ring",
      60_000,
      // Once a second: a hop takes 30 routed requests a second from one origin.
      1_000,
    )
    await until(
      async () => (await probe.search('photos holiday')).some((hit) => hit.sources.includes('ring')),
      "A's name records in the ring",
      60_000,
      1_000,
    )

    // The tracker dies.
    await server.close()
    await until(() => peers.every((p) => p.engine.tracker.status.state !== 'online'), 'all offline')

    // B: a peer that is not A's ring neighbour or finger, nor A its. Its session to A (from joining
    // through A) is closed, so the download's link must be negotiated afresh, and with the tracker gone
    // only the ring can carry its signals; and the ring itself does not dial A from B meanwhile.
    const aId = a.engine.identity.peerId
    const ringPeersOf = (engine: SwarmEngine) => {
      const status = engine.ringStatus()
      return [status.predecessor, ...status.successors, ...status.fingers].map((p) => p?.peerId)
    }
    // Twelve random ids do not always leave such a peer (r = 3 and the fingers can cover all eleven); then
    // one that A does not keep, else any: with the tracker gone and no entry point, a link to A can only be
    // negotiated through the ring whichever peer B is, and the assertions below hold for each.
    const notA = (p: (typeof others)[number]) => !ringPeersOf(a.engine).includes(p.engine.identity.peerId)
    const b =
      others.find((p) => notA(p) && !ringPeersOf(p.engine).includes(aId)) ?? others.find(notA) ?? others[0]!
    b.engine.swarm.sessions.find((s) => s.peerId === aId)?.destroy()
    await until(() => !b.engine.swarm.sessions.some((s) => s.peerId === aId), 'B unlinked from A')

    const byName = await b.engine.search('photos holiday')
    expect(byName.map((hit) => [hit.digest, hit.source, hit.names[0]])).toEqual([
      [record.digest, 'ring', 'Holiday photos 2026.zip'],
    ])
    const byDigest = await b.engine.findProviders(record.digest)
    expect(byDigest).toEqual([{ peerId: aId, chunks: 3, source: 'ring', sources: ['ring'] }])

    const download = await b.engine.fetch(record.digest)
    await download.once('complete')
    expect(b.engine.tracker.status.state).not.toBe('online')
    expect(b.engine.swarm.sessions.some((s) => s.peerId === aId)).toBe(true)
    expect((await savedBytes(b, record.digest)).equals(Buffer.from(bytes))).toBe(true)
    expect(b.engine.local.get(record.digest)?.record.name).toBe('Holiday photos 2026.zip')

    // Half the peers leave at once: every other one round the ring (never A or B), so no peer loses its
    // whole successor list (r = 3); a lookup from another still succeeds after a stabilisation round.
    const sorted = [...peers].sort((x, y) => (x.engine.identity.nodeId < y.engine.identity.nodeId ? -1 : 1))
    // Of the two alternate halves, the one without A and B, or else the one without A (five or six).
    const halves = [0, 1].map((parity) => sorted.filter((_, i) => i % 2 === parity))
    const half = halves.find((h) => !h.includes(a) && !h.includes(b)) ?? halves.find((h) => !h.includes(a))!
    const leaving = half.filter((p) => p !== b)
    for (const p of leaving) {
      p.engine.destroy()
      engines.splice(engines.indexOf(p.engine), 1)
    }
    const left = peers.filter((p) => !leaving.includes(p))
    expect(leaving.length).toBeGreaterThanOrEqual(5)
    await until(() => ringIsIdeal(left.map((p) => p.engine)), 'the peers left form one ring', 30_000)
    const asker = left.find((p) => p !== a && p !== b)!
    const afterLeaving = await asker.engine.findProviders(record.digest)
    expect(afterLeaving.map((hit) => hit.peerId)).toContain(aId)
    expect((await asker.engine.search('holiday')).map((hit) => hit.digest)).toEqual([record.digest])

    // The tracker comes back: every peer left announces again, both holders are in the catalog, and no
    // pair of peers ended up with two links.
    const again = await startTestServer({ port })
    servers.push(again)
    await until(() => left.every((p) => p.engine.tracker.status.state === 'online'), 'all back', 20_000)
    await until(
      async () => (await again.tracker.registry.entry(record.digest))?.seeders === 2,
      'both holders announced again',
      15_000,
    )
    expect(again.tracker.stats().files).toBe(1)
    expect(oneLinkPerPair(left)).toBe(true)
  }, 180_000)
})
