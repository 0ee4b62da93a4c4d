/**
 * Logging that an attacker cannot turn into a flood: lines about what clients do to the server (refused
 * connections, malformed requests, handler failures) are written at most once per interval for each
 * message, and the next line written says how many were left out. A disk filled with one warning per
 * refused socket is an outage of its own.
 */
import type { Logger } from './logger.js'

/** One line per message per this many milliseconds: a minute's worth of a flood costs six lines. */
export const LOG_THROTTLE_MS = 10_000

type Level = 'debug' | 'info' | 'warn' | 'error'

export interface ThrottledLogger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/**
 * Wraps `logger` so that each distinct (level, message) is written at most once per `intervalMs`; a line
 * written after some were left out carries `suppressed: <count>`. Messages are the server's own constant
 * strings, so the map of them stays as small as the code that logs.
 */
export function throttleLogger(
  logger: Logger,
  intervalMs: number = LOG_THROTTLE_MS,
  now: () => number = Date.now,
): ThrottledLogger {
  const last = new Map<string, { atMs: number; suppressed: number }>()
  const emit = (level: Level, message: string, fields?: Record<string, unknown>) => {
    const key = `${level}\u0000${message}`
    const at = now()
    const seen = last.get(key)
    if (seen && at - seen.atMs < intervalMs) {
      seen.suppressed++
      return
    }
    const suppressed = seen?.suppressed ?? 0
    last.set(key, { atMs: at, suppressed: 0 })
    logger[level](message, suppressed > 0 ? { ...fields, suppressed } : fields)
  }
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  }
}
