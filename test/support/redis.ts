/**
 * A real `redis-server` (Debian's) for tests: on 127.0.0.1 at a free port, no persistence, started and
 * stopped by the test. `restart()` stops it and starts a fresh one on the same port, as a Redis restart
 * without persistence does: every key is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, Socket } from 'node:net'
import { afterAll, beforeAll } from 'vitest'
import { stopChild } from './child-process.js'

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGKILL: as a crash would). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = started
    let output = ''
    started.stdout?.on('data', (data: Buffer) => {
      output += data.toString()
    })
    started.stderr?.on('data', (data: Buffer) => {
      output += data.toString()
    })
    // Ready once it answers on its port.
    const deadline = Date.now() + 10_000
    for (;;) {
      if (started.exitCode !== null) throw new Error(`redis-server exited: ${output}`)
      if (await answers(port)) return
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      if (child) await stopChild(child, 0)
    },
    start,
    stop: async () => {
      if (child) await stopChild(child, 2000)
    },
  }
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/** The registries a server suite runs against: memory (one process) and Redis (an instance of a cluster). */
export const REGISTRY_KINDS = ['memory', 'redis'] as const
export type RegistryKind = (typeof REGISTRY_KINDS)[number]

let prefixes = 0

/**
 * Server options for a registry kind: none for memory; for Redis, `redis` on a key prefix of its own (so
 * the tests of one file share one redis-server without seeing each other's swarms).
 */
export function registryOptions(
  kind: RegistryKind,
  redis: TestRedis | undefined,
): { redis?: { url: string; prefix: string } } {
  if (kind === 'memory') return {}
  if (!redis) throw new Error('start a redis-server (startRedis) before a Redis-backed server')
  return { redis: { url: redis.url, prefix: `t${process.pid}-${++prefixes}:` } }
}

/**
 * For a suite that runs against both registries: one redis-server for the file (started before its tests,
 * stopped after), the kind the running `describe.each` chose, and the server options for it.
 */
export function bothRegistries(): {
  use(kind: RegistryKind): void
  readonly kind: RegistryKind
  options(): { redis?: { url: string; prefix: string } }
} {
  let redis: TestRedis | undefined
  let kind: RegistryKind = 'memory'
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  return {
    use: (chosen) => {
      kind = chosen
    },
    get kind() {
      return kind
    },
    options: () => registryOptions(kind, redis),
  }
}
