/**
 * The swarm in Node with in-memory links: scheduling, timeouts, endgame, banning and serving, over the
 * real wire protocol and the real storage logic (memory stores). Time-dependent cases use a fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { encodeChunkFrames, encodeControl, parseFrame } from '../../shared/wire-protocol.js'
import { pickChunk } from '../../web/peer/chunk-picker.js'
import { type Clock, systemClock } from '../../web/peer/clock.js'
import {
  type Download,
  IN_FLIGHT_PER_SOURCE,
  MAX_BAD_CHUNKS,
  REQUEST_STALL_MS,
} from '../../web/peer/download.js'
import { LocalFiles } from '../../web/peer/local-files.js'
import { createMemoryLinkPair, type MemoryLink } from '../../web/peer/memory-link.js'
import type { PeerLink } from '../../web/peer/peer-link.js'
import { IDLE_SESSION_MS, type LinkProvider, Swarm } from '../../web/peer/swarm.js'
import { TypedEventTarget } from '../../web/peer/typed-events.js'
import { REQUESTS_PER_PEER, SLOTS_PER_PEER } from '../../web/peer/upload-slots.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { FakeClock } from '../support/fake-clock.js'

const CHUNK = 16 * 1024

class MemoryNetwork {
  readonly nodes = new Map<string, TestNode>()
  /** Every link made, for tests that look at traffic. */
  readonly links: PeerLink[] = []

  connect(from: string, to: string): PeerLink {
    const target = this.nodes.get(to)
    if (!target) throw new Error(`no node ${to}`)
    const [mine, theirs] = createMemoryLinkPair(from, to)
    this.links.push(mine, theirs)
    target.provider.deliver(theirs)
    return mine
  }
}

class TestLinkProvider extends TypedEventTarget<{ link: PeerLink }> implements LinkProvider {
  constructor(
    private readonly network: MemoryNetwork,
    private readonly id: string,
  ) {
    super()
  }

  connect(peerId: string): Promise<PeerLink> {
    return Promise.resolve(this.network.connect(this.id, peerId))
  }

  deliver(link: PeerLink): void {
    this.emit('link', link)
  }
}

interface TestNode {
  id: string
  local: LocalFiles
  swarm: Swarm
  provider: TestLinkProvider
  chunks: MemoryChunkStore
  files: MemoryFileStore
}

const swarms: Swarm[] = []
afterEach(() => {
  for (const swarm of swarms.splice(0)) swarm.destroy()
})

function addNode(
  network: MemoryNetwork,
  id: string,
  clock: Clock = systemClock,
  uploadSlots?: number,
): TestNode {
  const chunks = new MemoryChunkStore()
  const files = new MemoryFileStore()
  const local = new LocalFiles(chunks, files)
  const provider = new TestLinkProvider(network, id)
  const swarm = new Swarm({ local, links: provider, clock, ...(uploadSlots ? { uploadSlots } : {}) })
  swarms.push(swarm)
  const node = { id, local, swarm, provider, chunks, files }
  network.nodes.set(id, node)
  return node
}

function bytesOf(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 13 + seed * 7 + (i >> 9)) & 255)
}

async function recordOf(bytes: Uint8Array, origin: StoredFile['origin'] = 'shared'): Promise<StoredFile> {
  const manifest = await manifestOf(bytes, CHUNK)
  return { digest: await manifestDigest(manifest), name: 'f.bin', mime: '', manifest, origin, addedAtMs: 0 }
}

/** Stores `indices` (default: all) of `bytes` on `node` and registers the file. */
async function seed(node: TestNode, bytes: Uint8Array, indices?: number[]): Promise<StoredFile> {
  const record = await recordOf(bytes)
  const count = record.manifest.hashes.length
  const have = new Bitfield(count)
  for (const index of indices ?? Array.from({ length: count }, (_, i) => i)) {
    await node.chunks.put(record.digest, index, bytes.subarray(index * CHUNK, (index + 1) * CHUNK))
    have.set(index)
  }
  await node.files.put(record)
  node.local.add(record, have)
  return record
}

