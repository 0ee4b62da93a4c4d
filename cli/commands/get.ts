/**
 * `swarmdrop get DIGEST|LINK… [--dir DIR] [--exit]`: downloads one file or several into DIR with a
 * progress bar (bytes, rate, ETA, sources), resuming from their chunk files there, then keeps seeding them
 * until Ctrl-C (or exits at once with `--exit`). Nothing else in DIR is hashed or shared.
 *
 * Exit code 0 once every file is in DIR (or was already); 1 when one cannot be had (nobody holds it, the
 * disk is full) or the command is stopped before they are complete — the chunks stay, and the same
 * command resumes.
 */
import { SwarmError } from '../../shared/errors.js'
import { formatPercent } from '../../shared/format.js'
import { DIGEST_PATTERN } from '../../shared/manifest.js'
import type { Download } from '../../web/peer/download.js'
import type { Command } from '../args.js'
import { CliError, EXIT_FAILURE, EXIT_OK, type ExitCode } from '../errors.js'
import type { FolderEvents } from '../folder/folder.js'
import type { FileRow } from '../headless-peer.js'
import { LogOutput, type Output } from '../output/output.js'
import { ProgressOutput } from '../output/progress-output.js'
import { describeError } from '../output/reporter.js'
import { printable, progressLine } from '../output/text.js'
import type { Terminal } from './list.js'
import { openPeer, type RunningPeer } from './run-peer.js'
import { completeDigest, withTracker } from './tracker-session.js'

/** How often the progress bar is drawn. */
const BAR_MS = 250

type GetCommand = Extract<Command, { kind: 'get' }>

type Outcome =
  | { kind: 'complete' }
  | { kind: 'failed'; digest: string; error: SwarmError }
  | { kind: 'stopped' }

export async function runGet(command: GetCommand, terminal: Terminal): Promise<ExitCode> {
  const digests = await digestsOf(command)
  const bar = terminal.stdout.isTTY && !command.output.json ? new ProgressOutput(terminal.stdout) : undefined
  const output: Output =
    bar ?? new LogOutput({ ...command.output, stdout: terminal.stdout, stderr: terminal.stderr })
  const waiting = new Set(digests)
  let finished!: (outcome: Outcome) => void
  const outcome = new Promise<Outcome>((resolve) => {
    finished = resolve
  })
  const done = (digest: string) => {
    waiting.delete(digest)
    if (waiting.size === 0) finished({ kind: 'complete' })
  }
  const running = await openPeer({
    dir: command.dir,
    trackerUrl: command.trackerUrl,
    only: digests,
    output,
    listen: (folder) => {
      folder.on('combined', (event: FolderEvents['combined']) => done(event.digest))
      folder.on('problem', ({ digest, error }: FolderEvents['problem']) => {
        if (digest && waiting.has(digest) && error.code === 'QUOTA_EXCEEDED')
          finished({ kind: 'failed', digest, error })
      })
    },
  })
  void running.stopped.then(() => finished({ kind: 'stopped' }))
  const timer = bar ? setInterval(() => drawBar(running, digests, bar), BAR_MS) : undefined
  void startInTurn(running, digests, output, done, finished, outcome)
  const result = await outcome
  clearInterval(timer)
  if (bar) {
    drawBar(running, digests, bar)
    bar.done()
  }
  return finish(command, running, output, digests, result)
}

/** Whole digests: the starts of digests are completed against the catalog, in one session. */
async function digestsOf(command: GetCommand): Promise<string[]> {
  const texts = command.targets.map((t) => t.digest)
  const digests = texts.every((t) => DIGEST_PATTERN.test(t))
    ? texts
    : await withTracker(command.trackerUrl, async (tracker) => {
        const whole: string[] = []
        for (const text of texts) whole.push(await completeDigest(tracker, text))
        return whole
      })
  return [...new Set(digests)]
}

/**
 * Downloads the files one after another. At once they would only take turns at the same sources' upload
 * slots: a source serves one peer a few chunks at a time, refuses the rest as busy, and each refused
 * download waits before it asks again (bench/cli: 8 files at once from one CLI moved 15 MB/s, one at a
 * time twice that).
 */
