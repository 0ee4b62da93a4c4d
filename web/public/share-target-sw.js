// The share target of the installed app (manifest.webmanifest, share_target): the system's share sheet
// POSTs the shared files (or text) to /share-target; this service worker, registered with the scope
// /share-target only, takes them, keeps them in IndexedDB and sends the page to /?share-target=1, which
// shares them privately (web/app/share-target.ts). The server answers only GET, so nothing else could
// take the POST. Deliberately minimal and on its own: an app-shell service worker (offline use) is another
// piece of work, and its scope (/) does not overlap this one.
const DB_NAME = 'swarmdrop-share-target'
const STORE = 'shared'

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'POST' || url.pathname !== '/share-target') return
  event.respondWith(receive(event.request))
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
