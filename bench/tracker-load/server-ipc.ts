/** The conversation between the benchmark and a tracker running in its own child process. */
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks'

/** Sampling resolution of the event-loop delay monitor, in ms: fine enough to see a 10 ms stall. */
const LOOP_RESOLUTION_MS = 1

/** `loop: 'reset'` starts a new window for the event-loop delay figures. */
export type ParentRequest = { op: 'stats'; resetLoop?: boolean } | { op: 'gc' } | { op: 'stop' }

export interface ChildStats {
  /** process.memoryUsage: the child's own view; the parent also reads /proc for RSS. */
  rssBytes: number
  heapUsedBytes: number
  /**
   * V8's heap as committed (heapUsed plus free space and fragmentation), and memory outside it that V8
   * knows of (Buffers, ArrayBuffers): with RSS, where the memory goes. Undefined from an older build.
   */
  heapTotalBytes?: number
  externalBytes?: number
  /** Open WebSocket connections as the tracker counts them. */
  peers: number
  /** Distinct files (Swarmdrop) or swarms (bittorrent-tracker) held. */
  files: number
  /** Warnings bittorrent-tracker emitted (bad requests it answered with a failure reason). */
  warnings: number
  /** Catalog records Swarmdrop's registry has touched so far (SwarmRegistry.recordsTouched); 0 for the other. */
  recordsTouched: number
  /** Longest and 99th-percentile event-loop delay since the last reset, in ms: how long the tracker stalled. */
  loopMaxMs: number
  loopP99Ms: number
  /**
   * Garbage collection since the last reset, as the tracker's main thread paused for it: the longest pause
   * and its kind, and all pauses summed, in ms. Tells a stall that is GC from one that is our code.
   * Undefined from an older build.
   */
  gc?: GcPauses
  /**
   * The longest gap between two ticks of a 5 ms timer since the last reset, and the CPU time the process
   * used within it (all its threads): a gap with little CPU in it was the machine running something else,
   * not the tracker's own work. Undefined from an older build.
   */
  longestGap?: { wallMs: number; cpuMs: number }
}

/** Period of the gap watcher's timer. */
const GAP_TICK_MS = 5

/** Watches the event loop's longest gap and the CPU the process used within it. */
function watchGaps(): { read(): { wallMs: number; cpuMs: number }; reset(): void } {
  let longest = { wallMs: 0, cpuMs: 0 }
  let lastWall = performance.now()
  let lastCpu = process.cpuUsage()
  setInterval(() => {
    const wall = performance.now()
    const cpu = process.cpuUsage()
    const gapMs = wall - lastWall - GAP_TICK_MS
    if (gapMs > longest.wallMs) {
      const used = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
      longest = { wallMs: gapMs, cpuMs: used }
    }
    lastWall = wall
    lastCpu = cpu
  }, GAP_TICK_MS).unref()
  return {
    read: () => ({ ...longest }),
    reset: () => {
      longest = { wallMs: 0, cpuMs: 0 }
    },
  }
}

export interface GcPauses {
  maxMs: number
  kind: string
  totalMs: number
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
}

/** Watches the process's GC pauses (PerformanceObserver 'gc' entries) from now on. */
function watchGc(): { read(): GcPauses; reset(): void } {
  let pauses: GcPauses = { maxMs: 0, kind: '', totalMs: 0 }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.totalMs += entry.duration
      if (entry.duration <= pauses.maxMs) continue
      pauses.maxMs = entry.duration
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind
      pauses.kind = (kind !== undefined && GC_KINDS[kind]) || String(kind)
    }
  }).observe({ entryTypes: ['gc'] })
  return {
    read: () => ({ ...pauses }),
    reset: () => {
      pauses = { maxMs: 0, kind: '', totalMs: 0 }
    },
  }
}

export type ChildMessage =
  | { type: 'ready'; port: number; url: string }
  | { type: 'stats'; stats: ChildStats }
  | { type: 'stopped' }

/**
 * Answers the parent over IPC until told to stop. Exits when the parent goes away, so a tracker never
 * outlives an interrupted benchmark; exits normally on `stop`, so `--cpu-prof` writes its profile.
 */
export function serveParent(options: {
  port: number
  url: string
  stats: () => Omit<
    ChildStats,
    | 'rssBytes'
    | 'heapUsedBytes'
    | 'heapTotalBytes'
    | 'externalBytes'
    | 'loopMaxMs'
    | 'loopP99Ms'
    | 'gc'
    | 'longestGap'
  >
  stop: () => Promise<void>
}): void {
  const send = (message: ChildMessage) => process.send?.(message)
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  const gc = watchGc()
  const gaps = watchGaps()
  const NS_PER_MS = 1e6
  const stats = (): ChildStats => {
    const memory = process.memoryUsage()
    return {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      loopMaxMs: loop.max / NS_PER_MS,
      loopP99Ms: loop.percentile(99) / NS_PER_MS,
      gc: gc.read(),
      longestGap: gaps.read(),
      ...options.stats(),
    }
  }
  process.on('message', async (request: ParentRequest) => {
    switch (request.op) {
      case 'stats': {
        const reply = stats()
        if (request.resetLoop) {
          loop.reset()
          gc.reset()
          gaps.reset()
        }
        return send({ type: 'stats', stats: reply })
      }
      case 'gc':
        // Started with --expose-gc by the parent: a full collection shows memory held, not garbage.
        globalThis.gc?.()
        return send({ type: 'stats', stats: stats() })
      case 'stop':
        await options.stop()
        send({ type: 'stopped' })
        process.disconnect?.()
        process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', port: options.port, url: options.url })
}
