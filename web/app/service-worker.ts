/**
 * Registers the app's one service worker (`/sw.js`, web/service-worker/sw.js) with the scope `/`: it keeps
 * the app shell so that the page loads while the server is down (issue 13), takes what the share sheet
 * sends (share-target.ts) and streams downloads (stream-download.ts). Each build's worker differs, so the
 * browser's update check on an online load installs the new build's shell by itself.
 *
 * Earlier builds registered the share target's worker alone at `/share-target-sw.js` with the scope
 * `/share-target`; that registration would keep answering its narrower scope, so it is removed: one worker.
 */
export const SERVICE_WORKER_URL = '/sw.js'
export const SERVICE_WORKER_SCOPE = '/'

/** Registers the worker where service workers exist (secure contexts); removes other builds' registrations. */
export async function registerServiceWorker(win: Window): Promise<ServiceWorkerRegistration | undefined> {
  const container = win.navigator.serviceWorker
  if (!container || !win.isSecureContext) return undefined
  try {
    const ours = new URL(SERVICE_WORKER_SCOPE, win.location.origin).href
    for (const registration of await container.getRegistrations()) {
      if (registration.scope !== ours) await registration.unregister()
    }
    return await container.register(SERVICE_WORKER_URL, { scope: SERVICE_WORKER_SCOPE })
  } catch {
    // Without it the page needs the server to load, sharing into the installed app is not offered, and
    // zips are saved as Blobs; everything else works.
    return undefined
  }
}
