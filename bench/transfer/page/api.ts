/**
 * What the transfer bench page exposes on `window.transferBench` for the driver (bench/transfer/main.ts),
 * and the shapes of its answers. Times are milliseconds of the page's `performance.now()`; sizes are bytes.
 */

/** Gaps of more than STALL_GAP_MS (page/gaps.ts) between two data messages at the receiver. */
export interface GapFigures {
  count: number
  /** The gaps summed, whole: the channel's idle time plus one normal message interval each. */
  totalMs: number
  longestMs: number
}

/** The receiving end of one raw RTCDataChannel transfer. */
export interface RawReceiveResult {
  bytes: number
  messages: number
  /** From the first byte received to the last. */
  ms: number
  /** From the receiver being armed to its channel opening: signalling through the server and ICE. */
  connectMs: number
  gaps: GapFigures
}

export interface RawSendOptions {
  /** Peer id of the receiving page (its raw signalling client). */
  to: string
  bytes: number
  messageBytes: number
  /** `send()` waits while the channel's `bufferedAmount` is above this. */
  highWaterBytes: number
}

export interface RawSendResult {
  /** The channel's `maxMessageSize` (sctp), for the report. */
  maxMessageSize: number
  /** Times the sender waited for `bufferedamountlow`. */
  waits: number
}

export interface IngestShareResult {
  digest: string
  /** From `Ingester.ingest()` to `onManifest` (seeding from the File starts). */
  readyMs: number
  /** To its result: every chunk stored, the engine told to serve from storage. */
  doneMs: number
}

/** Time spent in one kind of per-chunk work over one download, summed; `count` calls. */
export interface StepTotal {
  ms: number
  count: number
  /** The first call alone (NaN before it settles): a cold database shows here. */
  firstMs: number
}

export interface DownloadResult {
  bytes: number
  chunks: number
  /** From `engine.fetch(digest)` to the download's `complete`. */
  ms: number
  /** From `engine.fetch(digest)` to the first chunk verified and stored (`chunk` event, state `here`). */
  firstChunkMs: number
  /** From `engine.fetch(digest)` to `fetch()` resolving (manifest, record, tracker peers, link, session). */
  fetchResolvedMs: number
  /** From `engine.fetch(digest)` to the first chunk requested from the seeder (`chunk` event, `in-flight`). */
  firstRequestMs: number
  /** From `engine.fetch(digest)` to the first chunk frame arriving. */
  firstFrameMs: number
  /** From `engine.fetch(digest)` to each of the first FIRST_FRAMES chunk frames arriving (the first chunk). */
  firstFramesMs: number[]
  /** Peak of `performance.memory.usedJSHeapSize`, sampled every HEAP_SAMPLE_MS on the page's thread. */
  heapPeakBytes: number
  heapStartBytes: number
  heapSamples: number
  /** Longest gap between two heap samples: how long the page's thread was kept from its timers. */
  longestSampleGapMs: number
  /**
   * Time between two chunks becoming here, in order: chunks that arrive in bursts (several finishing at
   * once, then a pause) show as a small median and a large 90th percentile.
   */
  chunkIntervals: { p50Ms: number; p90Ms: number; maxMs: number }
  /** Between chunk frames from the seeder, from the first one on. */
  gaps: GapFigures
  /** `LocalFiles.write`: SHA-256 check and IndexedDB put of each chunk. */
  write: StepTotal
  /** Of which the chunk store's `put` (Blob + IndexedDB, to transaction complete). */
  put: StepTotal
  /** Chunk bytes that arrived in chunk frames, over every link: above the file's size, duplicates. */
  chunkBytesReceived: number
  /** Chunks verified and stored, by the peer they came from. */
  chunksFrom: Record<string, number>
  /** From `complete` to the file assembled as one Blob for saving (`assembleFile`, as web/app/save.ts). */
  assembleMs: number
}

export interface SeederSteps {
  /** `LocalFiles.read` of each chunk served: IndexedDB get, Blob read and the SHA-256 check on read. */
  read: StepTotal
  /** Of which the chunk store's `get`. */
  get: StepTotal
}

export interface TransferBenchApi {
  /** Connects this page's raw signalling client to the server's /ws; resolves with its peer id. */
  connectRaw(): Promise<string>
  /** Gets ready to answer one raw channel and count what arrives; `receiveRaw()` gives the result. */
  armRawReceiver(bytes: number): void
  receiveRaw(): Promise<RawReceiveResult>
  /** Offers a raw channel to `to` and sends `bytes` in `messageBytes` messages with bufferedAmount control. */
  sendRaw(options: RawSendOptions): Promise<RawSendResult>
  /** Closes the raw peer connection, if any. */
  closeRaw(): void

  /** Opens a SwarmEngine on the page's IndexedDB and waits until it is online; resolves with its peer id. */
  openEngine(): Promise<string>
  /** Seeder: ingests the picked file, sharing it from `onManifest` and from storage once done. */
  ingestAndShare(): Promise<IngestShareResult>
  /** Seeder: the read steps summed since the last call (and resets them). */
  takeSeederSteps(): SeederSteps
  /** Downloader: fetches `digest` from the swarm and measures it. */
  download(digest: string): Promise<DownloadResult>
  /** Data-channel bytes either way over every RTCPeerConnection the page built (getStats), closed ones too. */
  dataChannelBytes(): Promise<{ sent: number; received: number }>
  /** Downloader: deletes the downloaded file and closes the engine, so the next run starts empty. */
  closeEngine(): Promise<void>
}

declare global {
  interface Window {
    transferBench: TransferBenchApi
  }
}
