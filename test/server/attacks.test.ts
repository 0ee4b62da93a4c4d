/**
 * The attacks of issue 17, each against a running server on loopback, and `/healthz` answering through
 * every one. Each asserts on the work the server did (replies sent, bytes, sockets kept, lines logged),
 * never on how long anything took.
 */
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { connect as connectTcp, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { createLogger } from '../../signal/logger.js'
import type { MemoryRegistry } from '../../signal/memory-registry.js'
import type { RunningServer, ServerOptions } from '../../signal/server.js'
import { FakeClock } from '../support/fake-clock.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

const servers: RunningServer[] = []
const sockets: Socket[] = []
const clients: TestClient[] = []

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

/** A server logging everything into `lines`. */
async function serve(overrides: Partial<ServerOptions> = {}) {
  const lines: { level: string; msg: string; suppressed?: number }[] = []
  const server = await startTestServer({
    logger: createLogger('debug', (line) => lines.push(JSON.parse(line))),
    ...overrides,
  })
  servers.push(server)
  return Object.assign(server, { lines })
}

/** Sends `head` on a fresh socket and resolves with everything the server answered before it closed. */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(head))
    sockets.push(socket)
    let answer = ''
    socket.on('data', (data) => {
      answer += data.toString('latin1')
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
  })
}

const get = (target: string, extra = '') =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`
const upgrade = (target: string, extra = '') =>
  get(
    target,
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}`,
  ).replace('Connection: close\r\n', '')

async function healthz(server: { port: number }): Promise<number> {
  const answer = await rawExchange(server.port, get('/healthz'))
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
}

async function connect(url: string, options?: WebSocket.ClientOptions) {
  const client = await TestClient.connect(url, options)
  clients.push(client)
  return client
}

/** The request targets of the issue: Node's HTTP parser accepts them, the URL parser does not. */
const MALFORMED_TARGETS = ['//a:99999/', '//[', 'http://[/', 'http://%zz/']

describe('one request kills the server (issue 17, 1)', () => {
  it.each(MALFORMED_TARGETS)(
    'answers %s with 400 on the page path and on the upgrade, and stays up',
    async (target) => {
      const server = await serve()
      const page = await rawExchange(server.port, get(target))
      expect(page).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
      expect(page.toLowerCase()).toContain('content-security-policy:')
      expect(await healthz(server)).toBe(200)

      const upgraded = await rawExchange(server.port, upgrade(target))
      expect(upgraded).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
      expect(upgraded.toLowerCase()).toContain('x-content-type-options: nosniff')
      expect(await healthz(server)).toBe(200)
      expect(server.lines.filter((line) => line.level === 'error')).toEqual([])
    },
  )

  it('keeps answering /healthz through a stream of them, and logs no error', async () => {
    const server = await serve()
    for (let round = 0; round < 25; round++) {
      for (const target of MALFORMED_TARGETS) {
        await rawExchange(server.port, round % 2 ? get(target) : upgrade(target))
      }
      expect(await healthz(server)).toBe(200)
    }
    expect(server.lines.filter((line) => line.level === 'error')).toEqual([])
  })
})

describe('catalog search amplifies CPU (issue 17, 2)', () => {
  it('refuses catalog requests past the budget of an address, undone, while /healthz answers', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1))
    const server = await serve({ clock })
    const registry = (server.tracker.registry as MemoryRegistry).engine
    // 20,000 files straight into the registry: the cost of a search is what is measured, not announcing.
    for (let peer = 0; peer < 20; peer++) {
      const peerId = `seed${String(peer).padStart(12, '0')}`
      registry.addPeer(peerId)
      const files = Array.from({ length: 1000 }, (_, i) => ({
        digest: randomBytes(32).toString('hex'),
        name: `shared file ${peer * 1000 + i}.bin`,
        size: 1000,
        chunkSize: 16_384,
        have: 'all' as const,
      }))
      expect(registry.announce(peerId, files)).toEqual([])
    }
    expect(registry.stats().files).toBe(20_000)
    // Eight connections from one address, each searching as broadly as it can: a query of two characters has
    // no trigram and checks every name. Each query is a different one, so none comes from the cache.
    const attackers = await Promise.all(Array.from({ length: 8 }, () => connect(server.url)))
    const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'
    const before = registry.recordsTouched
    let limited = 0
    let answered = 0
    for (let round = 0; round < 20; round++) {
      const replies = await Promise.all(
        attackers.map((client, i) =>
          client.request({ type: 'catalog', query: `${letters[round]}${letters[i]}` }),
        ),
      )
      for (const reply of replies) {
        if (reply.type === 'error') {
          expect(reply.code).toBe('CATALOG_LIMITED')
          limited++
        } else answered++
      }
      expect(await healthz(server)).toBe(200)
    }
    // Default budgets: 500,000 records for an address at once. No time passes on the fake clock, so the
    // work done is the budget plus at most one query per connection that started with credit left (a
    // query of two characters touches each of the 20,000 files, then its matches, then its page), plus
    // building the catalog order once (twice the files).
    const touched = registry.recordsTouched - before
    expect(limited).toBeGreaterThan(100)
    expect(touched).toBeLessThanOrEqual(500_000 + 2 * 20_000 + 8 * (2 * 20_000 + 50))
    expect(answered * 20_000).toBeLessThanOrEqual(touched)
    // Once the budget refills (two seconds of the address's 250,000 records a second), searches run again.
    clock.advance(2000)
    expect(await attackers[0]!.request({ type: 'catalog', query: 'zz' })).toMatchObject({ type: 'catalog' })
  })
})

