// The app's one service worker (`/sw.js`, scope `/`). The build (scripts/service-worker.mjs) puts a line
// in front of this file defining `SHELL`: `{ version, index, files }`, the build's own version and the URLs
// of the app shell (index.html at `/`, the hashed assets, the manifest and icons). It does three things:
//
// 1. The app shell, for a page loaded while the server is down (issue 13): on install it keeps every shell
//    file in a cache named after the build's version; on activate it deletes the caches of other builds.
//    Loading the page asks the network first and falls back to the kept index.html when the server cannot
//    be reached, so an online load always gets the newest page, and the browser's update check on that
//    load (this script changes with every build) installs the new build's shell. Hashed assets (under
//    /assets/) are taken from the cache first, since their URL names their content; the other shell files
//    (the manifest, icons) go to the network first like the page. `/ws`, `/healthz` and `/stats` are never
//    cached nor answered from a cache, and nothing outside the shell list is ever written to one.
//
// 2. The share target of the installed app (manifest.webmanifest, share_target): the system's share sheet
//    POSTs the shared files (or text) to /share-target; this worker takes them, keeps them in IndexedDB and
//    sends the page to /?share-target=1, which shares them privately (web/app/share-target.ts). The server
//    answers only GET, so nothing else could take the POST.
//
// 3. Streamed downloads (web/app/stream-download.ts; the StreamSaver technique): a page hands it a
//    MessagePort for a download id, then opens /share-target/download/<id>/<name> in a hidden frame; this
//    worker answers that with a stream it pulls from the page one chunk at a time, marked as an attachment,
//    so the browser saves it as an ordinary download and the file (a collection's zip) is never whole in
//    memory, neither the page's nor this worker's. Keep the messages in step with stream-download.ts.
/* global SHELL */
const CACHE_PREFIX = 'swarmdrop-shell-'
const CACHE_NAME = `${CACHE_PREFIX}${SHELL.version}`
/** Paths that are live answers of the server, never the shell: never cached, never answered from a cache. */
const NEVER_CACHED = new Set(['/ws', '/healthz', '/stats'])
/**
 * How long loading the page waits for the server before it takes the kept shell: a server that is down
 * refuses at once on loopback, but one behind a dead route would hang the page until the browser gives up.
 */
const NAVIGATION_TIMEOUT_MS = 4_000
const SHELL_FILES = new Set(SHELL.files)
/** Vite's hashed output: a URL here never changes its content. */
const HASHED = /^\/assets\//
const DB_NAME = 'swarmdrop-share-target'
const STORE = 'shared'
const DOWNLOAD_PATH = '/share-target/download/'
/** A download id handed over but never opened is forgotten after this long. */
const UNCLAIMED_MS = 60_000

/** Download id → the port its bytes come through, its file name and type; until its URL is opened. */
const downloads = new Map()

self.addEventListener('install', (event) => event.waitUntil(keepShell().then(() => self.skipWaiting())))
self.addEventListener('activate', (event) =>
  event.waitUntil(dropOtherBuilds().then(() => self.clients.claim())),
)

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (url.origin !== self.location.origin || NEVER_CACHED.has(url.pathname)) return
  if (request.method === 'POST' && url.pathname === '/share-target') {
    event.respondWith(receive(request))
  } else if (request.method !== 'GET') {
    // Only GETs are the shell's.
  } else if (url.pathname.startsWith(DOWNLOAD_PATH)) {
    event.respondWith(download(url.pathname.slice(DOWNLOAD_PATH.length).split('/')[0]))
  } else if (request.mode === 'navigate' && isIndex(url.pathname)) {
    event.respondWith(networkFirst(request, SHELL.index))
  } else if (SHELL_FILES.has(url.pathname) && !isIndex(url.pathname)) {
    // The index only ever stands in for a page load (above); a script's own fetch of it goes to the server.
    const hashed = HASHED.test(url.pathname)
    event.respondWith(hashed ? cacheFirst(request, url.pathname) : networkFirst(request, url.pathname))
  }
})

/** Keeps this build's shell, fetched afresh (not from the HTTP cache, which may hold another build's). */
async function keepShell() {
  const cache = await caches.open(CACHE_NAME)
  await cache.addAll(SHELL.files.map((path) => new Request(path, { cache: 'reload' })))
}

