import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../signal/logger.js'
import { type RunningServer, type ServerOptions, startServer } from '../../signal/server.js'

/** A server on 127.0.0.1 port 0 with a one-page web root; STUN off unless asked for. */
export async function startTestServer(
  overrides: Partial<ServerOptions> = {},
): Promise<RunningServer & { url: string; httpUrl: string }> {
  const webRoot = mkdtempSync(join(tmpdir(), 'swarmdrop-web-'))
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>test</title>')
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    stunPort: null,
    webRoot,
    logger: silentLogger,
    ...overrides,
  })
  return Object.assign(server, {
    url: `ws://127.0.0.1:${server.port}/ws`,
    httpUrl: `http://127.0.0.1:${server.port}`,
  })
}
