/**
 * The page each browser of the end-to-end tests loads: the services built as the app builds them (the
 * engine over IndexedDB, the real tracker at this origin's /ws, the ingest worker), a finished download
 * saved through an ordinary `a[download]` (SPEC §2), and `window.harness` for Playwright to drive it.
 */
import type { Download } from '../../../web/peer/download.js'
import { SwarmEngine } from '../../../web/peer/engine.js'
import type { LocalFile } from '../../../web/peer/local-files.js'
import { simplePeerLinkFactory } from '../../../web/peer/simple-peer-link.js'
import { sanitizeFileName } from '../../../web/storage/file-name.js'
import { assembleFile } from '../../../web/storage/give-back.js'
import { IdbChunkStore } from '../../../web/storage/idb-chunk-store.js'
import { IdbFileStore } from '../../../web/storage/idb-file-store.js'
import { Ingester } from '../../../web/storage/ingester.js'
import type {
  HarnessApi,
  HarnessProgress,
  HarnessReceived,
  HarnessUploads,
  HarnessWindow,
  SharedFile,
} from './api.js'

/** How long a saved file's object URL lives: long past the moment Chromium has taken the download. */
const OBJECT_URL_LIFETIME_MS = 60_000
/** Where the bytes received over the tab's reloads are counted (sessionStorage survives a reload). */
const RECEIVED_KEY = 'swarmdrop-e2e-received'
/**
 * How often the main-thread probe runs: a timer due every 20 ms that fires late by N ms means the page
 * could not answer anything (input, a message) for N ms.
 */
const LAG_PROBE_MS = 20

let longestLagMs = 0
let lastProbe = performance.now()
setInterval(() => {
  const now = performance.now()
  longestLagMs = Math.max(longestLagMs, now - lastProbe - LAG_PROBE_MS)
  lastProbe = now
}, LAG_PROBE_MS)

/** The page's `?abusiveLinksBurst=N` and `?abusiveLinksPerOrigin=N`, as engine options. */
function abuseAllowances(): { abusiveLinksBurst?: number; abusiveLinksPerOrigin?: number } {
  const params = new URLSearchParams(location.search)
  const options: { abusiveLinksBurst?: number; abusiveLinksPerOrigin?: number } = {}
  for (const name of ['abusiveLinksBurst', 'abusiveLinksPerOrigin'] as const) {
    const value = Number(params.get(name))
    if (Number.isInteger(value) && value > 0) options[name] = value
  }
  return options
}

const errors: string[] = []
window.addEventListener('error', (event) => errors.push(`error: ${event.message}`))
window.addEventListener('unhandledrejection', (event) => errors.push(`unhandled: ${String(event.reason)}`))

const chunks = new IdbChunkStore()
const files = new IdbFileStore()
const saved: string[] = []

/** Saves a finished download as the app does: a Blob of the stored chunks, an `a[download]`, a click. */
async function save(file: LocalFile): Promise<void> {
  try {
    const blob = await assembleFile(chunks, file.record)
    const url = URL.createObjectURL(blob)
    const anchor = document.createElement('a')
    anchor.href = url
    anchor.download = sanitizeFileName(file.record.name)
    document.body.append(anchor)
    anchor.click()
    anchor.remove()
    saved.push(anchor.download)
    setTimeout(() => URL.revokeObjectURL(url), OBJECT_URL_LIFETIME_MS)
  } catch (error) {
    errors.push(`save failed: ${String(error)}`)
  }
}

const received: HarnessReceived = JSON.parse(
  sessionStorage.getItem(RECEIVED_KEY) ?? '{"bytes":0,"loads":0}',
) as HarnessReceived
received.loads += 1
sessionStorage.setItem(RECEIVED_KEY, JSON.stringify(received))

const engine = await SwarmEngine.open({
  trackerUrl: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
  createSocket: (url) => new WebSocket(url),
  chunks,
  files,
  createLink: simplePeerLinkFactory(),
  // `?abusiveLinksBurst=N&abusiveLinksPerOrigin=N`: the hostile-peer suite raises them so that one attacker
  // can send its 100,000 frames under fresh peer ids (the allowances are tested in link-manager.test.ts).
  ...abuseAllowances(),
  onComplete: (file) => void save(file),
})
const ingester = new Ingester()

