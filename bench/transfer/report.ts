/** Prints bench/transfer's figures: medians of the runs, each run in parentheses, against SPEC §7. */
import {
  formatLoad,
  formatMbps,
  formatMiB,
  formatMs,
  formatRatio,
  mbPerSecond,
  median,
  rowPrinter,
  spread,
  verdict,
} from '../support/figures.js'
import type { HeapFigures } from '../support/heap-probe.js'
import type {
  DownloadResult,
  GapFigures,
  IngestShareResult,
  RawReceiveResult,
  RawSendResult,
  SeederSteps,
  StepTotal,
} from './page/api.js'
import { STALL_GAP_MS } from './page/gaps.js'
import { type CpuSeconds, PROCESS_KINDS } from './process-cpu.js'
import type { SelfTime } from './profile.js'

const MiB = 1024 * 1024
/** SPEC §7 targets. */
export const TARGET_RATIO = 0.9
export const TARGET_FIRST_CHUNK_MS = 300
export const TARGET_HEAP_BYTES = 256 * MiB
/** Width of the label column. */
const LABEL_WIDTH = 60
/** Functions listed per profile. */
const PROFILE_TOP = 15

/** CPU seconds of each browser's processes over one run (process-cpu.ts), and the run's wall time. */
export interface RunCpu {
  seeder: CpuSeconds
  downloader: CpuSeconds
  wallMs: number
}

export interface RawRun {
  receive: RawReceiveResult
  send: RawSendResult
  cpu: RunCpu
  load: number[]
}

export interface SwarmRun {
  download: DownloadResult
  /** The downloading page and its workers, over CDP. */
  heaps: HeapFigures
  seederHeaps: HeapFigures
  seeder: SeederSteps
  cpu: RunCpu
  load: number[]
}

export interface ProfileSummary {
  dir: string
  download: DownloadResult
  seeder: SelfTime[]
  downloader: SelfTime[]
}

export interface Figures {
  version: string
  node: string
  isolation: string
  sizeBytes: number
  chunkSize: number
  messageBytes: number
  highWaterBytes: number
  ingest: IngestShareResult
  raw: RawRun[]
  swarm: SwarmRun[]
  loadAtStart: number[]
  loadAtEnd: number[]
  profile?: ProfileSummary
}

const row = rowPrinter(LABEL_WIDTH)
const perChunk = (step: StepTotal) => (step.count > 0 ? step.ms / step.count : Number.NaN)
const formatPerChunk = (ms: number) => `${ms.toFixed(1)} ms`

export function rawMbps(run: RawRun): number {
  return mbPerSecond(run.receive.bytes, run.receive.ms)
}

export function swarmMbps(run: SwarmRun): number {
  return mbPerSecond(run.download.bytes, run.download.ms)
}

