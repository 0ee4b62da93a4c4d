/** Prints bench/ingest's figures: medians of the runs, each run in parentheses, against SPEC §7. */
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
import type { HeapFigures, HeapUsage } from '../support/heap-probe.js'
import type { HashOnlyResult, HashSpeedRow, IngestRunResult, Pass2Stages } from './page/api.js'
import type { RssPeaks } from './process-memory.js'

const MiB = 1024 * 1024
/** SPEC §7 targets. */
export const TARGET_READY_RATIO = 1.25
export const TARGET_HEAP_BYTES = 256 * MiB
/** Width of the label column. */
const LABEL_WIDTH = 58

export interface IngestRun extends IngestRunResult {
  heaps: HeapFigures
  rss: RssPeaks
  /** The ingest worker's heap once done and fully collected: what it retains rather than awaits GC. */
  workerAfterCollection: HeapUsage | undefined
}

export interface Figures {
  version: string
  input: { bytes: number; chunkSize: number }
  hashOnlyWorker: HashOnlyResult[]
  hashOnlyPage: HashOnlyResult[]
  ingests: IngestRun[]
  breakdownBytes: number
  breakdowns: Pass2Stages[][]
  hashMiB: number
  speeds: HashSpeedRow[]
  loadAtEnd: number[]
}

const row = rowPrinter(LABEL_WIDTH)

export function report(figures: Figures): void {
  const { input, ingests } = figures
  const rate = (ms: number) => formatMbps(mbPerSecond(input.bytes, ms))
  const hashOnlyMs = figures.hashOnlyWorker.map((run) => run.ms)
  const readyMs = ingests.map((run) => run.readyMs)
  const doneMs = ingests.map((run) => run.doneMs)
  const baseline = median(hashOnlyMs)
  const readyRatio = median(readyMs) / baseline

  console.log(
    `\n## Ingest of ${formatMiB(input.bytes)} in ${input.chunkSize / MiB} MiB chunks, Chromium ${figures.version}`,
  )
  console.log(`median (each run)\n`)
  row('hash-only in a worker (the baseline)', spread(hashOnlyMs, formatMs), rate(baseline))
  row(
    'hash-only on the page thread',
    spread(
      figures.hashOnlyPage.map((run) => run.ms),
      formatMs,
    ),
  )
  row('ingest → ready to seed (onManifest)', spread(readyMs, formatMs), rate(median(readyMs)))
  row('ingest → done (chunks stored, plain SHA-256)', spread(doneMs, formatMs), rate(median(doneMs)))
  const pass2Ms = ingests.map((run) => run.doneMs - run.readyMs)
  row('  of which pass 2 (done − ready)', spread(pass2Ms, formatMs), rate(median(pass2Ms)))
  row(
    'ready / hash-only',
    formatRatio(readyRatio),
    `target ≤ ${TARGET_READY_RATIO}×: ${verdict(readyRatio, (r) => r <= TARGET_READY_RATIO)}`,
  )
  row('done / hash-only', formatRatio(median(doneMs) / baseline), '(no target)')

  console.log('\nmemory peaks during ingest')
  const peaks = (pick: (run: IngestRun) => number) => spread(ingests.map(pick), formatMiB)
  // performance.memory counts ArrayBuffers in this Chromium; the worker is held to the same measure. The
  // larger of the two page figures that were measured; NaN (not measured) when neither was.
  const pageHeap = largestMeasured(
    median(ingests.map((run) => run.pageHeapPeakBytes)),
    median(ingests.map((run) => run.heaps.page.withBuffersBytes)),
  )
  const workerHeap = median(ingests.map((run) => run.heaps.worker.withBuffersBytes))
  row(
    'page, performance.memory.usedJSHeapSize every 50 ms',
    peaks((run) => run.pageHeapPeakBytes),
  )
  row(
    'page, CDP usedSize (V8 heap)',
    peaks((run) => run.heaps.page.usedBytes),
  )
  row(
    'page, CDP backingStorageSize (ArrayBuffers)',
    peaks((run) => run.heaps.page.backingStoreBytes),
  )
  row(
    'ingest worker, CDP usedSize (V8 heap)',
    peaks((run) => run.heaps.worker.usedBytes),
    `${median(ingests.map((run) => run.heaps.worker.samples))} samples, ` +
      `${median(ingests.map((run) => run.heaps.worker.failures))} failed`,
  )
  row(
    'ingest worker, CDP backingStorageSize (ArrayBuffers)',
    peaks((run) => run.heaps.worker.backingStoreBytes),
  )
  row(
    'ingest worker, usedSize + backingStorageSize',
    peaks((run) => run.heaps.worker.withBuffersBytes),
  )
  const afterCollection = (run: IngestRun) =>
    run.workerAfterCollection
      ? run.workerAfterCollection.usedSize + (run.workerAfterCollection.backingStorageSize ?? 0)
      : Number.NaN
  row('ingest worker after done and a full GC, the same', peaks(afterCollection))
  row(
    'renderer process RSS (page and its workers)',
    peaks((run) => run.rss.rendererBytes),
  )
  row(
    'browser process RSS',
    peaks((run) => run.rss.browserBytes),
  )
  row(
    'all Chromium processes, RSS summed (shared pages twice)',
    peaks((run) => run.rss.totalBytes),
  )
  row(
    `JS heap with ArrayBuffers < ${formatMiB(TARGET_HEAP_BYTES)}`,
    `page ${formatMiB(pageHeap)}: ${verdict(pageHeap, (bytes) => bytes < TARGET_HEAP_BYTES)}`,
    `worker ${formatMiB(workerHeap)}: ${verdict(workerHeap, (bytes) => bytes < TARGET_HEAP_BYTES)}`,
  )

  if (figures.breakdowns.length > 0) reportBreakdown(figures)

  console.log(
    `\n## Chunk hashing over ${figures.hashMiB} × 1 MiB buffers in memory, MB/s, median (each run)\n`,
  )
  for (const speed of figures.speeds)
    row(
      speed.name,
      spread(speed.mbPerSecond, (value) => value.toFixed(0)),
    )
  console.log(`\nload average at end (1, 5, 15 min): ${formatLoad(figures.loadAtEnd)}`)
}

