/**
 * Chromium's `performance.memory.usedJSHeapSize` (precise with --enable-precise-memory-info; in this
 * Chromium it counts ArrayBuffer contents too, bench/ingest found), read on the page's own thread.
 */

/** ~50 ms catches peaks that last a chunk or two. */
export const HEAP_SAMPLE_MS = 50

interface PerformanceMemory {
  usedJSHeapSize: number
}

export function usedHeapBytes(): number {
  return (performance as Performance & { memory?: PerformanceMemory }).memory?.usedJSHeapSize ?? Number.NaN
}

export interface HeapSamples {
  startBytes: number
  peakBytes: number
  samples: number
  /** Longest time between two samples: a busy thread delays its timers, and peaks in between are missed. */
  longestGapMs: number
}

/** Samples until the returned function is called; that returns the figures, with one last sample. */
export function sampleHeap(): () => HeapSamples {
  const figures: HeapSamples = { startBytes: usedHeapBytes(), peakBytes: 0, samples: 0, longestGapMs: 0 }
  let last = performance.now()
  const sample = () => {
    const now = performance.now()
    figures.longestGapMs = Math.max(figures.longestGapMs, now - last)
    last = now
    figures.peakBytes = Math.max(figures.peakBytes, usedHeapBytes())
    figures.samples++
  }
  sample()
  const timer = setInterval(sample, HEAP_SAMPLE_MS)
  return () => {
    clearInterval(timer)
    sample()
    return figures
  }
}
