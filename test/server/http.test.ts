import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../signal/logger.js'
import { type RunningServer, startServer } from '../../signal/server.js'

let server: RunningServer
let base: string

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'swarmdrop-http-'))
  const webRoot = join(root, 'web')
  mkdirSync(join(webRoot, 'assets'), { recursive: true })
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Swarmdrop</title>')
  writeFileSync(join(webRoot, 'assets', 'index-AbCd1234.js'), 'console.log(1)')
  writeFileSync(join(webRoot, 'assets', 'hash-Zz9_xY8-.wasm'), Buffer.from([0, 97, 115, 109]))
  writeFileSync(join(root, 'secret.txt'), 'outside the web root')
  symlinkSync(join(root, 'secret.txt'), join(webRoot, 'link.txt'))
  server = await startServer({ port: 0, host: '127.0.0.1', stunPort: null, webRoot, logger: silentLogger })
  base = `http://127.0.0.1:${server.port}`
})

afterAll(() => server.close())

/** A raw GET, so that paths reach the server exactly as written (fetch would normalise `..`). */
function rawGet(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
      .on('error', reject)
      .end()
  })
}

describe('http', () => {
  it('serves the app with its content type, a strict CSP and revalidation', async () => {
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'")
    expect(csp).toContain("object-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('caches hashed assets for a year and gives WebAssembly its type', async () => {
    const js = await fetch(`${base}/assets/index-AbCd1234.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const wasm = await fetch(`${base}/assets/hash-Zz9_xY8-.wasm`)
    expect(wasm.headers.get('content-type')).toBe('application/wasm')
  })

  it('answers a matching If-None-Match with 304', async () => {
    const first = await fetch(`${base}/`)
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': first.headers.get('etag')! } })
    expect(again.status).toBe(304)
  })

  it('serves nothing outside the web root', async () => {
    expect(await rawGet('/../secret.txt')).toBe(404)
    expect(await rawGet('/%2e%2e/secret.txt')).toBe(404)
    expect(await rawGet('/assets/%2e%2e/%2e%2e/secret.txt')).toBe(404)
    expect(await rawGet('/link.txt')).toBe(404)
    expect(await rawGet('/%00')).toBe(404)
    expect(await rawGet('/%E0%A4%A')).toBe(404)
    expect(await rawGet('/missing.js')).toBe(404)
  })

  it('refuses methods other than GET and HEAD', async () => {
    expect((await fetch(`${base}/`, { method: 'POST', body: 'x' })).status).toBe(405)
    const head = await fetch(`${base}/`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('reports health and live figures', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const stats = await (await fetch(`${base}/stats`)).json()
    expect(stats).toMatchObject({ peersOnline: 0, files: 0, swarms: 0, messagesPerSecond: 0 })
    expect(stats.rssBytes).toBeGreaterThan(0)
  })

  it('upgrades only /ws to a WebSocket', async () => {
    const status = await new Promise<string>((resolve, reject) => {
      request({
        host: '127.0.0.1',
        port: server.port,
        path: '/elsewhere',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      })
        .on('response', (res) => resolve(String(res.statusCode)))
        .on('upgrade', () => resolve('upgraded'))
        .on('error', reject)
        .end()
    })
    expect(status).toBe('404')
  })
})
