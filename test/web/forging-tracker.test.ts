/**
 * A tracker that forges signals, for real: a WebSocket relay between one engine and the real tracker
 * rewrites the SDP of the answers it hands that engine (a fingerprint of its own, as a tracker sitting in
 * the middle would need). The engine refuses them as SIGNAL_FORGED and says so; its download gets no
 * source through that tracker.
 */
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import type { SwarmError } from '../../shared/errors.js'
import type { RunningServer } from '../../signal/server.js'
import { SwarmEngine } from '../../web/peer/engine.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { ingest } from '../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { startTestServer } from '../support/server.js'
import { until } from '../support/until.js'

const closers: (() => unknown)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** A relay to `target` that passes everything, except that it rewrites the SDP of answers sent to the client. */
async function forgingRelay(target: string): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  wss.on('connection', (client) => {
    const upstream = new WebSocket(target)
    const early: string[] = []
    client.on('message', (data) =>
      upstream.readyState === WebSocket.OPEN ? upstream.send(data.toString()) : early.push(data.toString()),
    )
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text)
    })
    upstream.on('message', (data) => {
      const message = JSON.parse(data.toString())
      if (message.type === 'signal' && message.data?.type === 'answer') {
        message.data.sdp = `${message.data.sdp}\r\na=fingerprint:sha-256 6D:69:74:6D`
      }
      client.send(JSON.stringify(message))
    })
    upstream.on('close', () => client.close())
    client.on('close', () => upstream.close())
  })
  closers.push(() => new Promise((resolve) => wss.close(resolve)))
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`
}

async function openEngine(url: string, network: MemoryLinkNetwork) {
  const chunks = new MemoryChunkStore()
  const files = new MemoryFileStore()
  const engine = await SwarmEngine.open({
    trackerUrl: url,
    createSocket: (u) => new WebSocket(u),
    chunks,
    files,
    createLink: network.createLink,
  })
  closers.push(() => engine.destroy())
  const problems: SwarmError[] = []
  engine.on('problem', ({ error }) => problems.push(error))
  await until(() => engine.tracker.status.state === 'online', 'the engine online')
  return { engine, chunks, files, problems }
}

describe('a forging tracker', () => {
  it('cannot hand a peer an altered answer: it is refused as SIGNAL_FORGED before the link is used', async () => {
    const server: RunningServer & { url: string } = await startTestServer()
    closers.push(() => server.close())
    const network = new MemoryLinkNetwork()
    const seeder = await openEngine(server.url, network)
    const victim = await openEngine(await forgingRelay(server.url), network)

    const bytes = new Uint8Array(40_000).map((_, i) => i & 255)
    const source = new Blob([bytes])
    const { record } = await ingest(
      source,
      { chunks: seeder.chunks, files: seeder.files, now: Date.now },
      { name: 'a.bin', mime: 'application/octet-stream', onManifest: (r) => seeder.engine.share(r, source) },
    )
    seeder.engine.stored(record)
    // Shares are announced in batches (ANNOUNCE_BATCH_MS): the tracker must know the file before the fetch.
    await until(() => server.tracker.stats().files === 1, 'the share announced')
    await until(() => victim.engine.tracker.status.state === 'online')
    await victim.engine.catalog()

    void victim.engine.fetch(record.digest).catch(() => {})
    await until(() => victim.problems.some((error) => error.code === 'SIGNAL_FORGED'), 'SIGNAL_FORGED')
    expect(victim.engine.local.get(record.digest)?.have.count ?? 0).toBe(0)
    expect(victim.engine.swarm.getDownload(record.digest)?.progress().sources ?? 0).toBe(0)
  })
})