describe('STUN costs O(n²) and amplifies (issue 17, 3)', () => {
  /** One 64 KB datagram with 16,000 unknown comprehension-required attributes, as in the issue. */
  function floodDatagram(): Buffer {
    const packet = Buffer.alloc(20 + 16_000 * 4)
    packet.writeUInt16BE(0x0001, 0)
    packet.writeUInt16BE(16_000 * 4, 2)
    packet.writeUInt32BE(0x2112a442, 4)
    randomBytes(12).copy(packet, 8)
    for (let i = 0; i < 16_000; i++) packet.writeUInt16BE(0x0700 + (i % 0x0800), 20 + i * 4)
    return packet
  }

  function bindingRequest(): Buffer {
    const packet = Buffer.alloc(20)
    packet.writeUInt16BE(0x0001, 0)
    packet.writeUInt32BE(0x2112a442, 4)
    randomBytes(12).copy(packet, 8)
    return packet
  }

  it('drops 64 KB datagrams of 16,000 attributes unanswered, while /healthz answers', async () => {
    const server = await serve({ stunPort: 0, stunLimits: { perSecond: 1e9, burst: 1e9 } })
    const client = createSocket('udp4')
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve))
    const received: Buffer[] = []
    client.on('message', (message) => received.push(message))
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) client.send(floodDatagram(), server.stunPort!, '127.0.0.1')
        expect(await healthz(server)).toBe(200)
      }
      // A valid request behind them: once its answer is here, any answer to the floods would be too.
      client.send(bindingRequest(), server.stunPort!, '127.0.0.1')
      await until(() => received.length > 0, 'the answer to the valid request')
      expect(received).toHaveLength(1)
      expect(received[0]!.readUInt16BE(0)).toBe(0x0101)
      expect(received[0]!.byteLength).toBeLessThan(100)
    } finally {
      client.close()
    }
  })

  it('answers one source address at most its burst at once, and the rest of its requests not at all', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1))
    const server = await serve({ stunPort: 0, clock, stunLimits: { perSecond: 10, burst: 20 } })
    const client = createSocket('udp4')
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve))
    let replies = 0
    client.on('message', () => replies++)
    try {
      const handled = () => {
        const { answered, ignored, limited } = server.stunStats()!
        return answered + ignored + limited
      }
      // Sent in small batches, each waited for, so that no datagram is lost to a full socket buffer.
      for (let sent = 10; sent <= 50; sent += 10) {
        for (let i = 0; i < 10; i++) client.send(bindingRequest(), server.stunPort!, '127.0.0.1')
        await until(() => handled() === sent, `${sent} datagrams handled`)
      }
      expect(server.stunStats()).toMatchObject({ answered: 20, limited: 30 })
      await until(() => replies === 20, 'twenty replies')
      expect(await healthz(server)).toBe(200)
      // A second of the fake clock refills ten.
      clock.advance(1000)
      for (let i = 0; i < 15; i++) client.send(bindingRequest(), server.stunPort!, '127.0.0.1')
      await until(() => handled() === 65, '65 datagrams handled')
      expect(server.stunStats()).toMatchObject({ answered: 30, limited: 35 })
      await until(() => replies === 30, 'thirty replies')
    } finally {
      client.close()
    }
  })
})

