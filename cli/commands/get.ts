/**
 * `swarmdrop get DIGEST|LINK [--dir DIR] [--exit]`: downloads one file into DIR with a progress bar
 * (bytes, rate, ETA, sources), resuming from its chunk files there, then keeps seeding it until Ctrl-C
 * (or exits at once with `--exit`). Nothing else in DIR is hashed or shared.
 *
 * Exit code 0 once the file is in DIR (or was already); 1 when it cannot be had (nobody holds it, the
 * disk is full) or the command is stopped before it is complete — the chunks stay, and the same command
 * resumes.
 */
import { SwarmError } from '../../shared/errors.js'
import { formatPercent } from '../../shared/format.js'
import type { Command } from '../args.js'
import { CliError, EXIT_FAILURE, EXIT_OK, type ExitCode } from '../errors.js'
import type { FolderEvents } from '../folder/folder.js'
import { LogOutput, type Output } from '../output/output.js'
import { ProgressOutput } from '../output/progress-output.js'
import { describeError } from '../output/reporter.js'
import { printable, progressLine } from '../output/text.js'
import type { Terminal } from './list.js'
import { openPeer, type RunningPeer } from './run-peer.js'
import { completeDigest, withTracker } from './tracker-session.js'

/** How often the progress bar is drawn. */
const BAR_MS = 250

type Outcome =
  | { kind: 'complete'; name: string; already?: boolean }
  | { kind: 'failed'; error: SwarmError }
  | { kind: 'stopped' }

export async function runGet(
  command: Extract<Command, { kind: 'get' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  const digest =
    command.target.digest.length === 64
      ? command.target.digest
      : await withTracker(command.trackerUrl, (tracker) => completeDigest(tracker, command.target.digest))
  const bar = terminal.stdout.isTTY && !command.output.json ? new ProgressOutput(terminal.stdout) : undefined
  const output: Output =
    bar ?? new LogOutput({ ...command.output, stdout: terminal.stdout, stderr: terminal.stderr })
  let finished!: (outcome: Outcome) => void
  const outcome = new Promise<Outcome>((resolve) => {
    finished = resolve
  })
  const running = await openPeer({
    dir: command.dir,
    trackerUrl: command.trackerUrl,
    only: digest,
    output,
    listen: (folder) => {
      folder.on('combined', (event: FolderEvents['combined']) => {
        if (event.digest === digest) finished({ kind: 'complete', name: event.name })
      })
      folder.on('problem', (event: FolderEvents['problem']) => {
        if (event.digest === digest && event.error.code === 'QUOTA_EXCEEDED')
          finished({ kind: 'failed', error: event.error })
      })
    },
  })
  void running.stopped.then(() => finished({ kind: 'stopped' }))
  const timer = bar ? setInterval(() => drawBar(running, digest, bar), BAR_MS) : undefined
  void start(running, digest, finished)
  const result = await outcome
  clearInterval(timer)
  if (bar) {
    drawBar(running, digest, bar)
    bar.done()
  }
  return finish(command, running, output, digest, result)
}

/** Waits for the tracker, then starts (or resumes) the download; a file already here is complete at once. */
async function start(
  running: RunningPeer,
  digest: string,
  finished: (outcome: Outcome) => void,
): Promise<void> {
  const { peer } = running
  const names = peer.folder.namesOf(digest)
  if (names.length > 0) return finished({ kind: 'complete', name: names[0]!, already: true })
  if (peer.engine.tracker.status.state !== 'online') await peer.engine.once('status')
  while (peer.engine.tracker.status.state !== 'online') await peer.engine.once('status')
  try {
    const download = await peer.get(digest)
    download.on('progress', ({ state, error }) => {
      if (state === 'error' && error) finished({ kind: 'failed', error })
    })
  } catch (error) {
    finished({ kind: 'failed', error: asSwarmError(error) })
  }
}

async function finish(
  command: Extract<Command, { kind: 'get' }>,
  running: RunningPeer,
  output: Output,
  digest: string,
  result: Outcome,
): Promise<ExitCode> {
  const { peer } = running
  switch (result.kind) {
    case 'complete':
      if (result.already) {
        const path = printable(peer.folder.layout.filePath(result.name))
        output.event('info', 'complete', `already here: ${path}`, { digest, name: result.name })
      }
      if (!command.exit) {
        output.event('info', 'seeding', `seeding ${printable(result.name)} until stopped (Ctrl-C)`, {
          digest,
        })
        await running.stopped
      }
      await running.shutdown()
      return EXIT_OK
    case 'failed': {
      await running.shutdown()
      const name = printable(peer.nameOf(digest) ?? digest)
      const why =
        result.error.code === 'QUOTA_EXCEEDED'
          ? `the disk is full (${printable(result.error.message)}): free some space and run the same command again; the chunks here are kept`
          : describeError(result.error)
      throw new CliError(`cannot get ${name}: ${why}`, EXIT_FAILURE)
    }
    case 'stopped': {
      const file = peer.files().find((f) => f.digest === digest)
      await running.shutdown()
      const here = file ? ` at ${formatPercent(file.bytesHere, file.size)}` : ''
      throw new CliError(
        `stopped${here}: the same command resumes from the chunks in ${command.dir}`,
        EXIT_FAILURE,
      )
    }
  }
}

function drawBar(running: RunningPeer, digest: string, bar: ProgressOutput): void {
  const file = running.peer.files().find((f) => f.digest === digest)
  if (!file) return bar.update(`${digest.slice(0, 16)}…: waiting for the server`)
  const name = printable(file.name)
  if (file.state === 'seeding') return bar.update(`${name}: complete`)
  if (file.state === 'assembling') return bar.update(`${name}: assembling`)
  bar.update(`${progressLine(file)}  ${name}`)
}

function asSwarmError(error: unknown): SwarmError {
  return error instanceof SwarmError
    ? error
    : new SwarmError('INTERNAL', String((error as Error)?.message ?? error))
}
