// The app's service worker (web/service-worker/sw.js) as the build emits it: one line defining `SHELL`
// (the build's version and the URLs of its app shell) in front of the worker's own source. The version is a
// hash of every shell file's bytes, so each build that changes the page changes the worker's bytes too, and
// browsers install it on the next online load (issue 13). Used by vite.config.ts (build and dev server) and
// by the browser tests, which serve the same worker over a shell of their own.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SERVICE_WORKER_PATH = '/sw.js'
const SOURCE = fileURLToPath(new URL('../web/service-worker/sw.js', import.meta.url))

/** Files of a build that are not the shell: source maps (not served by default), the worker itself. */
const NOT_SHELL = /\.map$/

/**
 * The worker's source for a shell: `{ version, index, files }`, `files` the URL paths to keep (the index
 * among them), `index` the path that loads the page.
 * @param {{ version: string, index: string, files: string[] }} shell
 */
export function serviceWorkerSource(shell) {
  const line = `const SHELL = ${JSON.stringify({ version: shell.version, index: shell.index, files: shell.files })}\n`
  return line + readFileSync(SOURCE, 'utf8')
}

/**
 * The shell of a build: `/` for index.html, every other emitted file and public file by its URL path,
 * sorted, and a version hashing their names and bytes.
 * @param {Map<string, string | Uint8Array>} contents URL path → bytes, of every file the build serves
 */
export function shellOf(contents) {
  const files = [...contents.keys()]
    .filter((path) => !NOT_SHELL.test(path) && path !== SERVICE_WORKER_PATH)
    .map((path) => (path === '/index.html' ? '/' : path))
    .sort()
  const hash = createHash('sha256')
  for (const path of files) {
    hash.update(`${path}\0`)
    hash.update(contents.get(path === '/' ? '/index.html' : path))
    hash.update('\0')
  }
  return { version: hash.digest('hex').slice(0, 16), index: '/', files }
}

/** Every file under `dir`, by URL path (`/icons/icon-192.png`). */
function filesUnder(dir) {
  const found = new Map()
  const visit = (path) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry)
      if (statSync(full).isDirectory()) visit(full)
      else found.set(`/${relative(dir, full).split(sep).join('/')}`, readFileSync(full))
    }
  }
  visit(dir)
  return found
}

/**
 * The Vite plugin: emits `sw.js` beside the build (its shell: the bundle and the public folder); the dev
 * server answers `/sw.js` with an empty shell (nothing kept: `npm run dev` always loads from the network).
 * @returns {import('vite').Plugin}
 */
export function serviceWorkerPlugin() {
  let publicDir = ''
  return {
    name: 'swarmdrop-service-worker',
    // After Vite's own html plugin, which emits index.html in its generateBundle.
    enforce: 'post',
    configResolved(config) {
      publicDir = config.publicDir
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.split('?')[0] !== SERVICE_WORKER_PATH) return next()
        res.setHeader('content-type', 'text/javascript; charset=utf-8')
        res.setHeader('cache-control', 'no-cache')
        res.end(serviceWorkerSource({ version: 'dev', index: '/', files: [] }))
      })
    },
    generateBundle(_options, bundle) {
      // Vite names a public folder whether or not it exists (bench pages built with this config have none).
      const contents = publicDir && existsSync(publicDir) ? filesUnder(publicDir) : new Map()
      for (const [fileName, output] of Object.entries(bundle)) {
        contents.set(`/${fileName}`, output.type === 'chunk' ? output.code : output.source)
      }
      this.emitFile({
        type: 'asset',
        fileName: SERVICE_WORKER_PATH.slice(1),
        source: serviceWorkerSource(shellOf(contents)),
      })
    },
  }
}
