/** The conversation between the benchmark and a tracker running in its own child process. */
import { monitorEventLoopDelay } from 'node:perf_hooks'

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
    'rssBytes' | 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'loopMaxMs' | 'loopP99Ms'
  >
  stop: () => Promise<void>
}): void {
  const send = (message: ChildMessage) => process.send?.(message)
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
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
      ...options.stats(),
    }
  }
  process.on('message', async (request: ParentRequest) => {
    switch (request.op) {
      case 'stats': {
        const reply = stats()
        if (request.resetLoop) loop.reset()
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
