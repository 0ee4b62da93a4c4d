/**
 * bench/ingest's report and heap probe: a target with no measurement behind it prints "not measured",
 * never "met" (issue 17: the worker's heap peak started at 0 and failed samples were swallowed, so a run
 * with no sample printed "worker 0.0 MiB: met").
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type IngestRun, report } from '../../bench/ingest/report.js'
import { verdict } from '../../bench/support/figures.js'
import { emptyPeaks, recordSample } from '../../bench/support/heap-probe.js'

const MiB = 1024 * 1024

function run(overrides: Partial<IngestRun> = {}): IngestRun {
  return {
    readyMs: 1100,
    doneMs: 1500,
    digest: 'a'.repeat(64),
    plainSha256: 'b'.repeat(64),
    chunksWritten: 16,
    duplicate: false,
    pageHeapPeakBytes: 40 * MiB,
    pageHeapStartBytes: 10 * MiB,
    pageHeapSamples: 20,
    heaps: { page: emptyPeaks(), worker: emptyPeaks() },
    rss: { rendererBytes: 200 * MiB, browserBytes: 100 * MiB, totalBytes: 400 * MiB },
    workerAfterCollection: undefined,
    ...overrides,
  }
}

function printed(ingests: IngestRun[]): string {
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => lines.push(args.join(' ')))
  report({
    version: '156',
    input: { bytes: 16 * MiB, chunkSize: MiB },
    hashOnlyWorker: [{ ms: 1000, chunks: 16 }],
    hashOnlyPage: [{ ms: 1000, chunks: 16 }],
    ingests,
    breakdownBytes: 0,
    breakdowns: [],
    hashMiB: 16,
    speeds: [],
    loadAtEnd: [0.1, 0.1, 0.1],
  })
  return lines.join('\n')
}

afterEach(() => vi.restoreAllMocks())

describe('bench/ingest report', () => {
  it('prints "not measured" for a heap with no sample, never "met"', () => {
    const target = printed([run(), run()])
      .split('\n')
      .find((line) => line.startsWith('JS heap with ArrayBuffers'))!
    expect(target).toContain('worker not measured: not measured')
    expect(target).toContain('page 40.0 MiB: met')
  })

  it('prints "not measured" for the page too when neither of its figures was measured', () => {
    const target = printed([run({ pageHeapPeakBytes: Number.NaN })])
      .split('\n')
      .find((line) => line.startsWith('JS heap with ArrayBuffers'))!
    expect(target).toContain('page not measured: not measured')
    expect(target).not.toMatch(/: met/)
  })

  it('judges a heap that was sampled', () => {
    const worker = emptyPeaks()
    recordSample(worker, { usedSize: 30 * MiB, backingStorageSize: 20 * MiB })
    recordSample(worker, { usedSize: 10 * MiB })
    expect(worker).toMatchObject({ withBuffersBytes: 50 * MiB, usedBytes: 30 * MiB, samples: 2 })
    const target = printed([run({ heaps: { page: emptyPeaks(), worker } })])
      .split('\n')
      .find((line) => line.startsWith('JS heap with ArrayBuffers'))!
    expect(target).toContain('worker 50.0 MiB: met')
  })

  it('words a verdict only on a measured figure', () => {
    expect(verdict(Number.NaN, () => true)).toBe('not measured')
    expect(verdict(3, (v) => v < 5)).toBe('met')
    expect(verdict(7, (v) => v < 5)).toBe('MISSED')
  })
})
