/**
 * Where events go: one line each, for people (`text`) or for scripts (`--json`: one object a line with
 * `event` and its fields). Plain lines carry the time, as a log does; on a terminal the text UI prints
 * them above its prompt instead.
 */

export type Level = 'info' | 'warn' | 'error'

export interface Output {
  event(level: Level, name: string, text: string, fields?: Record<string, unknown>): void
  /** Download progress this often (scripts want it); unset: only at each tenth of a file (a log does). */
  readonly progressEveryMs?: number
  /**
   * Every event, even those a person need not read (each of 10,000 files known from the cache at start):
   * scripts reading `--json` want them; a log or a terminal gets a summary instead.
   */
  readonly everyEvent?: boolean
}

/** `--json` progress events of one download at most this often. */
const JSON_PROGRESS_MS = 1_000

export interface LogOutputOptions {
  json: boolean
  quiet: boolean
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  now?(): Date
}

/** Log lines (not a terminal): info on stdout, warnings and errors on stderr; `--quiet` keeps only those. */
export class LogOutput implements Output {
  readonly #options: Required<LogOutputOptions>
  readonly progressEveryMs: number | undefined
  readonly everyEvent: boolean

  constructor(options: LogOutputOptions) {
    this.progressEveryMs = options.json ? JSON_PROGRESS_MS : undefined
    this.everyEvent = options.json
    this.#options = {
      stdout: process.stdout,
      stderr: process.stderr,
      now: () => new Date(),
      ...options,
    }
  }

  event(level: Level, name: string, text: string, fields: Record<string, unknown> = {}): void {
    const { json, quiet, stdout, stderr, now } = this.#options
    if (quiet && level === 'info') return
    const time = now().toISOString()
    if (json) {
      stdout.write(`${JSON.stringify({ time, level, event: name, message: text, ...fields })}\n`)
      return
    }
    const line = `${time.replace(/\.\d{3}Z$/, 'Z')} ${level === 'info' ? '' : `${level}: `}${text}\n`
    ;(level === 'info' ? stdout : stderr).write(line)
  }
}
