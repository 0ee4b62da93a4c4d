/**
 * The transfer bench page, loaded in both browsers from the real server: the raw RTCDataChannel baseline
 * (raw-channel.ts) and the real SwarmEngine over IndexedDB, seeding from an Ingester-made file in one
 * browser and downloading in the other. Exposed on `window.transferBench` for the driver to call.
 */
import { SwarmError } from '../../../shared/errors.js'
import { FRAME_KIND } from '../../../shared/wire-protocol.js'
import { SwarmEngine } from '../../../web/peer/engine.js'
import { generateKeyPair, identityOf } from '../../../web/peer/identity.js'
import type { PeerSession } from '../../../web/peer/peer-session.js'
import { simplePeerLinkFactory } from '../../../web/peer/simple-peer-link.js'
import { TrackerClient } from '../../../web/peer/tracker-client.js'
import { assembleFile } from '../../../web/storage/give-back.js'
import { IdbChunkStore } from '../../../web/storage/idb-chunk-store.js'
import { IdbFileStore } from '../../../web/storage/idb-file-store.js'
import { Ingester } from '../../../web/storage/ingester.js'
import type { DownloadResult, IngestShareResult, RawSendOptions, TransferBenchApi } from './api.js'
import { dataChannelBytes, watchPeerConnections } from './channel-bytes.js'
import { GapCounter } from './gaps.js'
import { sampleHeap } from './heap-sampler.js'
import { RawReceiver, RawSender } from './raw-channel.js'
import { emptySteps, type StepTimes, timedChunkStore, timeLocalFiles } from './steps.js'

const trackerUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`
const createSocket = (url: string) => new WebSocket(url)
/** A chunk frame's header (wire-protocol.ts: kind, request id, offset): the rest is the chunk's bytes. */
const CHUNK_FRAME_HEADER_BYTES = 9

watchPeerConnections()

/** Chunk frames whose arrival is kept for the report: the first 1 MiB chunk is 5 (256 KiB each, less headers). */
const FIRST_FRAMES = 10

let rawTracker: TrackerClient | undefined
let iceServers: RTCIceServer[] = []
let receiver: RawReceiver | undefined
let sender: RawSender | undefined
let engine: SwarmEngine | undefined
let steps: StepTimes = emptySteps()

function picked(): File {
  const file = document.querySelector<HTMLInputElement>('#input')?.files?.[0]
  if (!file) throw new Error('no file picked: the driver sets one with setInputFiles')
  return file
}

/** Resolves with the peer id once `tracker` is online. */
function online(tracker: TrackerClient): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const status = tracker.status
      if (status.state === 'online') {
        off()
        iceServers = status.iceServers as RTCIceServer[]
        resolve(status.peerId)
      } else if (status.state === 'offline' && status.error) {
        off()
        reject(status.error)
      }
    }
    const off = tracker.on('status', check)
    check()
  })
}

/** A SwarmError crosses page.evaluate as its name alone: an Error whose message holds the code. */
function plainError(what: string, error: unknown): Error {
  if (error instanceof SwarmError) return new Error(`${what}: ${error.code}: ${error.message}`)
  return new Error(`${what}: ${String((error as Error)?.message ?? error)}`)
}

/** Median, 90th percentile and longest of the intervals between consecutive times. */
function intervals(times: number[]): DownloadResult['chunkIntervals'] {
  const between = times.slice(1).map((time, i) => time - times[i]!)
  between.sort((a, b) => a - b)
  const at = (fraction: number) => between[Math.floor((between.length - 1) * fraction)] ?? Number.NaN
  return { p50Ms: at(0.5), p90Ms: at(0.9), maxMs: at(1) }
}

function needEngine(): SwarmEngine {
  if (!engine) throw new Error('openEngine() first')
  return engine
}

const api: TransferBenchApi = {
  async connectRaw() {
    rawTracker ??= new TrackerClient({
      url: trackerUrl,
      createSocket,
      holdings: () => [],
      identity: await identityOf(await generateKeyPair()),
    })
    rawTracker.start()
    return online(rawTracker)
  },

  armRawReceiver(bytes) {
    if (!rawTracker) throw new Error('connectRaw() first')
    receiver?.close()
    receiver = new RawReceiver(rawTracker, iceServers, bytes)
  },

  receiveRaw() {
    if (!receiver) throw new Error('armRawReceiver() first')
    return receiver.result
  },

  sendRaw(options: RawSendOptions) {
    if (!rawTracker) throw new Error('connectRaw() first')
    sender?.close()
    sender = new RawSender(rawTracker, iceServers, options)
    return sender.send()
  },

  closeRaw() {
    receiver?.close()
    sender?.close()
    receiver = undefined
    sender = undefined
  },

  async openEngine() {
    steps = emptySteps()
    engine = await SwarmEngine.open({
      trackerUrl,
      createSocket,
      chunks: timedChunkStore(new IdbChunkStore(), () => steps),
      files: new IdbFileStore(),
      createLink: simplePeerLinkFactory(),
    })
    timeLocalFiles(engine.local, () => steps)
    return online(engine.tracker)
  },

  async ingestAndShare(): Promise<IngestShareResult> {
    const swarm = needEngine()
    const file = picked()
    const ingester = new Ingester()
    try {
      const started = performance.now()
      let readyMs = Number.NaN
      const ingest = ingester.ingest(file, {
        onManifest: (manifestRecord) => {
          readyMs = performance.now() - started
          swarm.share(manifestRecord, file)
        },
      })
      const { record } = await ingest.result.catch((error: unknown) => {
        throw plainError('ingest failed', error)
      })
      swarm.stored(record)
      return { digest: record.digest, readyMs, doneMs: performance.now() - started }
    } finally {
      ingester.destroy()
    }
  },

  takeSeederSteps() {
    const { read, get } = steps
    steps = emptySteps()
    return { read, get }
  },

  async download(digest): Promise<DownloadResult> {
    const swarm = needEngine()
    steps = emptySteps()
    const stopHeap = sampleHeap()
    const offs: (() => void)[] = []
    try {
      const started = performance.now()
      // The engine's `file` event follows the download's `chunk: here` in the same call (Download#verify),
      // and is listened to before fetch() starts, so a chunk stored before fetch() resolves is not missed.
      let firstHereAt = Number.NaN
      let firstChunkAt = Number.NaN
      let firstRequestAt = Number.NaN
      const hereAt: number[] = []
      const chunksFrom: Record<string, number> = {}
      let chunkBytesReceived = 0
      const finished = new Promise<number>((resolve, reject) => {
        offs.push(
          swarm.on('complete', (file) => {
            if (file.record.digest === digest) resolve(performance.now())
          }),
          swarm.on('file', ({ digest: changed, progress }) => {
            if (changed !== digest || !progress) return
            if (progress.chunksHere > 0 && Number.isNaN(firstHereAt)) firstHereAt = performance.now()
            if (progress.state === 'error') reject(progress.error ?? new Error('download failed'))
          }),
          swarm.on('problem', ({ digest: about, error }) => {
            if (about === digest) reject(error)
          }),
        )
      })
      finished.catch(() => {}) // awaited below; a failure while fetch() runs must not go unhandled
      // Chunk frames (kind 0x01, wire-protocol.ts) on any link: control frames are not data.
      const gaps = new GapCounter()
      const firstFramesAt: number[] = []
      const watchLink = (session: PeerSession) =>
        offs.push(
          session.link.on('frame', (frame) => {
            if (frame[0] !== FRAME_KIND.chunk) return
            chunkBytesReceived += frame.length - CHUNK_FRAME_HEADER_BYTES
            gaps.note()
            if (firstFramesAt.length < FIRST_FRAMES) firstFramesAt.push(performance.now())
          }),
        )
      for (const session of swarm.swarm.sessions) watchLink(session)
      offs.push(swarm.swarm.on('session', watchLink))
      const download = await swarm.fetch(digest)
      const fetchResolvedAt = performance.now()
      offs.push(
        download.on('chunk', ({ state, peerId }) => {
          if (state === 'here') hereAt.push(performance.now())
          if (state === 'here' && peerId !== undefined) chunksFrom[peerId] = (chunksFrom[peerId] ?? 0) + 1
          if (state === 'here' && Number.isNaN(firstChunkAt)) firstChunkAt = performance.now()
          if (state === 'in-flight' && Number.isNaN(firstRequestAt)) firstRequestAt = performance.now()
        }),
      )
      const completeAt = await finished
      // What the app does next (web/app/save.ts): the file as one Blob, handed to the browser's download.
      await assembleFile(swarm.local.chunks, download.file.record)
      const assembledAt = performance.now()
      const heap = stopHeap()
      const first = Math.min(...[firstChunkAt, firstHereAt].filter(Number.isFinite))
      const { manifest } = download.file.record
      return {
        bytes: manifest.size,
        chunks: manifest.hashes.length,
        ms: completeAt - started,
        firstChunkMs: first - started,
        fetchResolvedMs: fetchResolvedAt - started,
        firstRequestMs: firstRequestAt - started,
        firstFrameMs: gaps.firstAt - started,
        firstFramesMs: firstFramesAt.map((at) => at - started),
        chunkIntervals: intervals(hereAt),
        gaps: gaps.figures,
        heapPeakBytes: heap.peakBytes,
        heapStartBytes: heap.startBytes,
        heapSamples: heap.samples,
        longestSampleGapMs: heap.longestGapMs,
        write: steps.write,
        put: steps.put,
        chunkBytesReceived,
        chunksFrom,
        assembleMs: assembledAt - completeAt,
      }
    } catch (error) {
      throw plainError('download failed', error)
    } finally {
      stopHeap()
      for (const off of offs) off()
    }
  },

  dataChannelBytes,

  async closeEngine() {
    const swarm = needEngine()
    engine = undefined
    for (const file of swarm.local.list()) await swarm.remove(file.record.digest)
    swarm.destroy()
  },
}

window.transferBench = api
