/**
 * What an open connection keeps alive: not its upgrade request. A listener made while the upgrade was
 * handled lives as long as the connection, and V8 keeps the whole closure context of the function that made
 * it, so a careless one held the request (its headers) and the read chunk behind `head` for every one of
 * 10,000 connections (bench/tracker-load/connection-memory.ts measured ~1 KiB each).
 */

import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, expect, it } from 'vitest'
import { DEFAULT_TRACKER_LIMITS } from '../../shared/limits.js'
import { silentLogger } from '../../signal/logger.js'
import { Tracker } from '../../signal/tracker.js'
import { TestClient } from '../support/tracker-client.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

it('lets an open connection’s upgrade request be collected', async () => {
  const tracker = new Tracker({
    limits: DEFAULT_TRACKER_LIMITS,
    heartbeatMs: 30_000,
    iceServersFor: () => [],
    clientAddress: (request) => request.socket.remoteAddress ?? '',
    logger: silentLogger,
  })
  const requests: WeakRef<IncomingMessage>[] = []
  const http = createServer()
  http.on('upgrade', (request, socket, head) => {
    requests.push(new WeakRef(request))
    tracker.handleUpgrade(request, socket, head)
  })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  cleanups.push(() => {
    tracker.close()
    http.close()
  })
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`)
  cleanups.push(() => client.socket.terminate())
  expect(tracker.stats().peersOnline).toBe(1)
  expect(requests).toHaveLength(1)

  // A WeakRef's target lives at least to the end of the job that made or read it: collect in later turns.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  expect(requests[0]!.deref()).toBeUndefined()
  // the connection itself is alive and answering
  expect(await client.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
})
