import { createLogger } from '../signal/logger.js'
import { startServer } from '../signal/server.js'
import { HostileNode } from '../test/e2e/support/hostile-peer.js'
import { encodeControl } from '../shared/wire-protocol.js'

process.on('exit', (code) => console.log('exit', code))
const server = await startServer({ port: 0, host: '127.0.0.1', stunPort: null, webRoot: '/tmp', logger: createLogger('error', () => {}) })
const url = `ws://127.0.0.1:${server.port}/ws`
const b = await HostileNode.start(url)
b.answer((link) => {
  let n = 0
  link.link.on('frame', () => { if (++n === 2000) link.close() })
})
for (let round = 0; round < 10; round++) {
  const a = await HostileNode.start(url)
  const link = await a.dial(b.peerId)
  let sent = 0
  while (!link.closed && sent < 50000) {
    if (link.bufferedAmount > 1024 * 1024) { await new Promise((r) => setTimeout(r, 1)); continue }
    if (link.push(encodeControl({ type: 'interested', digest: 'a'.repeat(64) }))) sent++
  }
  console.log('round', round, 'sent', sent, 'closed', link.closed)
  a.close()
}
b.close(); await server.close()