async function startDownload(node: TestNode, record: StoredFile, sources: string[]) {
  const mine = { ...record, origin: 'downloaded' as const }
  await node.files.put(mine)
  node.local.add(mine)
  const download = node.swarm.download(record.digest)
  download.start()
  for (const peerId of sources) download.addSource(await node.swarm.session(peerId))
  return download
}

async function savedBytes(node: TestNode, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await (await assembleFile(node.chunks, node.local.get(digest)!.record)).arrayBuffer())
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

describe('swarm download', () => {
  it('downloads a file from one seeder, byte for byte', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder')
    const leecher = addNode(network, 'leecher')
    const bytes = bytesOf(40 * CHUNK + 123)
    const record = await seed(seeder, bytes)
    const download = await startDownload(leecher, record, ['seeder'])
    await download.once('complete')
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
    expect(download.progress()).toMatchObject({ state: 'complete', chunksHere: 41, chunkCount: 41 })
  })

  it('takes chunks from several seeders at once', async () => {
    const network = new MemoryNetwork()
    const seeders = ['s1', 's2', 's3'].map((id) => addNode(network, id))
    const leecher = addNode(network, 'leecher')
    const bytes = bytesOf(60 * CHUNK, 1)
    const record = await Promise.all(seeders.map((s) => seed(s, bytes))).then((r) => r[0]!)
    const from = new Map<string, number>()
    const download = await startDownload(leecher, record, ['s1', 's2', 's3'])
    download.on('chunk', ({ state, peerId }) => {
      if (state === 'here' && peerId) from.set(peerId, (from.get(peerId) ?? 0) + 1)
    })
    await download.once('complete')
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
    expect(from.size).toBe(3)
  })

  it('keeps at most a few requests in flight per source', async () => {
    const network = new MemoryNetwork()
    const leecher = addNode(network, 'leecher')
    const record = await recordOf(bytesOf(30 * CHUNK, 2))
    // A source that holds all 30 chunks and answers none: what it is asked for is what is in flight.
    const holder = rawPeer(network, 'holder', (link, message) => {
      if (message.type === 'interested') {
        void link.send(encodeControl({ type: 'have', digest: record.digest, chunkCount: 30, have: 'all' }))
      }
    })
    await startDownload(leecher, record, ['holder'])
    await settle()
    expect(holder.requests).toBe(IN_FLIGHT_PER_SOURCE)
  })

  it('resumes a partial file by fetching only the missing chunks, and shares each chunk it gets', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder')
    const leecher = addNode(network, 'leecher')
    const third = addNode(network, 'third')
    const bytes = bytesOf(10 * CHUNK, 3)
    const record = await seed(seeder, bytes)
    await seed(leecher, bytes, [0, 1, 2, 3, 4])
    leecher.local.add({ ...record, origin: 'downloaded' }, leecher.local.get(record.digest)!.have)
    const asked: number[] = []
    const uploads = seeder.swarm.on('uploaded', () => asked.push(1))
    const download = leecher.swarm.download(record.digest)
    download.start()
    download.addSource(await leecher.swarm.session('seeder'))
    await download.once('complete')
    uploads()
    expect(asked).toHaveLength(5)

    // the leecher now serves what it downloaded
    const thirdDownload = await startDownload(third, record, ['leecher'])
    await thirdDownload.once('complete')
    expect(same(await savedBytes(third, record.digest), bytes)).toBe(true)
  })

  it('bans a source after three bad chunks and finishes from the others', async () => {
    const network = new MemoryNetwork()
    const honest = addNode(network, 'honest')
    const leecher = addNode(network, 'leecher')
    const bytes = bytesOf(20 * CHUNK, 4)
    const record = await seed(honest, bytes)
    // The liar answers every request with garbage of the right length.
    const liar = rawPeer(network, 'liar', (link, message) => {
      if (message.type === 'interested') {
        void link.send(encodeControl({ type: 'have', digest: record.digest, chunkCount: 20, have: 'all' }))
      }
      if (message.type === 'request') {
        for (const frame of encodeChunkFrames(message.id, bytesOf(CHUNK, 99), 64 * 1024))
          void link.send(frame)
      }
    })
    const download = await startDownload(leecher, record, ['liar'])
    const banned = download.once('ban')
    expect(await banned).toEqual({ peerId: 'liar' })
    expect(leecher.swarm.isBanned('liar')).toBe(true)
    download.addSource(await leecher.swarm.session('honest'))
    await download.once('complete')
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
    expect(liar.requests).toBeGreaterThanOrEqual(MAX_BAD_CHUNKS)
    expect(liar.errors).toEqual(['CHUNK_CORRUPT']) // told why before the link closes
    await expect(leecher.swarm.session('liar')).rejects.toMatchObject({ code: 'PEER_BANNED' })
  })

  it('re-requests elsewhere when a source advertises chunks and never answers', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const honest = addNode(network, 'honest', clock)
    const leecher = addNode(network, 'leecher', clock)
    const bytes = bytesOf(12 * CHUNK, 5)
    const record = await seed(honest, bytes)
    const silent = rawPeer(network, 'silent', (link, message) => {
      if (message.type === 'interested') {
        void link.send(encodeControl({ type: 'have', digest: record.digest, chunkCount: 12, have: 'all' }))
      }
    })
    const download = await startDownload(leecher, record, ['silent'])
    await settle()
    expect(silent.requests).toBe(IN_FLIGHT_PER_SOURCE)
    download.addSource(await leecher.swarm.session('honest'))
    const done = download.once('complete')
    // The honest source takes everything the silent one does not hold up; the silent one's requests stall.
    await advanceUntilComplete(download, clock, 40)
    await done
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
  })

  it('asks a source again for a chunk it once stalled on, rather than wait forever beside it', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const leecher = addNode(network, 'leecher', clock)
    const bytes = bytesOf(6 * CHUNK, 9)
    const record = await recordOf(bytes)
    let ignoredFirstAsk = false
    // The only source: it lets its first request for chunk 0 stall, and answers everything else.
    rawPeer(network, 'slow', (link, message) => {
      if (message.type === 'interested') {
        void link.send(encodeControl({ type: 'have', digest: record.digest, chunkCount: 6, have: 'all' }))
      }
      if (message.type !== 'request') return
      if (message.index === 0 && !ignoredFirstAsk) {
        ignoredFirstAsk = true
        return
      }
      const chunk = bytes.subarray(message.index * CHUNK, (message.index + 1) * CHUNK)
      for (const frame of encodeChunkFrames(message.id, chunk, 64 * 1024)) void link.send(frame)
    })
    const download = await startDownload(leecher, record, ['slow'])
    const done = download.once('complete')
    await advanceUntilComplete(download, clock, 40)
    await done
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
  })

  it('keeps a source whose requests all stalled at once (an outage) and goes on from it when it is back', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', clock)
    const leecher = addNode(network, 'leecher', clock)
    const bytes = bytesOf(12 * CHUNK, 11)
    const record = await seed(seeder, bytes)
    // Every chunk read waits for the gate: the leecher's first requests are out when the path goes quiet.
    const openGate = holdReads(seeder)
    const download = await startDownload(leecher, record, ['seeder'])
    await settle()
    const toLeecher = network.links.find((link) => link.remotePeerId === 'leecher') as MemoryLink
    toLeecher.setFaults({ paused: true })
    openGate()
    // One stall period and a bit: every request out stalls in the same check.
    for (let i = 0; i < 6; i++) {
      clock.advance(REQUEST_STALL_MS / 4)
      await settle()
    }
    expect(download.sourceIds).toEqual(['seeder'])
    toLeecher.setFaults({})
    const done = download.once('complete')
    await advanceUntilComplete(download, clock, 80)
    await done
    expect(same(await savedBytes(leecher, record.digest), bytes)).toBe(true)
  })

  it("queues a peer's requests beyond its share, and refuses busy only past what it may have outstanding", async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder')
    const record = await seed(seeder, bytesOf(12 * CHUNK, 10))
    const greedy = rawPeer(network, 'greedy', () => {})
    const link = network.connect('greedy', 'seeder')
    greedy.attach(link)
    await settle()
    const openGate = holdReads(seeder)
    const reads = countReads(seeder)
    for (let id = 1; id <= REQUESTS_PER_PEER + 2; id++) {
      void link.send(encodeControl({ type: 'request', id, digest: record.digest, index: id - 1 }))
    }
    await settle()
    // Its share of the slots is reading; the rest wait their turn; only those past its allowance are refused.
    expect(reads()).toBe(SLOTS_PER_PEER)
    expect(greedy.rejects).toEqual([
      { id: REQUESTS_PER_PEER + 1, reason: 'busy' },
      { id: REQUESTS_PER_PEER + 2, reason: 'busy' },
    ])
    openGate()
    await settle()
    expect(greedy.chunks.size).toBe(REQUESTS_PER_PEER)
  })

  it('gives a slot that frees to another waiting peer before the greedy one (round robin)', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', systemClock, 2)
    const record = await seed(seeder, bytesOf(12 * CHUNK, 12))
    const order: string[] = []
    const peers = ['greedy', 'modest'].map((id) => {
      const peer = rawPeer(network, id, () => {})
      const link = network.connect(id, 'seeder')
      peer.attach(link)
      link.on('frame', (frame) => {
        const parsed = parseFrame(frame)
        if (parsed.ok && parsed.frame.kind === 'chunk' && parsed.frame.offset === 0) order.push(id)
      })
      return { peer, link }
    })
    await settle()
    const openGate = holdReads(seeder)
    const [greedy, modest] = peers as [(typeof peers)[0], (typeof peers)[0]]
    for (let id = 1; id <= 6; id++) {
      void greedy.link.send(encodeControl({ type: 'request', id, digest: record.digest, index: id }))
    }
    await settle()
    void modest.link.send(encodeControl({ type: 'request', id: 1, digest: record.digest, index: 0 }))
    await settle()
    openGate()
    await settle(60)
    // Two slots: greedy held both; the first to free went to the modest peer, not to greedy's third request.
    expect(order.slice(0, 3)).toEqual(['greedy', 'greedy', 'modest'])
    expect(order.filter((id) => id === 'greedy')).toHaveLength(6)
  })

  it('frees the slot of a cancelled upload at once for another peer, and never sends the cancelled chunk', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', systemClock, 1)
    const record = await seed(seeder, bytesOf(4 * CHUNK, 13))
    const attacker = rawPeer(network, 'attacker', () => {})
    const honest = rawPeer(network, 'honest', () => {})
    const toAttacker = network.connect('attacker', 'seeder')
    const toHonest = network.connect('honest', 'seeder')
    attacker.attach(toAttacker)
    honest.attach(toHonest)
    await settle()
    const openGate = holdReads(seeder)
    const reads = countReads(seeder)
    void toAttacker.send(encodeControl({ type: 'request', id: 7, digest: record.digest, index: 0 }))
    await settle()
    expect(reads()).toBe(1)
    void toHonest.send(encodeControl({ type: 'request', id: 1, digest: record.digest, index: 1 }))
    await settle()
    expect(reads()).toBe(1) // the only slot is the attacker's: the honest request waits (it is not refused)
    void toAttacker.send(encodeControl({ type: 'cancel', id: 7 }))
    await settle()
    // The attacker's read is still under way (the gate is shut), yet the slot went to the honest peer.
    expect(reads()).toBe(2)
    openGate()
    await settle()
    expect(honest.chunks.get(1)).toBe(CHUNK)
    expect(attacker.chunks.size).toBe(0)
    expect(honest.rejects).toEqual([])
  })

  it('closes a session once nobody uses it, and keeps one a peer is interested through', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', clock)
    const leecher = addNode(network, 'leecher', clock)
    const record = await seed(seeder, bytesOf(4 * CHUNK, 11))
    const download = await startDownload(leecher, record, ['seeder'])
    await download.once('complete')
    await settle()
    expect(leecher.swarm.sessions.map((s) => s.peerId)).toEqual(['seeder'])
    clock.advance(IDLE_SESSION_MS / 2)
    expect(leecher.swarm.sessions).toHaveLength(1)
    clock.advance(IDLE_SESSION_MS)
    await settle()
    expect(leecher.swarm.sessions).toHaveLength(0)
    expect(seeder.swarm.sessions).toHaveLength(0)

    // a peer that is interested in one of our files keeps its session, however quiet it is
    const watcher = rawPeer(network, 'watcher', () => {})
    const link = network.connect('watcher', 'seeder')
    watcher.attach(link)
    void link.send(encodeControl({ type: 'interested', digest: record.digest }))
    await settle()
    expect(seeder.swarm.sessions.map((s) => s.peerId)).toEqual(['watcher'])
    clock.advance(IDLE_SESSION_MS * 2)
    await settle()
    expect(seeder.swarm.sessions.map((s) => s.peerId)).toEqual(['watcher'])
  })

  it('asks a second source for the last chunks (endgame)', async () => {
    const network = new MemoryNetwork()
    const slow = rawPeer(network, 'slow', (link, message) => {
      if (message.type === 'interested') {
        void link.send(encodeControl({ type: 'have', digest: message.digest, chunkCount: 2, have: 'all' }))
      }
    })
    const fast = addNode(network, 'fast')
    const leecher = addNode(network, 'leecher')
    const bytes = bytesOf(2 * CHUNK, 6)
    const record = await seed(fast, bytes)
    const download = await startDownload(leecher, record, ['slow'])
    await settle()
    expect(slow.requests).toBe(2) // both chunks are out to the slow source
    download.addSource(await leecher.swarm.session('fast'))
    await download.once('complete') // the fast one is asked for the same chunks and wins
    await settle()
    expect(slow.cancels).toBe(2)
  })

  it('fetches and checks a manifest from a peer', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder')
    const leecher = addNode(network, 'leecher')
    const record = await seed(seeder, bytesOf(5 * CHUNK, 7))
    expect(await leecher.swarm.fetchManifest(record.digest, ['seeder'])).toEqual(record.manifest)
    await expect(leecher.swarm.fetchManifest('e'.repeat(64), ['seeder'])).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    })
  })

  it('refuses requests for chunks it does not hold, and queues those beyond its upload slots', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', systemClock, 1)
    const record = await seed(seeder, bytesOf(4 * CHUNK, 8), [0, 1, 2])
    const asker = rawPeer(network, 'asker', () => {})
    const link = network.connect('asker', 'seeder')
    asker.attach(link)
    await settle()
    // Reads wait on a gate, so the second request holds the only upload slot while the third arrives.
    const openGate = holdReads(seeder)
    void link.send(encodeControl({ type: 'request', id: 1, digest: record.digest, index: 3 }))
    void link.send(encodeControl({ type: 'request', id: 2, digest: record.digest, index: 0 }))
    void link.send(encodeControl({ type: 'request', id: 3, digest: record.digest, index: 1 }))
    await settle()
    // The third waits for the slot rather than being sent away (and made to back off).
    expect(asker.rejects).toEqual([{ id: 1, reason: 'not-held' }])
    expect(asker.chunks.size).toBe(0)
    openGate()
    await settle()
    expect([...asker.chunks.keys()]).toEqual([2, 3])
  })
})

