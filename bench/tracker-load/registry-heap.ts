/**
 * The memory registry's own heap at N peers × 100 files, without sockets: the tracker-load workload's
 * holdings (workload.ts: ~10 holders a file, 1 holding in 10 partial) put into this checkout's registry
 * and, with `--baseline DIR`, into another checkout's (e.g. main's), each in a child process of its own,
 * measured as heap used after a full GC before and after (issue 15's memory work). No timing: figures are
 * bytes, so a busy machine changes nothing here.
 *
 *   node --import tsx bench/tracker-load/registry-heap.ts [--peers 10000] [--baseline DIR]
 */
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { AnnouncedFile } from '../../shared/tracker-protocol.js'
import { formatMiB } from './figures.js'
import { FILES_PER_PEER, filesOfPeer, isPartial, PoolFiles, partialHave, poolSizeFor } from './workload.js'

interface Engine {
  addPeer(peerId: string): void
  announce(peerId: string, files: readonly AnnouncedFile[]): unknown[]
}

interface Figures {
  heapBytes: number
  rssBytes: number
  holdings: number
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** In the child: fills one checkout's registry and prints its figures as JSON. */
async function measure(root: string, peers: number): Promise<Figures> {
  const module = (await import(pathToFileURL(resolve(root, 'signal/registry.ts')).href)) as {
    SwarmRegistry: new (filesPerPeer: number) => Engine
  }
  const gc = globalThis.gc!
  gc()
  const before = process.memoryUsage()
  const registry = new module.SwarmRegistry(10_000)
  const pool = new PoolFiles()
  const poolSize = poolSizeFor(peers)
  let holdings = 0
  for (let peer = 0; peer < peers; peer++) {
    const peerId = `peer-${peer.toString(36).padStart(12, '0')}` // 16 characters, as a real id
    registry.addPeer(peerId)
    const files = filesOfPeer(peer, poolSize).map((index): AnnouncedFile => {
      const file = pool.get(index)
      const have = isPartial(peer, index) ? partialHave(file) : 'all'
      return { digest: file.digest, name: file.name, size: file.size, chunkSize: file.chunkSize, have }
    })
    holdings += files.length
    registry.announce(peerId, files)
  }
  pool.clear()
  gc()
  const after = process.memoryUsage()
  // keep the registry alive through the measurement
  if (!registry) throw new Error('unreachable')
  return { heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss - before.rss, holdings }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: '10000' },
      baseline: { type: 'string' },
      child: { type: 'string' },
    },
  })
  const peers = Number(values.peers)
  if (values.child !== undefined) {
    console.log(JSON.stringify(await measure(values.child, peers)))
    return
  }
  const run = (root: string): Figures =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--peers',
          String(peers),
          '--child',
          root,
        ],
        { encoding: 'utf8', maxBuffer: 1024 * 1024 },
      )
        .trim()
        .split('\n')
        .at(-1)!,
    ) as Figures
  const roots = [
    ...(values.baseline ? [['baseline', resolve(values.baseline)]] : []),
    ['this checkout', ROOT],
  ]
  console.log(
    `registry heap at ${peers} peers × ${FILES_PER_PEER} files (${poolSizeFor(peers)} files in the pool)`,
  )
  for (const [label, root] of roots) {
    const figures = run(root!)
    console.log(
      `  ${label!.padEnd(14)} heap used ${formatMiB(figures.heapBytes).padStart(5)} MiB, RSS grew ${formatMiB(figures.rssBytes).padStart(5)} MiB` +
        ` (${figures.holdings} holdings, ${(figures.heapBytes / figures.holdings).toFixed(0)} bytes each)`,
    )
  }
}

await main()
