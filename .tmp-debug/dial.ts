import { createLogger } from '../signal/logger.js'
import { startServer } from '../signal/server.js'
import { HostileNode } from '../test/e2e/support/hostile-peer.js'

const server = await startServer({ port: 0, host: '127.0.0.1', stunPort: null, webRoot: '/tmp', logger: createLogger('error', () => {}) })
const url = `ws://127.0.0.1:${server.port}/ws`
const a = await HostileNode.start(url)
const b = await HostileNode.start(url)
b.answer((link) => { console.log('b got link'); link.hello() })
console.log('dialling')
const link = await a.dial(b.peerId)
console.log('open', link.closed)
link.hello()
link.control({ type: 'interested', digest: 'a'.repeat(64) })
await new Promise((r) => setTimeout(r, 500))
console.log(link.report)
a.close(); b.close(); await server.close()
