/**
 * Time and timers of the server, behind an interface so that the tracker's heartbeat, notices and ICE
 * refreshes run on a fake clock in tests: a test moves time and sees exactly the beats it asked for, on a
 * busy machine as on an idle one. The same shape as web/peer/clock.ts, so test/support/fake-clock.ts
 * drives both.
 */
export interface ServerClock {
  now(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

/** Real time; its timers never keep the process alive on their own. */
export function systemClock(now: () => number = Date.now): ServerClock {
  return {
    now,
    setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  }
}

/**
 * Runs `tick` every `periodMs` on `clock` until the returned stop is called. An exception in `tick` is
 * handed to `onError` and the timer goes on: a timer callback that throws would otherwise end the process.
 */
export function every(
  clock: ServerClock,
  periodMs: number,
  tick: () => void,
  onError: (error: unknown) => void,
): () => void {
  let handle: unknown
  let stopped = false
  const run = () => {
    if (stopped) return
    try {
      tick()
    } catch (error) {
      onError(error)
    }
    if (!stopped) handle = clock.setTimeout(run, periodMs)
  }
  handle = clock.setTimeout(run, periodMs)
  return () => {
    stopped = true
    clock.clearTimeout(handle)
  }
}
