/**
 * `swarmdrop`: parses the command line and runs the command. Every way it can end is an exit code
 * (SPEC §1): 0 ok, 1 failure, 2 bad usage; a failure is said in one line on stderr.
 */
import { SwarmError } from '../shared/errors.js'
import { type Command, parseCommand } from './args.js'
import { runGet } from './commands/get.js'
import { runList } from './commands/list.js'
import { runPeers } from './commands/peers.js'
import { type InteractiveTerminal, runShare } from './commands/share.js'
import { CliError, EXIT_FAILURE, EXIT_OK, type ExitCode } from './errors.js'
import { describeError } from './output/reporter.js'
import { helpText } from './usage.js'

/** The version printed by `--version`: the package's, given by the build. */
declare const SWARMDROP_VERSION: string | undefined

export interface MainOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  terminal?: InteractiveTerminal
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<ExitCode> {
  const terminal = options.terminal ?? {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  }
  try {
    const command = parseCommand(argv, options.env ?? process.env, options.cwd ?? process.cwd())
    return await run(command, terminal)
  } catch (error) {
    terminal.stderr.write(`swarmdrop: ${messageOf(error)}\n`)
    return error instanceof CliError ? error.exitCode : EXIT_FAILURE
  }
}

function run(command: Command, terminal: InteractiveTerminal): Promise<ExitCode> | ExitCode {
  switch (command.kind) {
    case 'help':
      terminal.stdout.write(`${helpText(command.topic)}\n`)
      return EXIT_OK
    case 'version':
      terminal.stdout.write(`${typeof SWARMDROP_VERSION === 'string' ? SWARMDROP_VERSION : 'development'}\n`)
      return EXIT_OK
    case 'share':
      return runShare(command, terminal)
    case 'get':
      return runGet(command, terminal)
    case 'list':
      return runList(command, terminal)
    case 'peers':
      return runPeers(command, terminal)
  }
}

function messageOf(error: unknown): string {
  if (error instanceof CliError) return error.message
  if (error instanceof SwarmError) return describeError(error)
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}
