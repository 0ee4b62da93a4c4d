/**
 * HTTP: the built web app, `/healthz` and `/stats`. Static files are read once and kept in memory (the
 * app is small); hashed assets are cached for a year, everything else is revalidated.
 */
import { createHash } from 'node:crypto'
import { readFile, realpath } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/**
 * Only our own scripts, workers and WebAssembly (hash-wasm compiles its module, hence 'wasm-unsafe-eval');
 * WebSocket to this origin only; no frames, plugins, forms or base-URI games. Lit styles use
 * constructable stylesheets, which style-src does not govern.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // Camera and microphone stay allowed: Chromium offers host ICE candidates only to pages holding that
  // permission, which the loopback browser tests grant (SPEC §8).
  'permissions-policy': 'geolocation=(), payment=(), usb=()',
}

/** Vite names built assets `name-<hash>.ext` under /assets/: their content never changes under one URL. */
const HASHED_ASSET = /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/
const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'

interface CachedFile {
  body: Buffer
  etag: string
  type: string
}

export interface HttpHandlerOptions {
  webRoot: string
  stats: () => unknown
}

export function createHttpHandler(
  options: HttpHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  // Keyed by the resolved file, not the URL: the URL space is unbounded (encodings, misses), the files are not.
  const cache = new Map<string, CachedFile>()

  const load = async (urlPath: string): Promise<CachedFile | null> => {
    const path = await resolveStatic(options.webRoot, urlPath)
    if (!path) return null
    const cached = cache.get(path)
    if (cached) return cached
    const file = await readStatic(path)
    if (file) cache.set(path, file)
    return file
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' })
    if (url.pathname === '/stats') return sendJson(res, 200, options.stats())
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS }).end()
      return
    }
    const path = url.pathname === '/' ? '/index.html' : url.pathname
    load(path).then(
      (file) => {
        if (!file) {
          res
            .writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS })
            .end('not found\n')
          return
        }
        const headers = {
          'content-type': file.type,
          etag: file.etag,
          'cache-control': HASHED_ASSET.test(path) ? IMMUTABLE : REVALIDATE,
          ...SECURITY_HEADERS,
        }
        if (req.headers['if-none-match'] === file.etag) {
          res.writeHead(304, headers).end()
          return
        }
        res.writeHead(200, { ...headers, 'content-length': file.body.length })
        res.end(req.method === 'HEAD' ? undefined : file.body)
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error\n')
      },
    )
  }
}

/** The real path of a file under `root`, refusing anything that resolves outside it (`..`, encoded or through links). */
async function resolveStatic(root: string, urlPath: string): Promise<string | null> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.split('/').includes('..')) return null
  try {
    const realRoot = await realpath(root)
    const resolved = await realpath(join(realRoot, decoded))
    return resolved.startsWith(realRoot + sep) ? resolved : null
  } catch {
    return null
  }
}

async function readStatic(path: string): Promise<CachedFile | null> {
  try {
    const body = await readFile(path)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    return { body, etag, type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream' }
  } catch {
    return null // a directory, or gone since it was resolved
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...SECURITY_HEADERS,
  })
  res.end(text)
}
