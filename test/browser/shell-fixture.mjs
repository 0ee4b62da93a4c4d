// A small app shell served by the test runner for the service worker's browser test
// (test/browser/service-worker.browser-test.ts): the app's real worker (scripts/service-worker.mjs) over a
// shell of two files whose content names a "build", with a switch that makes the fixture's "server" go
// down (its sockets are destroyed, as a SIGKILLed server's would refuse) and live paths that must never be
// cached (/healthz, /stats).
import { serviceWorkerSource } from '../../scripts/service-worker.mjs'

export const SHELL_WORKER_PATH = '/shell-sw.js'
const INDEX = '/shell-fixture/'
/** Named by its build, as Vite names its hashed assets: a new build is a new URL. */
const appPath = (build) => `/assets/shell-fixture-app-${build}.js`
const LIVE = new Set(['/healthz', '/stats'])

const state = { build: 'one', down: false }

/** Koa middleware (web-test-runner's `middleware`): the worker, the shell, the live paths, the outage. */
export async function shellFixtureMiddleware(ctx, next) {
  const path = ctx.path
  const ours =
    path === SHELL_WORKER_PATH ||
    path.startsWith(INDEX) ||
    path.startsWith('/assets/shell-fixture-') ||
    LIVE.has(path)
  if (!ours) return next()
  if (state.down && path !== SHELL_WORKER_PATH) {
    ctx.req.socket.destroy()
    ctx.respond = false
    return
  }
  ctx.set('cache-control', 'no-cache')
  if (path === SHELL_WORKER_PATH) {
    ctx.type = 'text/javascript'
    ctx.body = serviceWorkerSource({
      version: state.build,
      index: INDEX,
      files: [INDEX, appPath(state.build)],
    })
  } else if (path === INDEX) {
    ctx.type = 'text/html'
    ctx.body = `<!doctype html><title>shell</title><p id="build">build ${state.build}</p><script src="${appPath(state.build)}"></script>`
  } else if (path.startsWith('/assets/shell-fixture-app-')) {
    ctx.type = 'text/javascript'
    ctx.body = `document.body.dataset.app = ${JSON.stringify(path.slice('/assets/shell-fixture-app-'.length, -3))}`
  } else if (LIVE.has(path)) {
    ctx.set('cache-control', 'no-store')
    ctx.type = 'application/json'
    ctx.body = JSON.stringify({ path, build: state.build })
  } else {
    ctx.status = 404
  }
}

/** The command that sets the fixture's build and whether its server is down. */
export const shellFixturePlugin = {
  name: 'swarmdrop-shell-fixture',
  async executeCommand({ command, payload }) {
    if (command !== 'shell-fixture') return undefined
    if (typeof payload?.build === 'string') state.build = payload.build
    if (typeof payload?.down === 'boolean') state.down = payload.down
    return { ...state }
  },
}