const trackerElement = document.getElementById('tracker')!
engine.on('status', (status) => {
  trackerElement.dataset.trackerState = status.state
  trackerElement.textContent = status.state
  if (status.state === 'online') document.getElementById('peer-id')!.textContent = status.peerId
})

const uploads: HarnessUploads = { chunks: 0, bytes: 0, byPeer: {} }
engine.swarm.on('uploaded', ({ peerId, bytes }) => {
  uploads.chunks += 1
  uploads.bytes += bytes
  uploads.byPeer[peerId] = (uploads.byPeer[peerId] ?? 0) + 1
})
let framesIn = 0
engine.swarm.on('session', (session) => {
  session.link.on('frame', () => framesIn++)
  session.on('chunk', ({ bytes }) => {
    received.bytes += bytes.length
    sessionStorage.setItem(RECEIVED_KEY, JSON.stringify(received))
  })
})

interface Watched {
  download: Download
  fromPeers: Record<string, number>
  requestedFrom: Record<string, number>
  banned: string[]
  problems: string[]
}
const watched = new Map<string, Watched>()

/** Follows a download's chunk and ban events from its first event on. */
function watch(digest: string): void {
  const download = engine.swarm.getDownload(digest)
  if (!download || watched.get(digest)?.download === download) return
  const entry: Watched = { download, fromPeers: {}, requestedFrom: {}, banned: [], problems: [] }
  watched.set(digest, entry)
  download.on('chunk', ({ state, peerId }) => {
    if (peerId === undefined) return
    if (state === 'here') entry.fromPeers[peerId] = (entry.fromPeers[peerId] ?? 0) + 1
    if (state === 'in-flight') entry.requestedFrom[peerId] = (entry.requestedFrom[peerId] ?? 0) + 1
  })
  download.on('ban', ({ peerId }) => entry.banned.push(peerId))
}
// A download starts (and so emits `file`) before any source is asked: nothing is missed.
engine.on('file', ({ digest }) => watch(digest))
engine.on('problem', ({ digest, error }) => {
  if (digest !== undefined) watched.get(digest)?.problems.push(error.code)
})
// Downloads resumed by open() started before these listeners existed; no source was asked yet.
for (const file of engine.local.list()) watch(file.record.digest)

const input = document.getElementById('files') as HTMLInputElement

const harness: HarnessApi = {
  peerId: () => engine.tracker.peerId ?? null,

  async share() {
    const shared: SharedFile[] = []
    for (const file of Array.from(input.files ?? [])) {
      const job = ingester.ingest(file, { onManifest: (record) => engine.share(record, file) })
      const { record } = await job.result
      engine.stored(record)
      shared.push({
        digest: record.digest,
        name: record.name,
        size: record.manifest.size,
        plainSha256: record.plainSha256 ?? '',
      })
    }
    return shared
  },

  async fetch(digest) {
    await engine.catalog({ query: digest })
    await engine.fetch(digest)
  },

  progress(digest): HarnessProgress | null {
    const entry = watched.get(digest)
    if (!entry) return null
    const progress = entry.download.progress()
    return {
      state: progress.state,
      chunksHere: progress.chunksHere,
      chunkCount: progress.chunkCount,
      sources: progress.sources,
      fromPeers: { ...entry.fromPeers },
      requestedFrom: { ...entry.requestedFrom },
      banned: [...entry.banned],
      problems: [...entry.problems],
    }
  },

  uploads: () => ({ ...uploads, byPeer: { ...uploads.byPeer } }),
  received: () => ({ ...received }),
  saved: () => [...saved],
  errors: () => [...errors],

  longestLag() {
    const longest = Math.max(0, Math.round(longestLagMs))
    longestLagMs = 0
    return longest
  },

  links: () => ({
    framesIn,
    sessions: engine.swarm.sessions.length,
    budget: { ...engine.linkBudget },
    bans: engine.activeBans.map((ban) => `${ban.key} ${ban.reason} ×${ban.strikes}`),
  }),

  close() {
    ingester.destroy()
    engine.destroy()
  },
}
;(window as HarnessWindow).harness = harness
