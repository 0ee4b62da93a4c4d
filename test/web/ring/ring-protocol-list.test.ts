/**
 * The link's hello lists the protocols each side speaks (issue 13's product question): a peer that runs
 * the ring and one that does not (`ring: false`, as a client without the ring would) link, and the ring
 * sends nothing on that link, so it is not closed UNKNOWN_TYPE; a file still goes from one to the other.
 * Before, the ring's hello went out on every new link, and the other side closed it at once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { SwarmEngine } from '../../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../../web/peer/memory-link.js'
import { MemoryChunkStore } from '../../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../../web/storage/memory-file-store.js'
import { bytesOf, openRingPeer, savedBytes, shareBytes } from '../../support/ring-engines.js'
import { startTestServer } from '../../support/server.js'
import { until } from '../../support/until.js'

const engines: SwarmEngine[] = []

afterEach(() => {
  for (const engine of engines.splice(0)) engine.destroy()
})

describe('protocols listed in the hello', () => {
  it('a peer with the ring and one without keep their link, and the file goes through', async () => {
    const server = await startTestServer()
    try {
      const network = new MemoryLinkNetwork()
      const withRing = await openRingPeer(server.url, network)
      engines.push(withRing.engine)
      const chunks = new MemoryChunkStore()
      const withoutRing = await SwarmEngine.open({
        trackerUrl: server.url,
        createSocket: (url) => new WebSocket(url),
        chunks,
        files: new MemoryFileStore(),
        createLink: network.createLink,
        ring: false,
      })
      engines.push(withoutRing)
      await until(() => withRing.engine.tracker.status.state === 'online')
      const bytes = bytesOf(600_000, 5)
      const record = await shareBytes(withRing, bytes, 'no ring here.bin')
      await until(() => server.tracker.stats().files === 1)
      const closed: string[] = []
      withoutRing.swarm.on('session-closed', ({ peerId }) => closed.push(peerId))

      const download = await withoutRing.fetch(record.digest)
      await download.once('complete')
      const got = await savedBytes(
        { engine: withoutRing, chunks, files: new MemoryFileStore(), completed: [] },
        record.digest,
      )
      expect(got.equals(Buffer.from(bytes))).toBe(true)
      // Long enough for the ring's stabilisation and bootstrap to have tried this link (TEST_RING: 200 ms).
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      const ringPeer = withRing.engine.identity.peerId
      expect(withoutRing.swarm.sessions.map((s) => s.peerId)).toEqual([ringPeer])
      expect(closed).toEqual([])
      expect(withRing.engine.ringStatus().successors).toEqual([])
    } finally {
      await server.close()
    }
  }, 60_000)
})
