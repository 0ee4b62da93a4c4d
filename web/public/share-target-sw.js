// The app's one service worker, registered with the narrow scope /share-target so that it never controls
// the app's own pages. Deliberately minimal and on its own: an app-shell service worker (offline use) is
// another piece of work, and its scope (/) does not overlap this one. It does two things:
//
// 1. The share target of the installed app (manifest.webmanifest, share_target): the system's share sheet
//    POSTs the shared files (or text) to /share-target; this worker takes them, keeps them in IndexedDB and
//    sends the page to /?share-target=1, which shares them privately (web/app/share-target.ts). The server
//    answers only GET, so nothing else could take the POST.
//
// 2. Streamed downloads (web/app/stream-download.ts; the StreamSaver technique): a page hands it a
//    MessagePort for a download id, then opens /share-target/download/<id>/<name> in a hidden frame; this
//    worker answers that with a stream it pulls from the page one chunk at a time, marked as an attachment,
//    so the browser saves it as an ordinary download and the file (a collection's zip) is never whole in
//    memory, neither the page's nor this worker's. Keep the messages in step with stream-download.ts.
const DB_NAME = 'swarmdrop-share-target'
const STORE = 'shared'
const DOWNLOAD_PATH = '/share-target/download/'
/** A download id handed over but never opened is forgotten after this long. */
const UNCLAIMED_MS = 60_000

/** Download id → the port its bytes come through, its file name and type; until its URL is opened. */
const downloads = new Map()

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method === 'POST' && url.pathname === '/share-target') {
    event.respondWith(receive(event.request))
  } else if (event.request.method === 'GET' && url.pathname.startsWith(DOWNLOAD_PATH)) {
    event.respondWith(download(url.pathname.slice(DOWNLOAD_PATH.length).split('/')[0]))
  }
})

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
