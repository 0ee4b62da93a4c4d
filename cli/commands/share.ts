/**
 * `swarmdrop share DIR`: seeds the folder and downloads into it until quit. On a terminal it opens the
 * text UI; otherwise (a service, a pipe) it logs one line per event, or one JSON object with `--json`.
 */
import type { Command } from '../args.js'
import { EXIT_OK, type ExitCode } from '../errors.js'
import { LogOutput } from '../output/output.js'
import { TextUi } from '../output/text-ui.js'
import type { Terminal } from './list.js'
import { openPeer } from './run-peer.js'

export interface InteractiveTerminal extends Terminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
}

export async function runShare(
  command: Extract<Command, { kind: 'share' }>,
  terminal: InteractiveTerminal,
): Promise<ExitCode> {
  const interactive = terminal.stdin.isTTY === true && terminal.stdout.isTTY === true && !command.output.json
  let quit!: () => void
  const ui = interactive
    ? new TextUi({ input: terminal.stdin, output: terminal.stdout, onQuit: () => quit() })
    : undefined
  const output = ui ?? new LogOutput({ ...command.output, stdout: terminal.stdout, stderr: terminal.stderr })
  let running: Awaited<ReturnType<typeof openPeer>>
  try {
    running = await openPeer({
      dir: command.dir,
      trackerUrl: command.trackerUrl,
      output,
      ...(command.listenPort !== undefined ? { listenPort: command.listenPort } : {}),
      ...(command.entryUrls ? { entryUrls: command.entryUrls } : {}),
      ...(ui ? { listen: (folder) => ui.watchFolder(folder) } : {}),
    })
  } catch (error) {
    ui?.close()
    throw error
  }
  quit = running.stop
  const listening = running.peer.listenServer
  if (listening) {
    output.event(
      'info',
      'listening',
      `listening for peers on port ${listening.port} (ws://THIS-HOST:${listening.port})`,
    )
  }
  ui?.start(running.peer)
  await running.stopped
  ui?.close()
  await running.shutdown()
  output.event('info', 'stopped', 'stopped: goodbye said to the tracker')
  return EXIT_OK
}
