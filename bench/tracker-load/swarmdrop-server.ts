/**
 * Child process: the Swarmdrop server under test, started exactly as `npm start` starts it (startServer)
 * but with the limits the benchmark passes as its first argument (JSON), a heartbeat interval in ms as
 * its second when the benchmark overrides it (a diagnosis; empty for the default), `REDIS_URL` as its
 * third when instances share one swarm, and STUN and logging off.
 */
import type { TrackerLimits } from '../../shared/limits.js'
import { TRACKER_PATH } from '../../signal/server.js'
import { startTestServer } from '../../test/support/server.js'
import { serveParent } from './server-ipc.js'

const limits = JSON.parse(process.argv[2] ?? '{}') as Partial<TrackerLimits>
const heartbeatMs = process.argv[3] ? Number(process.argv[3]) : undefined
const redisUrl = process.argv[4] || undefined

// The same start as the tests': 127.0.0.1, a free port, STUN off, logs silent, a one-page web root.
const server = await startTestServer({
  limits,
  ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
  ...(redisUrl === undefined ? {} : { redis: { url: redisUrl } }),
})

serveParent({
  port: server.port,
  url: `ws://127.0.0.1:${server.port}${TRACKER_PATH}`,
  stats: () => {
    const stats = server.tracker.stats()
    return {
      peers: stats.peersOnline,
      files: stats.files,
      warnings: 0,
      recordsTouched: server.tracker.registry.recordsTouched,
    }
  },
  stop: () => server.close(),
})