async function startInTurn(
  running: RunningPeer,
  digests: string[],
  output: Output,
  done: (digest: string) => void,
  finished: (outcome: Outcome) => void,
  outcome: Promise<Outcome>,
): Promise<void> {
  let ended = false
  void outcome.then(() => {
    ended = true
  })
  for (const digest of digests) {
    if (ended) return
    const download = await start(running, digest, output, done, finished)
    if (download && download.state !== 'complete') await Promise.race([download.once('complete'), outcome])
  }
}

/** Waits for the tracker, then starts (or resumes) one download; a file already here is done at once. */
async function start(
  running: RunningPeer,
  digest: string,
  output: Output,
  done: (digest: string) => void,
  finished: (outcome: Outcome) => void,
): Promise<Download | undefined> {
  const { peer } = running
  const [name] = peer.folder.namesOf(digest)
  if (name) {
    const path = printable(peer.folder.layout.filePath(name))
    output.event('info', 'complete', `already here: ${path}`, { digest, name })
    done(digest)
    return undefined
  }
  while (peer.engine.tracker.status.state !== 'online') await peer.engine.once('status')
  try {
    const download = await peer.get(digest)
    download.on('progress', ({ state, error }) => {
      if (state === 'error' && error) finished({ kind: 'failed', digest, error })
    })
    return download
  } catch (error) {
    finished({ kind: 'failed', digest, error: asSwarmError(error) })
    return undefined
  }
}

async function finish(
  command: GetCommand,
  running: RunningPeer,
  output: Output,
  digests: string[],
  result: Outcome,
): Promise<ExitCode> {
  const { peer } = running
  switch (result.kind) {
    case 'complete':
      if (!command.exit) {
        const what =
          digests.length === 1
            ? printable(peer.nameOf(digests[0]!) ?? digests[0]!)
            : `${digests.length} files`
        output.event('info', 'seeding', `seeding ${what} until stopped (Ctrl-C)`, { digests })
        await running.stopped
      }
      await running.shutdown()
      return EXIT_OK
    case 'failed': {
      await running.shutdown()
      const name = printable(peer.nameOf(result.digest) ?? result.digest)
      const why =
        result.error.code === 'QUOTA_EXCEEDED'
          ? `the disk is full (${printable(result.error.message)}): free some space and run the same command again; the chunks here are kept`
          : describeError(result.error)
      throw new CliError(`cannot get ${name}: ${why}`, EXIT_FAILURE)
    }
    case 'stopped': {
      const total = sum(rowsOf(running, digests))
      await running.shutdown()
      const here = total.size > 0 ? ` at ${formatPercent(total.bytesHere, total.size)}` : ''
      throw new CliError(
        `stopped${here}: the same command resumes from the chunks in ${command.dir}`,
        EXIT_FAILURE,
      )
    }
  }
}

function rowsOf(running: RunningPeer, digests: string[]): FileRow[] {
  const wanted = new Set(digests)
  return running.peer.files().filter((f) => wanted.has(f.digest))
}

function sum(rows: FileRow[]): { bytesHere: number; size: number; bytesPerSecond: number; sources: number } {
  return rows.reduce(
    (total, row) => ({
      bytesHere: total.bytesHere + row.bytesHere,
      size: total.size + row.size,
      bytesPerSecond: total.bytesPerSecond + row.bytesPerSecond,
      sources: Math.max(total.sources, row.sources),
    }),
    { bytesHere: 0, size: 0, bytesPerSecond: 0, sources: 0 },
  )
}

function drawBar(running: RunningPeer, digests: string[], bar: ProgressOutput): void {
  const rows = rowsOf(running, digests)
  if (rows.length === 0) return bar.update('waiting for the server')
  const label =
    digests.length === 1
      ? printable(rows[0]!.name)
      : `${rows.filter((r) => r.state === 'seeding').length}/${digests.length} files`
  if (rows.length === digests.length && rows.every((r) => r.state === 'seeding'))
    return bar.update(`${label}: complete`)
  if (rows.every((r) => r.state === 'seeding' || r.state === 'assembling'))
    return bar.update(`${label}: assembling`)
  bar.update(`${progressLine(sum(rows))}  ${label}`)
}

function asSwarmError(error: unknown): SwarmError {
  return error instanceof SwarmError
    ? error
    : new SwarmError('INTERNAL', String((error as Error)?.message ?? error))
}
