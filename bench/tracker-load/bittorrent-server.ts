/**
 * Child process: bittorrent-tracker's WebSocket tracker, the anchor of SPEC §7, alone (no HTTP or UDP
 * tracker, no stats page). Imported from `bittorrent-tracker/server`: the package's main entry loads a
 * native WebRTC module that cannot build here (SPEC §8).
 */
import type { AddressInfo } from 'node:net'
import Server from 'bittorrent-tracker/server'
import { serveParent } from './server-ipc.js'

const server = new Server({ udp: false, http: false, ws: true, stats: false })
let open = 0
let warnings = 0
server.ws!.on('connection', (socket) => {
  open++
  socket.once('close', () => open--)
})
// A failure reason sent to a client is also emitted as a warning; counting them shows bad requests.
server.on('warning', () => warnings++)
server.on('error', (error) => {
  process.stderr.write(`bittorrent-tracker failed: ${(error as Error).message}\n`)
  process.exit(1)
})

server.listen(0, '127.0.0.1', () => {
  const { port } = server.http!.address() as AddressInfo
  serveParent({
    port,
    url: `ws://127.0.0.1:${port}`,
    stats: () => ({ peers: open, files: Object.keys(server.torrents).length, warnings, recordsTouched: 0 }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
})
