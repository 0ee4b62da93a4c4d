/**
 * The real signal server for the end-to-end suites, serving the harness page (build-harness.ts) on
 * loopback, with its embedded STUN off (browsers on loopback need none) and its warnings kept for the
 * report.
 */
import { rmSync } from 'node:fs'
import { createLogger } from '../../../signal/logger.js'
import { type RunningServer, startServer } from '../../../signal/server.js'
import { buildHarness } from './build-harness.js'

export interface HarnessServer {
  server: RunningServer
  /** `http://127.0.0.1:<port>/` */
  baseUrl: string
  /** The server's warnings and errors. */
  log: string[]
  /** Stops the server, removes the built page and prints the last warnings. */
  close(): Promise<void>
}

export async function startHarnessServer(): Promise<HarnessServer> {
  const webRoot = await buildHarness()
  const log: string[] = []
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    stunPort: null,
    webRoot,
    logger: createLogger('warn', (line) => log.push(line)),
  })
  return {
    server,
    baseUrl: `http://127.0.0.1:${server.port}/`,
    log,
    close: async () => {
      await server.close()
      rmSync(webRoot, { recursive: true, force: true })
      if (log.length > 0) console.log(`server warnings and errors:\n${log.slice(-20).join('\n')}`)
    },
  }
}
