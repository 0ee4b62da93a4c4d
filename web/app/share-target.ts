/**
 * Files shared into the installed app from the system's share sheet: the share target's service worker
 * (web/service-worker/sw.js) keeps them in IndexedDB and opens `/?share-target=1`; the page takes them
 * from there, once, and shares them. The worker (the app's one, service-worker.ts) also streams downloads
 * under this path (stream-download.ts).
 */
import { createStore, del, get } from 'idb-keyval'

/** Where the share sheet posts, and the path under which the worker streams downloads. */
export const SHARE_TARGET_SCOPE = '/share-target'
const DB_NAME = 'swarmdrop-share-target'
const STORE = 'shared'
const MARK = 'share-target'

/** The files the share sheet sent, if this page was opened for them (the mark is then removed). */
export async function takeSharedFiles(win: Window): Promise<File[]> {
  const url = new URL(win.location.href)
  if (!url.searchParams.has(MARK)) return []
  url.searchParams.delete(MARK)
  win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${url.hash}`)
  try {
    const store = createStore(DB_NAME, STORE)
    const value: unknown = await get('files', store)
    await del('files', store)
    return Array.isArray(value) ? value.filter((file): file is File => file instanceof File) : []
  } catch {
    return []
  }
}
