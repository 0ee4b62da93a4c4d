/**
 * One connection per identity (docs/PROTOCOL.md, "Peer ids are bound to the connection"): a second engine
 * with the same key store — a second tab of one browser profile — takes the tracker connection over; the
 * first stops, says IDENTITY_IN_USE, and does not take it back.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { SwarmError } from '../../shared/errors.js'
import { SwarmEngine } from '../../web/peer/engine.js'
import { MemoryKeyStore } from '../../web/peer/identity.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { startTestServer } from '../support/server.js'
import { until } from '../support/until.js'

const closers: (() => unknown)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('one connection per identity', () => {
  it('lets a second tab of the same profile take over, and the first stops with IDENTITY_IN_USE', async () => {
    const server = await startTestServer()
    closers.push(() => server.close())
    const network = new MemoryLinkNetwork()
    const profile = new MemoryKeyStore()
    const open = async () => {
      const engine = await SwarmEngine.open({
        trackerUrl: server.url,
        createSocket: (u) => new WebSocket(u),
        chunks: new MemoryChunkStore(),
        files: new MemoryFileStore(),
        createLink: network.createLink,
        keys: profile,
      })
      closers.push(() => engine.destroy())
      const problems: SwarmError[] = []
      engine.on('problem', ({ error }) => problems.push(error))
      return { engine, problems }
    }
    const first = await open()
    await until(() => first.engine.tracker.status.state === 'online', 'the first tab online')
    const second = await open()
    await until(() => second.engine.tracker.status.state === 'online', 'the second tab online')
    expect(second.engine.identity.peerId).toBe(first.engine.identity.peerId)
    await until(() => first.problems.some((error) => error.code === 'IDENTITY_IN_USE'), 'IDENTITY_IN_USE')
    expect(first.engine.tracker.status).toMatchObject({
      state: 'offline',
      error: { code: 'IDENTITY_IN_USE' },
    })
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(second.engine.tracker.status.state).toBe('online')
    expect(server.tracker.stats().peersOnline).toBe(1)
  })
})
