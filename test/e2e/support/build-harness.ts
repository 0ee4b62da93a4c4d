/**
 * Builds the harness page (../harness) with Vite and the app's own plugins (vite.config.ts), so that
 * simple-peer's Node polyfills are there exactly as in the app. The output goes to a temp dir that the
 * real server serves as its web root.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, loadConfigFromFile } from 'vite'
import { createLogger, type LogLevel } from '../../../signal/logger.js'
import { type RunningServer, startServer } from '../../../signal/server.js'

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HARNESS_ROOT = fileURLToPath(new URL('../harness/', import.meta.url))

/** Builds the harness; returns the directory holding index.html and its assets. */
export async function buildHarness(): Promise<string> {
  const loaded = await loadConfigFromFile(
    { command: 'build', mode: 'production' },
    join(REPO_ROOT, 'vite.config.ts'),
    REPO_ROOT,
    'warn',
  )
  if (!loaded) throw new Error('vite.config.ts did not load')
  const outDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-web-'))
  await build({
    configFile: false,
    root: HARNESS_ROOT,
    publicDir: false,
    logLevel: 'warn',
    plugins: loaded.config.plugins ?? [],
    // Readable names in a CPU profile of a page (hostile.e2e.ts, HOSTILE_CPU_PROFILE).
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      minify: !process.env.HOSTILE_CPU_PROFILE,
    },
  })
  return outDir
}

/** The harness built and served by the real signal server on loopback, with STUN off; its log kept. */
export interface HarnessServer {
  server: RunningServer
  /** `http://127.0.0.1:<port>/` */
  baseUrl: string
  /** `ws://127.0.0.1:<port>/ws` */
  trackerUrl: string
  /** Log lines at `logLevel` and above. */
  log: string[]
  /** Stops the server and removes the built harness. */
  close(): Promise<void>
}

export async function serveHarness(logLevel: LogLevel): Promise<HarnessServer> {
  const webRoot = await buildHarness()
  const log: string[] = []
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    stunPort: null,
    webRoot,
    logger: createLogger(logLevel, (line) => log.push(line)),
  })
  return {
    server,
    baseUrl: `http://127.0.0.1:${server.port}/`,
    trackerUrl: `ws://127.0.0.1:${server.port}/ws`,
    log,
    close: async () => {
      await server.close()
      rmSync(webRoot, { recursive: true, force: true })
    },
  }
}