/** Deletes the shells of other builds: only the running build's is kept. */
async function dropOtherBuilds() {
  const names = await caches.keys()
  await Promise.all(
    names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME).map((n) => caches.delete(n)),
  )
}

/** Whether a path loads the page itself (`/`, `/index.html`, or the shell's own index). */
function isIndex(pathname) {
  return pathname === SHELL.index || pathname === '/' || pathname === '/index.html'
}

/**
 * The page (or an unhashed shell file): the server's when it answers (within NAVIGATION_TIMEOUT_MS), else
 * the kept copy at `keptPath`. An error status from a live server is its answer, passed on as it is.
 */
async function networkFirst(request, keptPath) {
  try {
    return await withTimeout(fetch(request), NAVIGATION_TIMEOUT_MS)
  } catch {
    const kept = await caches.match(keptPath, { cacheName: CACHE_NAME })
    return kept ?? Response.error()
  }
}

/** A hashed shell file: the kept copy of this build, else the network (a file of a build not kept yet). */
async function cacheFirst(request, pathname) {
  const kept = await caches.match(pathname, { cacheName: CACHE_NAME })
  return kept ?? fetch(request)
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

// Messages come only from pages of this origin. A download is announced with its port; the pages' other
// messages ("keep-alive") only keep this worker running while a download streams.
self.addEventListener('message', (event) => {
  const data = event.data
  const port = event.ports[0]
  if (!port || data?.type !== 'stream-download' || typeof data.id !== 'string') return
  if (typeof data.name !== 'string' || typeof data.mime !== 'string') return
  downloads.set(data.id, { port, name: data.name, mime: data.mime })
  setTimeout(() => downloads.delete(data.id), UNCLAIMED_MS)
  port.postMessage({ type: 'ready' })
})

async function receive(request) {
  try {
    const form = await request.formData()
    const files = form.getAll('files').filter((value) => value instanceof File && value.size >= 0)
    const text = ['title', 'text', 'url']
      .map((name) => form.get(name))
      .filter((value) => typeof value === 'string' && value.trim() !== '')
      .join('\n')
    if (files.length === 0 && text) files.push(new File([text], 'Shared text.txt', { type: 'text/plain' }))
    await keep(files)
  } catch {
    // Nothing kept: the page opens as usual.
  }
  return Response.redirect('/?share-target=1', 303)
}

function keep(files) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1)
    open.onupgradeneeded = () => open.result.createObjectStore(STORE)
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const tx = open.result.transaction(STORE, 'readwrite')
      tx.objectStore(STORE).put(files, 'files')
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    }
  })
}

/** The response to a download URL: the page's stream as an attachment, or 404 for an unknown id. */
function download(id) {
  const entry = downloads.get(id)
  downloads.delete(id) // one response per id
  if (!entry) return new Response('No such download.', { status: 404 })
  return new Response(pulledFrom(entry.port), {
    headers: {
      'Content-Type': entry.mime,
      'Content-Disposition': attachment(entry.name),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
    },
  })
}

/**
 * A stream whose chunks the page sends on request: one "pull" per chunk the browser wants, so no more than
 * one chunk waits here at a time (backpressure reaches the page's reader). Cancelling the download in the
 * browser tells the page to stop.
 */
function pulledFrom(port) {
  let answered
  return new ReadableStream(
    {
      start(controller) {
        port.onmessage = ({ data }) => {
          try {
            if (data?.type === 'chunk' && data.chunk instanceof Uint8Array) controller.enqueue(data.chunk)
            else if (data?.type === 'done') controller.close()
            else controller.error(new Error(typeof data?.message === 'string' ? data.message : 'stopped'))
          } catch {
            // The stream is closed already (cancelled, or done): nothing more goes into it.
          }
          answered?.()
        }
      },
      pull() {
        port.postMessage({ type: 'pull' })
        return new Promise((resolve) => {
          answered = resolve
        })
      },
      cancel() {
        port.postMessage({ type: 'cancel' })
        port.close()
      },
    },
    { highWaterMark: 1 },
  )
}

/** A Content-Disposition for a name the page sanitised: an ASCII fallback and the UTF-8 name (RFC 6266). */
function attachment(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
