/** Structured logs: one JSON object per line on stdout, so a log shipper needs no parser of ours. */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
type Fields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: Fields): void
  info(message: string, fields?: Fields): void
  warn(message: string, fields?: Fields): void
  error(message: string, fields?: Fields): void
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  bound: Fields = {},
): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: Fields) => {
    if (RANK[at] < RANK[level]) return
    write(
      JSON.stringify(
        { time: new Date().toISOString(), level: at, msg: message, ...bound, ...fields },
        errorsAsText,
      ),
    )
  }
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(level, write, { ...bound, ...fields }),
  }
}

/** A logger that drops everything: for tests that do not look at logs. */
export const silentLogger: Logger = createLogger('silent', () => {})

function errorsAsText(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  if (typeof value === 'bigint') return value.toString()
  return value
}
