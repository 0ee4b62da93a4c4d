// `npm start`: builds what is missing or stale, then runs the server in this same process.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const SERVER_BUNDLE = 'dist/server/main.js'
const WEB_INDEX = 'dist/web/index.html'

function newestMtime(paths) {
  let newest = 0
  const visit = (path) => {
    const stat = statSync(path)
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry))
    else newest = Math.max(newest, stat.mtimeMs)
  }
  for (const path of paths) if (existsSync(path)) visit(path)
  return newest
}

const isStale = (output, sources) => !existsSync(output) || statSync(output).mtimeMs < newestMtime(sources)

// Builds run in child processes so that the bundlers' memory is not kept by the long-running server.
const run = (...args) => execFileSync(process.execPath, args, { stdio: 'inherit' })
if (isStale(WEB_INDEX, ['web', 'shared', 'vite.config.ts', 'package-lock.json'])) {
  run('node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn')
}
if (isStale(SERVER_BUNDLE, ['signal', 'shared', 'package-lock.json'])) run('scripts/build-server.mjs')

await import(new URL(`../${SERVER_BUNDLE}`, import.meta.url).href)