export function report(figures: Figures): void {
  const { raw, swarm } = figures
  const rawRates = raw.map(rawMbps)
  const swarmRates = swarm.map(swarmMbps)
  const ratio = median(swarmRates) / median(rawRates)
  const mbps = (rate: number) => formatMbps(rate)

  console.log(
    `\n## Transfer of ${formatMiB(figures.sizeBytes)}, one seeder → one downloader, Chromium ${figures.version}`,
  )
  console.log(`network: ${figures.isolation}; median (each run)\n`)
  row(
    `raw RTCDataChannel, ${figures.messageBytes / 1024} KiB messages, first → last byte`,
    spread(rawRates, mbps),
  )
  row(
    '  raw: signalling + ICE until the channel opened',
    spread(
      raw.map((run) => run.receive.connectMs),
      formatMs,
    ),
  )
  const gaps = (pick: (gap: GapFigures) => number, runsOf: GapFigures[]) => spread(runsOf.map(pick), formatMs)
  row(
    `  raw: gaps > ${STALL_GAP_MS} ms between messages, summed`,
    gaps(
      (gap) => gap.totalMs,
      raw.map((run) => run.receive.gaps),
    ),
  )
  row('Swarmdrop, engine.fetch() → complete', spread(swarmRates, mbps))
  row(
    `  Swarmdrop: gaps > ${STALL_GAP_MS} ms between chunk frames, summed`,
    gaps(
      (gap) => gap.totalMs,
      swarm.map((run) => run.download.gaps),
    ),
  )
  const steady = swarm.map((run) =>
    mbPerSecond(run.download.bytes - figures.chunkSize, run.download.ms - run.download.firstChunkMs),
  )
  row('  Swarmdrop after the first chunk (no target)', spread(steady, mbps))
  row(
    '  interval between chunks stored, median / 90th pct.',
    spread(
      swarm.map((run) => run.download.chunkIntervals.p50Ms),
      formatMs,
    ),
    spread(
      swarm.map((run) => run.download.chunkIntervals.p90Ms),
      formatMs,
    ),
  )
  row(
    'Swarmdrop / raw (medians)',
    formatRatio(ratio),
    `target ≥ ${TARGET_RATIO}: ${verdict(ratio, (r) => r >= TARGET_RATIO)}`,
  )
  row(
    '  the same, run by run',
    spread(
      swarmRates.map((rate, i) => rate / (rawRates[i] ?? Number.NaN)),
      formatRatio,
    ),
  )
  row(
    'complete → file assembled for saving (target < 100 ms)',
    spread(
      swarm.map((run) => run.download.assembleMs),
      formatMs,
    ),
  )
  const firstChunk = swarm.map((run) => run.download.firstChunkMs)
  row(
    'engine.fetch() → first verified chunk',
    spread(firstChunk, formatMs),
    `target < ${TARGET_FIRST_CHUNK_MS} ms: ${verdict(median(firstChunk), (ms) => ms < TARGET_FIRST_CHUNK_MS)}`,
  )
  row(
    '  fetch() resolved at (manifest, peers, link, hello)',
    spread(
      swarm.map((run) => run.download.fetchResolvedMs),
      formatMs,
    ),
  )
  row(
    '  first chunk requested at',
    spread(
      swarm.map((run) => run.download.firstRequestMs),
      formatMs,
    ),
  )
  row(
    '  its first frame arrived at',
    spread(
      swarm.map((run) => run.download.firstFrameMs),
      formatMs,
    ),
  )
  row(
    '  first LocalFiles.write / first ChunkStore.put alone',
    spread(
      swarm.map((run) => run.download.write.firstMs),
      formatMs,
    ),
    spread(
      swarm.map((run) => run.download.put.firstMs),
      formatMs,
    ),
  )
  row(
    '  seeder: first LocalFiles.read / first ChunkStore.get alone',
    spread(
      swarm.map((run) => run.seeder.read.firstMs),
      formatMs,
    ),
    spread(
      swarm.map((run) => run.seeder.get.firstMs),
      formatMs,
    ),
  )

  console.log('\nmemory of the downloading page during the download (peaks)')
  const heaps = (pick: (run: SwarmRun) => number) => spread(swarm.map(pick), formatMiB)
  const pageHeap = median(swarm.map((run) => run.download.heapPeakBytes))
  row(
    `performance.memory.usedJSHeapSize every 50 ms`,
    heaps((run) => run.download.heapPeakBytes),
    `target < ${formatMiB(TARGET_HEAP_BYTES)}: ${verdict(pageHeap, (bytes) => bytes < TARGET_HEAP_BYTES)}`,
  )
  row(
    '  longest gap between two of those samples',
    spread(
      swarm.map((run) => run.download.longestSampleGapMs),
      formatMs,
    ),
  )
  row(
    'CDP usedSize (V8 heap)',
    heaps((run) => run.heaps.page.usedBytes),
  )
  row(
    'CDP backingStorageSize (ArrayBuffers)',
    heaps((run) => run.heaps.page.backingStoreBytes),
  )
  row(
    'CDP both in one sample',
    heaps((run) => run.heaps.page.withBuffersBytes),
  )
  const workerSamples = median(swarm.map((run) => run.heaps.worker.samples))
  row(
    'workers of the downloading page, both in one sample',
    workerSamples > 0 ? heaps((run) => run.heaps.worker.withBuffersBytes) : 'none ran',
  )
  row(
    'seeding page, CDP both in one sample (no target)',
    heaps((run) => run.seederHeaps.page.withBuffersBytes),
  )

  console.log('\nstorage steps, wall time per chunk (call → settle, waiting included)')
  const steps = (pick: (run: SwarmRun) => StepTotal) =>
    spread(
      swarm.map((run) => perChunk(pick(run))),
      formatPerChunk,
    )
  row(
    'downloader LocalFiles.write (SHA-256 check + put)',
    steps((run) => run.download.write),
  )
  row(
    '  of which ChunkStore.put (Blob + IndexedDB)',
    steps((run) => run.download.put),
  )
  row(
    'seeder LocalFiles.read (get + Blob read + SHA-256 check)',
    steps((run) => run.seeder.read),
  )
  row(
    '  of which ChunkStore.get',
    steps((run) => run.seeder.get),
  )
  row(
    'seeder ingest → ready / → done (once, before the runs)',
    `${formatMs(figures.ingest.readyMs)} / ${formatMs(figures.ingest.doneMs)}`,
  )

  reportCpu(figures)
  if (figures.profile) reportProfile(figures.profile)
  console.log(
    `\nload average (1, 5, 15 min): start ${formatLoad(figures.loadAtStart)}; after each run ${raw
      .map((run, i) => `${formatLoad(run.load)} / ${formatLoad(swarm[i]?.load ?? [])}`)
      .join('; ')}; end ${formatLoad(figures.loadAtEnd)}`,
  )
}

