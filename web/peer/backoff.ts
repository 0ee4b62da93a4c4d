/**
 * Reconnect delays: exponential backoff with jitter, as a pure function so that any reconnecting part
 * (the tracker client today, peer links re-negotiating later) shares one rule and tests need no timers.
 */

/** First reconnect delay (SPEC §4: "backoff from 1 s doubling to 30 s, with jitter"). */
export const BACKOFF_BASE_MS = 1000
/** Longest reconnect delay: a tracker that comes back is found within half a minute. */
export const BACKOFF_MAX_MS = 30_000

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a good connection).
 *
 * The ceiling doubles from `baseMs` to `maxMs`: 1, 2, 4, 8, 16, 30, 30… s. The delay uses **equal jitter**:
 * half the ceiling is fixed and the other half random, so the delay lies in `[ceiling / 2, ceiling)`. Full
 * jitter (`[0, ceiling)`) would let some of the many clients of a restarted tracker draw a delay near 0
 * and all hit it at once; equal jitter keeps a floor and still spreads the clients over half the window.
 *
 * @param random a source in [0, 1), e.g. `Math.random`; injected so that tests choose the jitter.
 */
export function backoffDelayMs(
  attempt: number,
  random: () => number,
  baseMs = BACKOFF_BASE_MS,
  maxMs = BACKOFF_MAX_MS,
): number {
  // 2 ** 30 already dwarfs any sane maxMs; capping the exponent keeps the ceiling finite for huge attempts.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30))
  // A misbehaving source (NaN, 1, negative) must not make the delay leave its bounds.
  const draw = Math.min(Math.max(random(), 0), 1 - Number.EPSILON) || 0
  return Math.floor(ceiling / 2 + draw * (ceiling / 2))
}
