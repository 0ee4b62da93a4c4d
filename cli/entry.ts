/**
 * The process: runs `swarmdrop` with its arguments and exits with the command's code. `share` and `get`
 * run in a peer process of their own that this one starts again if it crashes (cli/supervisor.ts).
 */
import { parseCommand } from './args.js'
import { main } from './main.js'
import { LogOutput } from './output/output.js'
import { attachToSupervisor, PEER_PROCESS_ENV, supervise } from './supervisor.js'

const argv = process.argv.slice(2)
const code = await run()
// Links and sockets are closed by now; exiting does not wait for the native WebRTC threads to wind down.
process.exit(code)

async function run(): Promise<number> {
  if (process.env[PEER_PROCESS_ENV] !== undefined) {
    attachToSupervisor()
    return main(argv)
  }
  const command = peerCommand()
  if (!command) return main(argv)
  return supervise({ argv, output: new LogOutput(command.output) })
}

/** The command, when it runs a peer (`share`, `get`); anything else, or bad usage, `main` handles alone. */
function peerCommand() {
  try {
    const command = parseCommand(argv, process.env, process.cwd())
    return command.kind === 'share' || command.kind === 'get' ? command : undefined
  } catch {
    return undefined
  }
}