function reportProfile(profile: ProfileSummary): void {
  const rate = formatMbps(mbPerSecond(profile.download.bytes, profile.download.ms))
  console.log(`\n## CPU profiles of one more download (${rate} while profiled), saved in ${profile.dir}`)
  for (const [name, times] of [
    ['downloader', profile.downloader],
    ['seeder', profile.seeder],
  ] as const) {
    console.log(`\n${name} main thread, self time, top ${PROFILE_TOP}`)
    for (const time of times.slice(0, PROFILE_TOP)) {
      row(`  ${time.name}`, `${time.ms.toFixed(0).padStart(6)} ms`, `${(time.share * 100).toFixed(1)}%`)
    }
  }
}

function reportCpu(figures: Figures): void {
  const mb = figures.sizeBytes / 1e6
  console.log('\nCPU of the browsers per run (from /proc): ms per MB moved, and cores busy on average')
  const lines: [string, RunCpu[]][] = [
    ['raw', figures.raw.map((run) => run.cpu)],
    ['Swarmdrop', figures.swarm.map((run) => run.cpu)],
  ]
  for (const [name, runs] of lines) {
    const total = (cpu: RunCpu) =>
      PROCESS_KINDS.reduce((sum, kind) => sum + cpu.seeder[kind] + cpu.downloader[kind], 0)
    row(
      `${name}: both browsers, all processes`,
      spread(
        runs.map((cpu) => (total(cpu) * 1000) / mb),
        (ms) => `${ms.toFixed(1)} ms/MB`,
      ),
      spread(
        runs.map((cpu) => total(cpu) / (cpu.wallMs / 1000)),
        (cores) => `${cores.toFixed(2)} cores`,
      ),
    )
    for (const side of ['seeder', 'downloader'] as const) {
      const perKind = PROCESS_KINDS.map((kind) => (median(runs.map((cpu) => cpu[side][kind])) * 1000) / mb)
      row(
        `  ${side}: ${PROCESS_KINDS.join(' / ')}`,
        `${perKind.map((ms) => ms.toFixed(1)).join(' / ')} ms/MB`,
      )
    }
  }
}