describe('/ws accepts any Origin (issue 17, 4)', () => {
  const turn = { urls: ['turn:turn.example.test:3478'], secret: 'a-secret-of-sixteen+', ttlSeconds: 600 }

  it('refuses a page of another origin with 403 and no welcome, so no TURN credential reaches it', async () => {
    const server = await serve({ stunPort: 0, turn })
    const answer = await rawExchange(server.port, upgrade('/ws', 'Origin: https://evil.example\r\n'))
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/)
    expect(answer).not.toContain('welcome')
    expect(answer).not.toContain('turn:')
    expect(server.tracker.stats().peersOnline).toBe(0)
    expect(await healthz(server)).toBe(200)
  })

  it("allows the site's own origin, ALLOWED_ORIGINS, and clients that send no Origin; TURN goes only to them", async () => {
    const server = await serve({ stunPort: 0, turn, allowedOrigins: ['https://app.example.org'] })
    const own = await connect(server.url, { origin: `http://127.0.0.1:${server.port}` })
    const listed = await connect(server.url, { origin: 'https://app.example.org' })
    const cli = await connect(server.url)
    for (const client of [own, listed, cli]) {
      expect(client.welcome.iceServers.some((ice) => ice.username?.endsWith(client.peerId))).toBe(true)
    }
    // Only those: not another port of the same host, not a look-alike, not the literal "null" of sandboxes.
    for (const origin of [
      `http://127.0.0.1:${server.port + 1}`,
      'https://app.example.org.evil.example',
      'null',
      'http://app.example.org',
    ]) {
      const answer = await rawExchange(server.port, upgrade('/ws', `Origin: ${origin}\r\n`))
      expect(answer, origin).toMatch(/^HTTP\/1\.1 403 /)
    }
    expect(server.tracker.stats().peersOnline).toBe(3)
  })

  it('is scheme-aware behind a trusted proxy: an https page of its host, but no http page when TLS ended at the proxy', async () => {
    const server = await serve({ trustProxy: true })
    const https = await connect(server.url, {
      origin: 'https://swarm.example.org',
      headers: { host: 'swarm.example.org', 'x-forwarded-proto': 'https' },
    })
    expect(https.peerId).toBeTruthy()
    const answer = await rawExchange(
      server.port,
      upgrade('/ws', 'Origin: http://swarm.example.org\r\nX-Forwarded-Proto: https\r\n').replace(
        'Host: 127.0.0.1',
        'Host: swarm.example.org',
      ),
    )
    expect(answer).toMatch(/^HTTP\/1\.1 403 /)
  })

  it('logs refused upgrades at most once per interval, saying how many it left out', async () => {
    const server = await serve()
    for (let i = 0; i < 30; i++)
      await rawExchange(server.port, upgrade('/ws', 'Origin: https://evil.example\r\n'))
    const warnings = server.lines.filter((line) => line.msg.startsWith('refused a WebSocket from a page'))
    expect(warnings).toHaveLength(1)
  })
})

describe('smaller holes (issue 17, 5)', () => {
  it('caps the HTTP sockets one address holds open, and /healthz answers once they go', async () => {
    const server = await serve({ httpSocketsPerAddress: 4 })
    const idle = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const socket = connectTcp(server.port, '127.0.0.1')
        sockets.push(socket)
        await once(socket, 'connect')
        return socket
      }),
    )
    // The fifth is closed by the server at once, with nothing read or written.
    const fifth = connectTcp(server.port, '127.0.0.1')
    sockets.push(fifth)
    let data = ''
    fifth.on('data', (chunk) => {
      data += chunk
    })
    await once(fifth, 'close')
    expect(data).toBe('')
    for (const socket of idle) socket.destroy()
    let status = 0
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = await healthz(server).catch(() => 0)
    }
    expect(status).toBe(200)
    expect(server.lines.filter((line) => line.msg.startsWith('refused an HTTP socket'))).toHaveLength(1)
  })

  it('answers methods other than GET and HEAD with 405 on every path, /healthz and /stats included', async () => {
    const server = await serve()
    for (const path of ['/healthz', '/stats', '/', '/index.html', '/missing']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
        const response = await fetch(`${server.httpUrl}${path}`, { method })
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(response.headers.get('allow')).toBe('GET, HEAD')
        expect(response.headers.get('content-security-policy')).toContain("default-src 'self'")
      }
    }
    expect((await fetch(`${server.httpUrl}/healthz`, { method: 'HEAD' })).status).toBe(200)
  })

  it('serves no dotfiles, and source maps only when asked to', async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'swarmdrop-web-'))
    mkdirSync(join(webRoot, 'assets'))
    mkdirSync(join(webRoot, '.git'))
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html>')
    writeFileSync(join(webRoot, '.env'), 'SECRET=1')
    writeFileSync(join(webRoot, '.git', 'config'), '[core]')
    writeFileSync(join(webRoot, 'assets', 'index-AbCd1234.js'), 'x')
    writeFileSync(join(webRoot, 'assets', 'index-AbCd1234.js.map'), '{}')
    const hidden = await serve({ webRoot })
    for (const path of [
      '/.env',
      '/.git/config',
      '/%2eenv',
      '/assets/index-AbCd1234.js.map',
      '/assets/index-AbCd1234.js.MAP',
    ]) {
      expect((await fetch(`${hidden.httpUrl}${path}`)).status, path).toBe(404)
    }
    expect((await fetch(`${hidden.httpUrl}/assets/index-AbCd1234.js`)).status).toBe(200)
    const shown = await serve({ webRoot, serveSourceMaps: true })
    expect((await fetch(`${shown.httpUrl}/assets/index-AbCd1234.js.map`)).status).toBe(200)
    expect((await fetch(`${shown.httpUrl}/.env`)).status).toBe(404)
  })
})
