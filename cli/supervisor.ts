/**
 * `share` and `get` run the peer in a process of its own, watched by the `swarmdrop` process people
 * started, which starts it again when it crashes.
 *
 * Why: @roamhq/wrtc (node-webrtc's native module) can crash its process with SIGSEGV when JavaScript sends
 * on, or reads, a data channel at the instant WebRTC's own thread closes it: RTCDataChannel::Send checks
 * its channel pointer, then uses it, while the signalling thread clears it (node-webrtc #435, #576).
 * SimplePeerLink never sends on a channel it knows is closing, but a remote peer decides when its side
 * closes, so nothing in JavaScript can rule the race out, and an always-on seeder must not be stopped by
 * whoever happens to close a link at the wrong microsecond. The folder makes a restart cheap and safe:
 * complete files come back from the hash cache, downloads resume from their verified `.chunk` files,
 * and a combined file only ever appears under its name whole (cli/folder/combine.ts).
 *
 * Stopping stays one gesture: SIGINT and SIGTERM given to this process are passed to the peer as one
 * "stop" over the IPC channel (not as a second signal: when a terminal or a service manager signals the
 * whole process group, the peer gets its own as well, and a second signal means "exit at once"). If this
 * process is killed outright, the peer's IPC channel closes and it kills itself the same way, so a
 * SIGKILL still ends everything, as a crash of one process would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { constants } from 'node:os'
import { isatty } from 'node:tty'
import { fileURLToPath } from 'node:url'
import { EXIT_FAILURE, EXIT_OK } from './errors.js'
import type { Output } from './output/output.js'

/** Set in the peer process's environment: it runs the command itself rather than watching another. */
export const PEER_PROCESS_ENV = 'SWARMDROP_PEER_PROCESS'

/** The one message the watching process sends the peer. */
export const STOP_MESSAGE = 'swarmdrop:stop'

/** Signals by which a process dies of a fault of its own (a native crash), not because it was told to. */
const CRASH_SIGNALS: ReadonlySet<string> = new Set([
  'SIGSEGV',
  'SIGBUS',
  'SIGABRT',
  'SIGILL',
  'SIGFPE',
  'SIGTRAP',
])

/** The first restart waits this long; each crash soon after the last doubles it, up to RESTART_MAX_MS. */
export const RESTART_FIRST_MS = 500
const RESTART_MAX_MS = 30_000
/** A peer that ran this long before crashing starts a new streak (the wait goes back to the first). */
const STABLE_MS = 60_000
/**
 * Crashes in a row, each within STABLE_MS of its start, after which the command gives up with exit 1:
 * a peer that cannot stay up (a broken native module, not a peer closing a link) is a failure to report,
 * not to retry forever. The ten restarts wait about 2.5 minutes in all.
 */
const MAX_QUICK_CRASHES = 10

export interface SuperviseOptions {
  argv: readonly string[]
  /** Where the watcher says that it restarts the peer (the command's own output: text or `--json`). */
  output: Output
  /** Starts the peer process; default: this script again, with PEER_PROCESS_ENV set and an IPC channel. */
  spawnPeer?(argv: readonly string[]): ChildProcess
  /** Where SIGINT and SIGTERM come from; default: this process. */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>
  now?(): number
}

/** Runs the command in a peer process until it exits, starting it again after a crash; resolves its code. */
export async function supervise(options: SuperviseOptions): Promise<number> {
  const spawnPeer = options.spawnPeer ?? spawnThisScript
  const now = options.now ?? Date.now
  const signals = options.signals ?? process
  const terminal = saveTerminal()
  let stopping = false
  let peer: ChildProcess | undefined
  let wakeFromWait: (() => void) | undefined
  const onSignal = () => {
    stopping = true
    if (peer?.connected) peer.send(STOP_MESSAGE, () => {})
    wakeFromWait?.()
  }
  signals.on('SIGINT', onSignal)
  signals.on('SIGTERM', onSignal)
  try {
    let quickCrashes = 0
    for (;;) {
      const started = now()
      peer = spawnPeer(options.argv)
      const { code, signal } = await exitOf(peer)
      if (code !== null) return code
      if (stopping || signal === null || !CRASH_SIGNALS.has(signal)) {
        // Told to die (SIGKILL, the OOM killer, a signal before it could take it): as a shell would say it.
        return 128 + (signal ? (constants.signals[signal as NodeJS.Signals] ?? 0) : 0)
      }
      restoreTerminal(terminal)
      quickCrashes = now() - started >= STABLE_MS ? 1 : quickCrashes + 1
      if (quickCrashes > MAX_QUICK_CRASHES) {
        options.output.event(
          'error',
          'crashed',
          `the peer process crashed (${signal}) ${quickCrashes} times in a row soon after starting; giving up`,
          { signal, crashes: quickCrashes },
        )
        return EXIT_FAILURE
      }
      const waitMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (quickCrashes - 1))
      options.output.event(
        'warn',
        'restarting',
        `the peer process crashed (${signal}: a known fault of WebRTC for Node when a peer's connection closes mid-send); ` +
          `starting it again in ${waitMs} ms (downloads resume from their .chunk files)`,
        { signal, crashes: quickCrashes, restartInMs: waitMs },
      )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        wakeFromWait = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wakeFromWait = undefined
      // Asked to stop while nothing ran: there is nothing left to say goodbye for.
      if (stopping) return EXIT_OK
    }
  } finally {
    signals.off('SIGINT', onSignal)
    signals.off('SIGTERM', onSignal)
  }
}

let stopPeer: (() => void) | undefined
let stopAsked = false

/**
 * In the peer process: listens to the watching process (its stop, and its end: then this process ends
 * too, at once). Does nothing in a process that has no IPC channel (run by hand, or in tests).
 */
export function attachToSupervisor(): void {
  if (!process.send) return
  process.on('message', (message) => {
    if (message !== STOP_MESSAGE) return
    stopAsked = true
    // Before the peer is up there is no goodbye to say: end as the signal itself would have.
    if (stopPeer) stopPeer()
    else process.kill(process.pid, 'SIGTERM')
  })
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'))
  process.channel?.unref()
}

/** Makes `stop` what the watcher's stop does once the peer is up; returns the undo. */
export function onSupervisorStop(stop: () => void): () => void {
  stopPeer = stop
  if (stopAsked) stop()
  return () => {
    if (stopPeer === stop) stopPeer = undefined
  }
}

function spawnThisScript(argv: readonly string[]): ChildProcess {
  // In the bundle this is dist/cli/swarmdrop.js itself.
  const script = fileURLToPath(import.meta.url)
  return spawn(process.execPath, [...process.execArgv, '--enable-source-maps', script, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [PEER_PROCESS_ENV]: '1' },
  })
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    child.once('error', () => resolve({ code: EXIT_FAILURE, signal: null }))
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/**
 * The terminal's settings (`stty -g`) while nobody has changed them: a peer that crashes in its text UI
 * leaves the terminal raw, and the next one would take raw as the settings to go back to when it quits.
 */
function saveTerminal(): string | undefined {
  if (!isatty(0)) return undefined
  const saved = spawnSync('stty', ['-g'], { stdio: [0, 'pipe', 'ignore'], encoding: 'utf8' })
  return saved.status === 0 ? saved.stdout.trim() : undefined
}

function restoreTerminal(saved: string | undefined): void {
  if (saved === undefined) return
  spawnSync('stty', [saved], { stdio: [0, 'ignore', 'ignore'] })
  process.stderr.write('\n')
}
