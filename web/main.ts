/**
 * The page: builds the services once (the engine over IndexedDB, the ingester, saving) and hands them to
 * the components through @lit/context. Opening `/#<digest>` downloads that file, after asking when the
 * link came from outside the page (hash-link.ts).
 */
import '../shared/zod-csp.js'
import { ContextProvider } from '@lit/context'
import { servicesContext } from './app/context.js'
import { followDigestLinks } from './app/hash-link.js'
import { savePickerFor, saveToDownloads } from './app/save.js'
import { AppServices } from './app/services.js'
import './components/swarmdrop-app.js'
import { SwarmEngine } from './peer/engine.js'
import type { LocalFile } from './peer/local-files.js'
import { simplePeerLinkFactory } from './peer/simple-peer-link.js'
import { IdbChunkStore } from './storage/idb-chunk-store.js'
import { IdbFileStore } from './storage/idb-file-store.js'
import { IdbKeyStore } from './storage/idb-key-store.js'
import { Ingester } from './storage/ingester.js'

/** The tracker's WebSocket, on the server that served this page. */
function trackerUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
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
  try {
    const engine = await SwarmEngine.open({
      trackerUrl: trackerUrl(),
      createSocket: (url) => new WebSocket(url),
      chunks,
      files,
      // This profile's key pair: its peer id is the same after every reload (SPEC §9).
      keys: new IdbKeyStore(),
      // The browser's own WebRTC, through simple-peer (the one file that imports it).
      createLink: simplePeerLinkFactory(),
      onComplete: (file) => (services ? services.saveCompleted(file) : finishedEarly.push(file)),
    })
    services = new AppServices({
      engine,
      ingester: new Ingester(),
      storage: navigator.storage,
      saveFile: (record) => saveToDownloads(chunks, record),
      saveFileTo: savePickerFor(chunks),
      clipboard: navigator.clipboard,
      pageUrl: `${location.origin}${location.pathname}${location.search}`,
    })
    for (const file of finishedEarly) services.saveCompleted(file)
    provider.setValue(services)
    const ready = services
    followDigestLinks(window, (digest, from) =>
      from === 'page' ? void ready.download(digest) : void ready.askToDownload(digest),
    )
    window.addEventListener('pagehide', (event) => {
      if (!event.persisted) engine.destroy() // a goodbye to the tracker, so peers stop asking this tab at once
    })
  } catch (error) {
    app.startupError = error
  }
}

void start()
