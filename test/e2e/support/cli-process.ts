/**
 * The `swarmdrop` command as people run it — `node scripts/swarmdrop.mjs …`, the package's bin, which
 * runs the bundle (built by `npm test` beforehand, or by the launcher when stale) — in a child process,
 * with `--json` so that the test reads its events line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stopChild } from '../../support/child-process.js'

export const SWARMDROP = fileURLToPath(new URL('../../../scripts/swarmdrop.mjs', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Longest a stopped command may take to say goodbye and exit before it is killed. */
const STOP_GRACE_MS = 5_000
/** Lines of stderr and unparsed stdout kept for failure messages. */
const KEPT_LINES = 100

/** One `--json` line: its `event` and the fields each event carries. */
export interface CliEvent {
  event: string
  level: string
  message: string
  [field: string]: unknown
}

export type Launch = (
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
) => ChildProcess

export class CliProcess {
  readonly events: CliEvent[] = []
  /** stderr, and stdout lines that are not JSON. */
  readonly log: string[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly #child: ChildProcess
  readonly #waiters = new Set<() => void>()

  private constructor(
    readonly label: string,
    child: ChildProcess,
  ) {
    this.#child = child
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    void this.exited.then(() => this.#wake())
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as CliEvent)
      } catch {
        this.#keep(`stdout: ${line}`)
      }
      this.#wake()
    })
    createInterface({ input: child.stderr! }).on('line', (line) => this.#keep(`stderr: ${line}`))
  }

  /** Runs `swarmdrop ARGS --json`. */
  static start(
    label: string,
    args: string[],
    options: { launch?: Launch; env?: NodeJS.ProcessEnv } = {},
  ): CliProcess {
    const launch: Launch =
      options.launch ??
      ((command, commandArgs, launchOptions) =>
        spawn(command, commandArgs, { ...launchOptions, stdio: ['ignore', 'pipe', 'pipe'] }))
    const child = launch(process.execPath, [SWARMDROP, ...args, '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
    })
    return new CliProcess(label, child)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Its peer id, once it has said it is online. */
  get peerId(): string | undefined {
    return this.events.findLast((e) => e.event === 'online')?.peerId as string | undefined
  }

  /** The first event (from now or before) that `match` accepts; fails naming `what` after `timeoutMs`. */
  async waitFor(match: (event: CliEvent) => boolean, what: string, timeoutMs: number): Promise<CliEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(match)
      if (found) return found
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `${this.label} exited (${this.#child.exitCode ?? this.#child.signalCode}) before ${what}; ${this.describe()}`,
        )
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `${this.label}: timed out after ${timeoutMs} ms waiting for ${what}; ${this.describe()}`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1_000))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.#waiters.add(done)
      })
    }
  }

  /** Sends a signal (SIGKILL: a crash; SIGTERM: as a service manager stops it). */
  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal)
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. Idempotent. */
  close(): Promise<void> {
    return stopChild(this.#child, STOP_GRACE_MS)
  }

  describe(): string {
    const last = this.events.slice(-8).map((e) => `${e.event}: ${e.message}`)
    return `${this.label} said ${JSON.stringify([...last, ...this.log.slice(-12)])}`
  }

  #keep(line: string): void {
    this.log.push(line)
    if (this.log.length > KEPT_LINES) this.log.shift()
  }

  #wake(): void {
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const wake of waiters) wake()
  }
}
