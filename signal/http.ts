/**
 * HTTP: the built web app, `/healthz` and `/stats`. Static files are read once and kept in memory (the
 * app is small); hashed assets are cached for a year, everything else is revalidated. Dotfiles are never
 * served, source maps only when asked for (`SERVE_SOURCE_MAPS`): they publish the whole source.
 */
import { createHash } from 'node:crypto'
import { readFile, realpath } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, sep } from 'node:path'
import { requestPath } from './front-door.js'
import { SECURITY_HEADERS } from './security-headers.js'

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
  /** What `/healthz` reports besides `status: ok` (with Redis: whether it is reachable). */
  health?: () => Record<string, unknown>
  /** Serve `*.map` files (default false): they let anyone read the unminified source. */
  serveSourceMaps?: boolean
}

/** The only methods any path answers; everything else is 405, `/healthz` and `/stats` included. */
const ALLOWED_METHODS = 'GET, HEAD'

export function createHttpHandler(
  options: HttpHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  // Keyed by the resolved file, not the URL: the URL space is unbounded (encodings, misses), the files are not.
  const cache = new Map<string, CachedFile>()

  const load = async (urlPath: string): Promise<CachedFile | null> => {
    if (!servable(urlPath, options.serveSourceMaps ?? false)) return null
    const path = await resolveStatic(options.webRoot, urlPath)
    if (!path) return null
    const cached = cache.get(path)
    if (cached) return cached
    const file = await readStatic(path)
    if (file) cache.set(path, file)
    return file
  }

  return (req, res) => {
    const pathname = requestPath(req.url)
    if (pathname === undefined) return sendText(res, 400, 'bad request target\n')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendText(res, 405, 'method not allowed\n', { allow: ALLOWED_METHODS })
    }
    if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok', ...options.health?.() })
    if (pathname === '/stats') {
      Promise.resolve()
        .then(options.stats)
        .then(
          (stats) => sendJson(res, 200, stats),
          () => sendText(res, 500, 'internal error\n'),
        )
      return
    }
    const path = pathname === '/' ? '/index.html' : pathname
    load(path).then(
      (file) => {
        if (!file) return sendText(res, 404, 'not found\n')
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
      () => sendText(res, 500, 'internal error\n'),
    )
  }
}

/**
 * Whether a URL path may name a file at all: no segment starting with a dot (`.env`, `.git/`, editors'
 * backups), and no source map unless asked for. Checked on the decoded path, so `%2e` is no way around it.
 */
function servable(urlPath: string, serveSourceMaps: boolean): boolean {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return false
  }
  if (decoded.split(/[/\\]/).some((segment) => segment.startsWith('.'))) return false
  return serveSourceMaps || !decoded.toLowerCase().endsWith('.map')
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

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  extraHeaders: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...SECURITY_HEADERS,
    ...extraHeaders,
  })
  res.end(text)
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
