/**
 * The real Swarmdrop server for a built bench page (bench/transfer, bench/flash): `startServer` on
 * 127.0.0.1 with an ephemeral port, the page as its web root, and no STUN, so that the welcome offers no
 * ICE servers and loopback host candidates are all there is.
 */
import { createLogger } from '../../signal/logger.js'
import { startServer } from '../../signal/server.js'

export interface PageServer {
  url: string
  close(): Promise<void>
}

export async function servePage(pageDir: string): Promise<PageServer> {
  const running = await startServer({
    port: 0,
    host: '127.0.0.1',
    stunPort: null,
    webRoot: pageDir,
    logger: createLogger('warn', (line) => console.error(`server: ${line}`)),
  })
  return { url: `http://127.0.0.1:${running.port}/`, close: () => running.close() }
}
