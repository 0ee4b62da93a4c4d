/**
 * Diagnosis: what one idle, welcomed WebSocket connection costs the tracker, without any file. The server
 * runs in a child; N clients connect from here; the child reports memory after a full GC before and after.
 *
 *   node --import tsx bench/tracker-load/connection-memory.ts [--peers 2000] [--snapshot DIR]
 *     [--announce]      each peer also announces its 100 files (tracker-load's workload)
 *     [--redis URL]     the server as an instance on this Redis (a redis-server you started)
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import { startTestServer } from '../../test/support/server.js'
import { SwarmdropLoad } from './swarmdrop-client.js'
import { poolSizeFor } from './workload.js'

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '2000' },
    child: { type: 'boolean', default: false },
    snapshot: { type: 'string' },
    redis: { type: 'string' },
    announce: { type: 'boolean', default: false },
  },
})

type Usage = NodeJS.MemoryUsage

if (values.child) {
  const server = await startTestServer(values.redis ? { redis: { url: values.redis } } : {})
  const measure = (): Usage => {
    globalThis.gc!()
    globalThis.gc!()
    return process.memoryUsage()
  }
  process.on('message', (m: { op: string; dir?: string }) => {
    if (m.op === 'measure') process.send!({ usage: measure(), peers: server.tracker.stats().peersOnline })
    if (m.op === 'snapshot')
      process.send!({ file: writeHeapSnapshot(m.dir ? `${m.dir}/tracker.heapsnapshot` : undefined) })
    if (m.op === 'stop') server.close().then(() => process.exit(0))
  })
  process.send!({ url: server.url })
} else {
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--child', ...(values.redis ? ['--redis', values.redis] : [])],
    {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    },
  )
  const next = async <T>() => ((await once(child, 'message')) as [T])[0]
  const { url } = await next<{ url: string }>()
  const ask = async (op: string) => {
    child.send({ op, dir: values.snapshot })
    return next<{ usage: Usage; peers: number; file: string }>()
  }
  const before = await ask('measure')
  const load = new SwarmdropLoad([url], { ping() {}, record() {} } as never, 0)
  const peers = Number(values.peers)
  const result = await load.connect(0, peers)
  if (values.announce) {
    load.prepare(poolSizeFor(peers))
    const announced = await load.announce()
    console.log(`announced ${announced.ok} (${announced.failed} failed)`)
  }
  await new Promise((r) => setTimeout(r, 2000))
  const after = await ask('measure')
  const mib = (n: number) => (n / 1048576).toFixed(1)
  const per = (n: number) => (n / after.peers).toFixed(0)
  console.log(`connected ${result.ok} (${after.peers} on the server)`)
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const) {
    const delta = after.usage[key] - before.usage[key]
    console.log(
      `  ${key.padEnd(12)} ${mib(before.usage[key]).padStart(7)} → ${mib(after.usage[key]).padStart(7)} MiB  (${per(delta)} B a connection)`,
    )
  }
  if (values.snapshot) console.log('snapshot', (await ask('snapshot')).file)
  child.send({ op: 'stop' })
  load.close()
  await once(child, 'exit')
  process.exit(0)
}