describe('chunk picker', () => {
  it('picks the rarest chunk a source has, and spreads ties at random', () => {
    const here = new Bitfield(6)
    here.set(0)
    const availability = [3, 3, 1, 2, 1, 3]
    const base = {
      chunkCount: 6,
      here,
      sourceHas: () => true,
      availability: (i: number) => availability[i]!,
      inFlight: () => 0,
      excluded: () => false,
      maxRequestsPerChunk: 1,
    }
    const picks = new Set<number | undefined>()
    // 200 draws: both tied chunks come up unless the picker is biased (chance of a miss: 2^-199)
    for (let draw = 0; draw < 200; draw++) picks.add(pickChunk({ ...base, random: Math.random }))
    expect(picks).toEqual(new Set([2, 4]))
    expect(pickChunk({ ...base, inFlight: (i) => (i === 2 || i === 4 ? 1 : 0), random: () => 0 })).toBe(3)
    expect(pickChunk({ ...base, sourceHas: (i) => i === 0, random: () => 0 })).toBeUndefined()
  })
})

/** Makes the node's chunk reads wait until the returned function is called: uploads then hold their slots. */
function holdReads(node: TestNode): () => void {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const read = node.chunks.get.bind(node.chunks)
  node.chunks.get = async (digest, index) => {
    await gate
    return read(digest, index)
  }
  return open
}

