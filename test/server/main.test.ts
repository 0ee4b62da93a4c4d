/**
 * The built server as `npm start` runs it: one process, the page, /ws, STUN, configuration errors with
 * exit code 2, and a clean exit on SIGTERM. Needs `npm run build` first (npm test does it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, TEST_REDIS_COMMAND_TIMEOUT_MS } from '../support/redis.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

const BUNDLE = 'dist/server/main.js'
const children: ChildProcess[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [BUNDLE], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  })
  children.push(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let stderr = ''
  child.stderr!.on('data', (chunk) => {
    stderr += chunk
  })
  const lines: Record<string, unknown>[] = []
  const listening = new Promise<{ http: string; stun: number | string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>
      lines.push(entry)
      if (entry.msg === 'listening') resolve(entry as never)
    })
    child.once('exit', () => reject(new Error(`exited before listening: ${stderr}`)))
  })
  // A run that is expected to fail never listens; only the tests that await `listening` see the rejection.
  listening.catch(() => {})
  return { child, exited, listening, lines, stderr: () => stderr }
}

describe('the server process', () => {
  beforeAll(() => {
    if (!existsSync(BUNDLE))
      throw new Error(`${BUNDLE} is missing: run "npm run build" first (npm test does)`)
  })

  it('serves the page, /healthz, /stats and /ws, then exits 0 on SIGTERM after closing sockets with 1001', async () => {
    const server = run({ PORT: '0', HOST: '127.0.0.1', STUN_PORT: '0', LOG_LEVEL: 'info' })
    const { http } = await server.listening
    const base = `http://${http}`
    const page = await fetch(`${base}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>Swarmdrop</title>')
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const client = await TestClient.connect(`ws://${http}/ws`)
    expect(client.welcome.iceServers).toEqual([]) // STUN_PORT=0 disables the embedded STUN
    expect(await (await fetch(`${base}/stats`)).json()).toMatchObject({ peersOnline: 1, files: 0, swarms: 0 })

    server.child.kill('SIGTERM')
    expect((await client.closed).code).toBe(1001)
    expect(await server.exited).toBe(0)
    // every line is structured JSON with a level and a message
    expect(server.lines.every((line) => typeof line.level === 'string' && typeof line.msg === 'string')).toBe(
      true,
    )
  })

  it('answers STUN on STUN_PORT and points browsers at it through the Host they used', async () => {
    const stunPort = await freeUdpPort()
    const server = run({ PORT: '0', HOST: '127.0.0.1', STUN_PORT: String(stunPort), LOG_LEVEL: 'info' })
    const { http } = await server.listening
    const client = await TestClient.connect(`ws://${http}/ws`)
    expect(client.welcome.iceServers).toEqual([{ urls: `stun:127.0.0.1:${stunPort}` }])

    const socket = createSocket('udp4')
    const transactionId = randomBytes(12)
    const request = Buffer.concat([
      Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),
      transactionId,
    ])
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve))
    socket.send(request, stunPort, '127.0.0.1')
    const response = await reply
    socket.close()
    expect(response.readUInt16BE(0)).toBe(0x0101) // Binding success
    expect(response.subarray(8, 20)).toEqual(transactionId)
    client.close()
  })

  it('binds STUN to STUN_HOST apart from HTTP', async () => {
    const stunPort = await freeUdpPort()
    const server = run({
      PORT: '0',
      HOST: '127.0.0.1',
      STUN_HOST: '127.0.0.2',
      STUN_PORT: String(stunPort),
    })
    const { http, stun } = await server.listening
    expect(http).toMatch(/^127\.0\.0\.1:/)
    expect(stun).toBe(`127.0.0.2:${stunPort}`)
    expect(await stunAnswers('127.0.0.2', stunPort)).toBe(true)
    expect(await stunAnswers('127.0.0.1', stunPort)).toBe(false)
  })

  it('shares one swarm between processes through REDIS_URL; a killed one takes its holdings along within its TTL and a heartbeat', async () => {
    const redis = await startRedis()
    try {
      // The shortest TTL allowed (3 s): holdings go at most 3 s + one heartbeat (1 s) after the kill.
      const env = {
        PORT: '0',
        HOST: '127.0.0.1',
        STUN_PORT: '0',
        REDIS_URL: redis.url,
        REDIS_INSTANCE_TTL_MS: '3000',
        REDIS_COMMAND_TIMEOUT_MS: String(TEST_REDIS_COMMAND_TIMEOUT_MS),
      }
      const one = run(env)
      const two = run(env)
      const [a, b] = await Promise.all([one.listening, two.listening])
      expect(one.lines.find((line) => line.msg === 'listening')).toMatchObject({ redis: 'up' })
      const seeder = await TestClient.connect(`ws://${a.http}/ws`)
      const asker = await TestClient.connect(`ws://${b.http}/ws`)
      const digest = 'c'.repeat(64)
      await seeder.request({
        type: 'announce',
        files: [{ digest, name: 'kept.bin', size: 10, chunkSize: 16_384, have: 'all' }],
      })
      expect(await asker.request({ type: 'catalog' })).toMatchObject({ total: 1 })
      expect(await (await fetch(`http://${b.http}/healthz`)).json()).toEqual({ status: 'ok', redis: 'up' })

      one.child.kill('SIGKILL')
      await one.exited
      const killedAt = Date.now()
      // asked four times a second: well within the message rate
      await until(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 250))
          const reply = await asker.request({ type: 'catalog' })
          return reply.type === 'catalog' && reply.total === 0
        },
        'the dead instance’s holdings gone',
        15_000,
      )
      // not a timing assertion of the machine's speed: the bound the docs state, with a wide margin
      expect(Date.now() - killedAt).toBeLessThan(3000 + 1000 + 5000)
      expect(await asker.request({ type: 'signal', to: seeder.peerId, data: {} })).toMatchObject({
        code: 'PEER_NOT_FOUND',
      })
      expect(
        two.lines.some((line) => line.msg === 'reaped an instance that stopped renewing its registration'),
      ).toBe(true)
      asker.close()
    } finally {
      await redis.stop()
    }
  })

  it.each([
    [{ PORT: 'x' }, 'PORT'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ TURN_SECRET: 'only-the-secret-here' }, 'TURN_URLS'],
    [{ REDIS_URL: 'tcp://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ SWARMDROP_WEB_ROOT: '/nonexistent/web' }, 'SWARMDROP_WEB_ROOT'],
  ])('exits with code 2 and one line on a bad configuration %j', async (env, variable) => {
    const server = run(env)
    expect(await server.exited).toBe(2)
    const lines = server.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^swarmdrop: invalid configuration: ${variable}: `))
  })
})

/** Whether a STUN Binding request to host:port is answered within half a second. */
async function stunAnswers(host: string, port: number): Promise<boolean> {
  const socket = createSocket('udp4')
  const request = Buffer.concat([
    Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),
    randomBytes(12),
  ])
  const answered = new Promise<boolean>((resolve) => {
    socket.once('message', () => resolve(true))
    setTimeout(() => resolve(false), 500)
  })
  socket.send(request, port, host)
  const result = await answered
  socket.close()
  return result
}

/** A UDP port free at the time of asking (bound and released). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(resolve))
  return port
}
