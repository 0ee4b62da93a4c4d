/**
 * Several server instances for the scale-out suite: the built server (`dist/server/main.js`, as `npm start`
 * runs it) in processes of their own, so that one can be killed outright, sharing a swarm through one
 * redis-server; and a TCP proxy in front of them that sends each new connection to the first instance of
 * its list that takes it, as a load balancer without sticky sessions does once an instance is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { stopChild } from '../../support/child-process.js'

const BUNDLE = 'dist/server/main.js'
/** Longest an instance may take to start listening. */
const START_TIMEOUT_MS = 15_000

export interface Instance {
  readonly port: number
  readonly httpUrl: string
  readonly trackerUrl: string
  readonly child: ChildProcess
  /** Its log lines (JSON), for failure messages. */
  readonly log: string[]
  /** SIGKILL, as a crash: it neither closes its sockets cleanly nor leaves Redis. */
  kill(): Promise<void>
  stop(): Promise<void>
}

export async function startInstance(env: Record<string, string>): Promise<Instance> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run "npm run build" first (npm test does)`)
  const child = spawn(process.execPath, [BUNDLE], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', STUN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  child.stderr!.on('data', (data: Buffer) => log.push(data.toString()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening" in time: ${log.join('')}`)),
      START_TIMEOUT_MS,
    )
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string }
        if (entry.msg === 'listening' && entry.http) {
          clearTimeout(timer)
          resolve(Number(entry.http.split(':').at(-1)))
        }
      } catch {
        // not JSON: kept in the log
      }
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${log.join('')}`)))
  })
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}/`,
    trackerUrl: `ws://127.0.0.1:${port}/ws`,
    child,
    log,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
    stop: () => stopChild(child, 5000),
  }
}

export interface TcpProxy {
  readonly url: string
  close(): Promise<void>
}

/** Forwards each connection to the first of `ports` (on 127.0.0.1) that accepts it. */
export async function startProxy(ports: readonly number[]): Promise<TcpProxy> {
  const open = new Set<Socket>()
  const server: Server = createServer((client) => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => client.destroy())
    client.pause()
    const attempt = (index: number) => {
      if (index >= ports.length || client.destroyed) {
        client.destroy()
        return
      }
      const upstream = connect(ports[index]!, '127.0.0.1')
      upstream.once('error', () => attempt(index + 1))
      upstream.once('connect', () => {
        open.add(upstream)
        upstream.removeAllListeners('error')
        upstream.on('error', () => client.destroy())
        upstream.on('close', () => {
          open.delete(upstream)
          client.destroy()
        })
        client.on('close', () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(0)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