/** Moves the clock on a quarter of a stall period at a time, at most `steps` times, until the download completes. */
async function advanceUntilComplete(download: Download, clock: FakeClock, steps: number): Promise<void> {
  for (let i = 0; i < steps && download.state !== 'complete'; i++) {
    clock.advance(REQUEST_STALL_MS / 4)
    await settle()
  }
}

/** Counts the node's chunk reads started from now on. */
function countReads(node: TestNode): () => number {
  let reads = 0
  const read = node.chunks.get.bind(node.chunks)
  node.chunks.get = (digest, index) => {
    reads++
    return read(digest, index)
  }
  return () => reads
}

/** Lets queued deliveries and promise chains run. */
async function settle(tasks = 20): Promise<void> {
  for (let i = 0; i < tasks; i++) await new Promise((resolve) => setTimeout(resolve, 0))
}

/** A peer driven by the test: says hello, records requests, cancels and rejects, answers as told. */
function rawPeer(
  network: MemoryNetwork,
  id: string,
  onMessage: (link: PeerLink, message: { type: string; id: number; digest: string; index: number }) => void,
) {
  const state = {
    requests: 0,
    cancels: 0,
    rejects: [] as { id: number; reason: string }[],
    errors: [] as string[],
    /** Chunk bytes received, by request id. */
    chunks: new Map<number, number>(),
    attach: (link: PeerLink) => {
      void link.send(encodeControl({ type: 'hello', version: 1, maxFrameBytes: 64 * 1024 }))
      link.on('frame', (data) => {
        const parsed = parseFrame(data)
        if (parsed.ok && parsed.frame.kind === 'chunk') {
          const { requestId, bytes } = parsed.frame
          state.chunks.set(requestId, (state.chunks.get(requestId) ?? 0) + bytes.length)
        }
        if (!parsed.ok || parsed.frame.kind !== 'control') return
        const message = parsed.frame.message as never as {
          type: string
          id: number
          digest: string
          index: number
          reason: string
        }
        if (message.type === 'request') state.requests++
        if (message.type === 'cancel') state.cancels++
        if (message.type === 'reject') state.rejects.push({ id: message.id, reason: message.reason })
        if (message.type === 'error') state.errors.push((message as never as { code: string }).code)
        onMessage(link, message)
      })
    },
  }
  const provider = new TestLinkProvider(network, id)
  provider.on('link', (link) => state.attach(link))
  network.nodes.set(id, { id, provider } as TestNode)
  return state
}
