/** The process: runs `swarmdrop` with its arguments and exits with the command's code. */
import { main } from './main.js'

const code = await main(process.argv.slice(2))
// Links and sockets are closed by now; exiting does not wait for the native WebRTC threads to wind down.
process.exit(code)
