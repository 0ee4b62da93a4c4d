/**
 * Files shared into the installed app from the system's share sheet: the share target's service worker
 * (web/public/share-target-sw.js) keeps them in IndexedDB and opens `/?share-target=1`; the page takes them
 * from there, once, and shares them. Registering the worker happens here too, with the narrow scope
 * `/share-target`, so that it never controls the app's own pages. The same worker streams downloads
 * (stream-download.ts).
 */
import { createStore, del, get } from 'idb-keyval'

/** The worker's scope: below the app's pages, so it never controls them. */
export const SHARE_TARGET_SCOPE = '/share-target'
const DB_NAME = 'swarmdrop-share-target'
const STORE = 'shared'
const MARK = 'share-target'

/** Registers the share target's worker where service workers exist (secure contexts). */
export function registerShareTarget(win: Window): void {
  const container = win.navigator.serviceWorker
  if (!container || !win.isSecureContext) return
  container.register('/share-target-sw.js', { scope: SHARE_TARGET_SCOPE }).catch(() => {
    // Without it, sharing into the installed app is not offered and zips are saved as Blobs; everything
    // else works.
  })
}

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
