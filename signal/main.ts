/** Entry point: reads the environment, starts the server, and shuts down cleanly on SIGTERM or SIGINT. */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_TRACKER_LIMITS } from '../shared/limits.js'
import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { startServer } from './server.js'

/** Exit code for a bad configuration, so scripts can tell it from a crash. */
const EXIT_BAD_CONFIG = 2

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env, DEFAULT_TRACKER_LIMITS.connectionsPerAddress)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`swarmdrop: invalid configuration: ${error.message}\n`)
    process.exit(EXIT_BAD_CONFIG)
  }
  const logger = createLogger(config.logLevel)
  // Built as dist/server/main.js; the web app is built into dist/web.
  const webRoot = config.webRoot ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'web')
  const server = await startServer({
    port: config.port,
    host: config.host,
    stunPort: config.stunPort === 0 ? null : config.stunPort,
    stunHost: config.stunHost,
    redis: config.redis,
    publicHost: config.publicHost,
    iceServers: config.iceServers,
    turn: config.turn,
    trustProxy: config.trustProxy,
    allowedOrigins: config.allowedOrigins,
    serveSourceMaps: config.serveSourceMaps,
    limits: { connectionsPerAddress: config.connectionsPerAddress },
    webRoot,
    logger,
  })
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal })
    server.close().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', { error })
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error: unknown) => {
  process.stderr.write(
    `swarmdrop: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
})
