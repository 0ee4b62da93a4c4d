import { describe, expect, it } from 'vitest'
import {
  SERVICE_WORKER_PATH,
  serviceWorkerPlugin,
  serviceWorkerSource,
  shellOf,
} from '../../scripts/service-worker.mjs'

const build = (extra: Record<string, string> = {}) =>
  new Map<string, string | Uint8Array>(
    Object.entries({
      '/index.html': '<!doctype html>',
      '/assets/index-abc12345.js': 'code',
      '/assets/index-abc12345.js.map': '{}',
      '/icons/icon-192.png': new Uint8Array([1, 2, 3]),
      [SERVICE_WORKER_PATH]: 'an older worker',
      ...extra,
    }),
  )

describe('the service worker’s shell', () => {
  it('keeps index.html as / and every served file but source maps and the worker itself', () => {
    expect(shellOf(build())).toMatchObject({
      index: '/',
      files: ['/', '/assets/index-abc12345.js', '/icons/icon-192.png'],
    })
  })

  it('is versioned by the shell’s bytes: the same build gives the same version, a changed file another', () => {
    expect(shellOf(build()).version).toBe(shellOf(build()).version)
    expect(shellOf(build({ '/index.html': '<!doctype html><p>' })).version).not.toBe(shellOf(build()).version)
    expect(shellOf(build({ '/icons/icon-192.png': 'other' })).version).not.toBe(shellOf(build()).version)
    // Source maps are not served by default: they change no version.
    expect(shellOf(build({ '/assets/index-abc12345.js.map': '{"v":2}' })).version).toBe(
      shellOf(build()).version,
    )
  })

  it('puts the shell in front of the worker, so that each build’s worker differs from the last', () => {
    const one = serviceWorkerSource({ version: 'aaaa', index: '/', files: ['/'] })
    const two = serviceWorkerSource({ version: 'bbbb', index: '/', files: ['/'] })
    expect(one.split('\n')[0]).toBe('const SHELL = {"version":"aaaa","index":"/","files":["/"]}')
    expect(one).not.toBe(two)
    expect(one).toContain("const NEVER_CACHED = new Set(['/ws', '/healthz', '/stats'])")
  })

  it('builds a page whose public folder does not exist (the bench pages) instead of failing the build', () => {
    const plugin = serviceWorkerPlugin() as unknown as {
      configResolved(config: { publicDir: string }): void
      generateBundle(
        this: { emitFile(file: { fileName: string; source: string }): void },
        o: unknown,
        b: unknown,
      ): void
    }
    plugin.configResolved({ publicDir: '/nonexistent/swarmdrop-public' })
    const emitted: { fileName: string; source: string }[] = []
    plugin.generateBundle.call(
      { emitFile: (file) => emitted.push(file) },
      {},
      {
        'index.html': { type: 'asset', source: '<!doctype html>' },
        'app.js': { type: 'chunk', code: 'export {}' },
      },
    )
    expect(emitted.map((file) => file.fileName)).toEqual([SERVICE_WORKER_PATH.slice(1)])
    expect(emitted[0]!.source).toContain('"/app.js"')
  })
})
