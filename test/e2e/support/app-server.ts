/**
 * The real server as `npm start` runs it: `node scripts/start.mjs` in a child process, which builds the
 * web app and the server bundle when they are missing or older than their sources (under `npm test` they
 * were just built) and then runs `dist/server/main.js`. It listens on loopback on a free port, with the
 * embedded STUN off (browsers on loopback need none), and logs JSON lines on stdout; the port is read from
 * its `listening` line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stopChild } from '../../support/child-process.js'

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Longest start-up may take: a Vite and esbuild build when dist/ is stale, then listening. */
export const SERVER_START_TIMEOUT_MS = 120_000
/** Longest the server may take to exit after SIGTERM before it is killed. */
const SERVER_STOP_TIMEOUT_MS = 5_000
/** Log lines kept for failure messages. */
const KEPT_LOG_LINES = 200

export interface AppServer {
  /** `http://<host>:<port>/` */
  readonly url: string
  readonly port: number
  /** The server's last log lines (JSON) and anything it wrote to stderr. */
  readonly log: string[]
  /** Warnings and errors the server logged, for the test's report. */
  problems(): string[]
  /** SIGTERM, then SIGKILL if it has not exited in time. Idempotent. */
  close(): Promise<void>
  /** SIGKILL at once (a crash: no goodbye to anyone); resolves once it has exited. */
  kill(): Promise<void>
}

export interface AppServerOptions {
  /** Configuration (SPEC §1) on top of the default: loopback, a free port, no STUN. */
  env?: NodeJS.ProcessEnv
  /** The address browsers reach it at; default 127.0.0.1. */
  host?: string
  /** Called with every line the server writes (stdout and stderr), e.g. to search all of its logs. */
  onLine?(line: string): void
  /** Starts the process (the NAT lab starts it in a namespace); default a plain child process. */
  launch?(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess
}

export async function startAppServer(options: AppServerOptions = {}): Promise<AppServer> {
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    STUN_PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env,
  }
  const launch =
    options.launch ??
    ((command, args, launchOptions) =>
      spawn(command, args, { ...launchOptions, stdio: ['ignore', 'pipe', 'pipe'] }))
  const child = launch(process.execPath, ['scripts/start.mjs'], { cwd: REPO_ROOT, env })
  const log: string[] = []
  const keep = (line: string) => {
    options.onLine?.(line)
    log.push(line)
    if (log.length > KEPT_LOG_LINES) log.shift()
  }
  createInterface({ input: child.stderr! }).on('line', (line) => keep(`stderr: ${line}`))
  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line)
      const port = listeningPort(line)
      if (port !== undefined) resolve(port)
    })
    child.once('exit', (code, signal) =>
      reject(new Error(`the server exited (${signal ?? code}) before listening:\n${log.join('\n')}`)),
    )
    child.once('error', reject)
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `the server did not log "listening" in ${SERVER_START_TIMEOUT_MS} ms:\n${log.join('\n')}`,
          ),
        ),
      SERVER_START_TIMEOUT_MS,
    )
  })
  let port: number
  try {
    port = await Promise.race([listening, timeout])
  } catch (error) {
    await stopChild(child, SERVER_STOP_TIMEOUT_MS)
    throw error
  } finally {
    clearTimeout(timer)
  }
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    port,
    log,
    problems: () => log.filter((line) => /"level":"(warn|error)"|^stderr:/.test(line)),
    close: () => stopChild(child, SERVER_STOP_TIMEOUT_MS),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** The port of a `{"msg":"listening","http":"127.0.0.1:PORT"}` line; undefined for any other line. */
function listeningPort(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const entry = JSON.parse(line) as { msg?: unknown; http?: unknown }
    if (entry.msg !== 'listening' || typeof entry.http !== 'string') return undefined
    const port = Number(entry.http.slice(entry.http.lastIndexOf(':') + 1))
    return Number.isInteger(port) && port > 0 ? port : undefined
  } catch {
    return undefined
  }
}