/** The largest of the figures that were measured; NaN when none was. */
function largestMeasured(...values: number[]): number {
  const measured = values.filter((value) => Number.isFinite(value))
  return measured.length === 0 ? Number.NaN : Math.max(...measured)
}

function reportBreakdown(figures: Figures): void {
  const chunks = Math.ceil(figures.breakdownBytes / figures.input.chunkSize)
  const variants = figures.breakdowns[0]!.map((_, index) => figures.breakdowns.map((run) => run[index]!))
  const perChunk = (runs: Pass2Stages[], pick: (stages: Pass2Stages) => number) =>
    `${(median(runs.map(pick)) / chunks).toFixed(2)} ms`
  const rate = (runs: Pass2Stages[]) =>
    formatMbps(mbPerSecond(figures.breakdownBytes, median(runs.map((stages) => stages.ms))))
  console.log(
    `\n## Ingest pass 2 step by step, first ${chunks} chunks, per chunk, median of ${variants[0]!.length}\n`,
  )
  for (const runs of variants) {
    row(
      runs[0]!.name,
      perChunk(runs, (stages) => stages.ms),
      rate(runs),
    )
    if (!Number.isFinite(runs[0]!.putMs)) continue
    row(
      '  waiting for the chunk read ahead',
      perChunk(runs, (stages) => stages.readWaitMs),
    )
    row(
      '  WebCrypto check against the manifest',
      perChunk(runs, (stages) => stages.webCryptoMs),
    )
    row(
      '  hash-wasm update of the plain SHA-256',
      perChunk(runs, (stages) => stages.hashWasmMs),
    )
    row(
      '  Blob + IndexedDB put, to transaction complete',
      perChunk(runs, (stages) => stages.putMs),
    )
  }
}
