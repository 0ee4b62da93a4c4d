/**
 * The page: builds the services once (the engine over IndexedDB, the ingester, saving) and hands them to
 * the components through @lit/context. Opening a link to a file (`/#<digest>`, or a private
 * `/#<digest>.<key>`) downloads it, after asking when the link came from outside the page (hash-link.ts).
 * Files shared into the installed app from the system's share sheet (share-target.ts) are shared privately.
 */
import '../shared/zod-csp.js'
import { ContextProvider } from '@lit/context'
import { servicesContext } from './app/context.js'
import { followLinks } from './app/hash-link.js'
import { claimIdentitySlot, contactDatabaseOf, keyDatabaseOf } from './app/identity-slot.js'
import { pageSignals, readMemberAtOnce, watchMembership } from './app/page-membership.js'
import { savePickerFor, saveToDownloads } from './app/save.js'
import { folderSaverFor, saveZip } from './app/save-zip.js'
import { registerServiceWorker } from './app/service-worker.js'
import { AppServices, type FileAccess } from './app/services.js'
import { takeSharedFiles } from './app/share-target.js'
import { TabEntryPoint } from './app/tab-entry-point.js'
import './components/swarmdrop-app.js'
import { TAB_CHANNEL } from '../shared/tab-protocol.js'
import { SwarmEngine } from './peer/engine.js'
import type { LocalFile } from './peer/local-files.js'
import type { MembershipInput } from './peer/ring/membership-policy.js'
import { simplePeerLinkFactory } from './peer/simple-peer-link.js'
import type { ChunkStore } from './storage/chunk-store.js'
import { assembleFile, readSealedHeader } from './storage/give-back.js'
import { IdbChunkStore } from './storage/idb-chunk-store.js'
import { IdbContactStore } from './storage/idb-contact-store.js'
import { IdbFileStore } from './storage/idb-file-store.js'
import { IdbKeyStore } from './storage/idb-key-store.js'
import { Ingester } from './storage/ingester.js'

/** The tracker's WebSocket, on the server that served this page. */
function trackerUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
}

/** Stored files as the services read them beyond a single download. */
function fileAccess(chunks: ChunkStore): FileAccess {
  return {
    sealedHeader: (record) => readSealedHeader(chunks, record),
    bytes: async (record) => new Uint8Array(await (await assembleFile(chunks, record)).arrayBuffer()),
    saveZip: async (name, entries) => {
      await saveZip(chunks, name, entries, window)
    },
    saveToFolder: folderSaverFor(chunks),
  }
}

/** localStorage, where the page may use it. */
function pageStorage(): Storage | undefined {
  try {
    return localStorage
  } catch {
    return undefined
  }
}

/** sessionStorage, where the page may use it (reading it throws in sandboxed frames). */
function tabStorage(): Storage | undefined {
  try {
    return sessionStorage
  } catch {
    return undefined
  }
}

async function start(): Promise<void> {
  // The provider is in place before the app connects, so that its first request for services is heard;
  // the services follow once storage has been scanned.
  const provider = new ContextProvider(document.body, { context: servicesContext, initialValue: undefined })
  const app = document.createElement('swarmdrop-app')
  document.body.append(app)

  const chunks = new IdbChunkStore()
  const files = new IdbFileStore()
  // Downloads that finish while the engine opens (none should) wait for the services to save them.
  let services: AppServices | undefined
  const finishedEarly: LocalFile[] = []
  // The page's circumstances for the ring (visible, hidden, frozen; metered): told to the engine on change.
  let engine: SwarmEngine | undefined
  // "Help the network now" (the Network panel): a ring position at once, as the CLI takes.
  let membership: MembershipInput = { memberAtOnce: readMemberAtOnce(pageStorage()) }
  let tabs: TabEntryPoint | undefined
  watchMembership(pageSignals(window), (input) => {
    membership = { ...membership, ...input }
    engine?.setMembershipInput(input)
    tabs?.setAway(input.visibility === 'frozen')
  })
  try {
    // This tab's key pair: the profile's first, or another when a sibling tab holds it (identity-slot.ts).
    const slot = await claimIdentitySlot(navigator.locks, tabStorage())
    engine = await SwarmEngine.open({
      trackerUrl: trackerUrl(),
      createSocket: (url) => new WebSocket(url),
      chunks,
      files,
      // This profile's key pair: its peer id is the same after every reload (SPEC §9).
      keys: new IdbKeyStore(keyDatabaseOf(slot)),
      membership,
      // Ring peers, CLI `--listen` URLs and ICE servers of this identity: a way back in without the server.
      contacts: new IdbContactStore(contactDatabaseOf(slot)),
      // The browser's own WebRTC, through simple-peer (the one file that imports it).
      createLink: simplePeerLinkFactory(),
      onComplete: (file) => (services ? services.saveCompleted(file) : finishedEarly.push(file)),
    })
    // Sibling tabs of this origin: a way into the ring while the server is down (tab-entry-point.ts).
    if (typeof BroadcastChannel === 'function') {
      tabs = new TabEntryPoint({ peerId: engine.identity.peerId, channel: new BroadcastChannel(TAB_CHANNEL) })
      engine.addEntryPoint(tabs)
    }
    const running = engine
    services = new AppServices({
      engine: running,
      ingester: new Ingester(),
      storage: navigator.storage,
      saveFile: (record) => saveToDownloads(chunks, record),
      saveFileTo: savePickerFor(chunks),
      clipboard: navigator.clipboard,
      pageUrl: `${location.origin}${location.pathname}`,
      files: fileAccess(chunks),
    })
    for (const file of finishedEarly) services.saveCompleted(file)
    provider.setValue(services)
    const ready = services
    followLinks(window, (link, from) => ready.openLink(link, from))
    void takeSharedFiles(window).then((shared) => shared.length > 0 && ready.share(shared, { private: true }))
    window.addEventListener('pagehide', (event) => {
      if (event.persisted) return
      tabs?.destroy() // a goodbye to the sibling tabs…
      running.destroy() // …and to the tracker, so peers stop asking this tab at once
    })
  } catch (error) {
    app.startupError = error
  }
}

// First, whatever happens to the engine: the worker keeps the shell for a visit while the server is down.
void registerServiceWorker(window)
void start()
