/**
 * A real `redis-server` (Debian's) on 127.0.0.1 at a free port, no persistence, started and stopped by a
 * test or a benchmark (no vitest here: bench/tracker-load starts one too). `kill()` then `start()` brings up
 * a fresh one on the same port, as a Redis restart without persistence does: every key is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, Socket } from 'node:net'
import { stopChild } from './child-process.js'

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined
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
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined
    },
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
