/**
 * Swarms in Node over in-memory links, for the swarm's and the frame router's tests: nodes with memory
 * storage, a network that links them directly (no signalling), peers the test drives frame by frame, and
 * the small waits they need.
 */
import { afterEach } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { encodeControl, parseFrame } from '../../shared/wire-protocol.js'
import type { BanList } from '../../web/peer/ban-list.js'
import { type Clock, systemClock } from '../../web/peer/clock.js'
import { type Download, REQUEST_STALL_MS } from '../../web/peer/download.js'
import { LocalFiles } from '../../web/peer/local-files.js'
import { createMemoryLinkPair, type MemoryLinkOptions } from '../../web/peer/memory-link.js'
import type { PeerLink } from '../../web/peer/peer-link.js'
import type { ProtocolRegistrar } from '../../web/peer/protocol-registrar.js'
import { type LinkProvider, Swarm } from '../../web/peer/swarm.js'
import { TypedEventTarget } from '../../web/peer/typed-events.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import type { FakeClock } from './fake-clock.js'

export const CHUNK = 16 * 1024

export class MemoryNetwork {
  readonly nodes = new Map<string, TestNode>()
  /** Every link made, for tests that look at traffic. */
  readonly links: PeerLink[] = []

  /** Link options for every link made from now on (e.g. the address the other end reports). */
  options: MemoryLinkOptions = {}

  connect(from: string, to: string): PeerLink {
    const target = this.nodes.get(to)
    if (!target) throw new Error(`no node ${to}`)
    const [mine, theirs] = createMemoryLinkPair(from, to, this.options)
    this.links.push(mine, theirs)
    target.provider.deliver(theirs)
    return mine
  }
}

export class TestLinkProvider extends TypedEventTarget<{ link: PeerLink }> implements LinkProvider {
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

export interface TestNode {
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

export interface NodeOptions {
  uploadSlots?: number
  registrar?: ProtocolRegistrar
  bans?: BanList
}

export function addNode(
  network: MemoryNetwork,
  id: string,
  clock: Clock = systemClock,
  options: NodeOptions | number = {},
): TestNode {
  const chunks = new MemoryChunkStore()
  const files = new MemoryFileStore()
  const local = new LocalFiles(chunks, files)
  const provider = new TestLinkProvider(network, id)
  const extra = typeof options === 'number' ? { uploadSlots: options } : options
  const swarm = new Swarm({ local, links: provider, clock, ...extra })
  swarms.push(swarm)
  const node = { id, local, swarm, provider, chunks, files }
  network.nodes.set(id, node)
  return node
}

export function bytesOf(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 13 + seed * 7 + (i >> 9)) & 255)
}

export async function recordOf(
  bytes: Uint8Array,
  origin: StoredFile['origin'] = 'shared',
): Promise<StoredFile> {
  const manifest = await manifestOf(bytes, CHUNK)
  return { digest: await manifestDigest(manifest), name: 'f.bin', mime: '', manifest, origin, addedAtMs: 0 }
}

/** Stores `indices` (default: all) of `bytes` on `node` and registers the file. */
export async function seed(node: TestNode, bytes: Uint8Array, indices?: number[]): Promise<StoredFile> {
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

export async function startDownload(node: TestNode, record: StoredFile, sources: string[]) {
  const mine = { ...record, origin: 'downloaded' as const }
  await node.files.put(mine)
  node.local.add(mine)
  const download = node.swarm.download(record.digest)
  download.start()
  for (const peerId of sources) download.addSource(await node.swarm.session(peerId))
  return download
}

export async function savedBytes(node: TestNode, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await (await assembleFile(node.chunks, node.local.get(digest)!.record)).arrayBuffer())
}

export const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

/** Makes the node's chunk reads wait until the returned function is called: uploads then hold their slots. */
export function holdReads(node: TestNode): () => void {
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

/** Lets the node's first `free` chunk writes through, then makes the rest wait until the returned function is called. */
export function holdWritesAfter(node: TestNode, free: number): () => void {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  let writes = 0
  const put = node.chunks.put.bind(node.chunks)
  node.chunks.put = async (digest, index, bytes) => {
    if (++writes > free) await gate
    return put(digest, index, bytes)
  }
  return open
}

/** Moves the clock on a quarter of a stall period at a time, at most `steps` times, until the download completes. */
export async function advanceUntilComplete(
  download: Download,
  clock: FakeClock,
  steps: number,
): Promise<void> {
  for (let i = 0; i < steps && download.state !== 'complete'; i++) {
    clock.advance(REQUEST_STALL_MS / 4)
    await settle()
  }
}

/** Counts the node's chunk reads started from now on. */
export function countReads(node: TestNode): () => number {
  let reads = 0
  const read = node.chunks.get.bind(node.chunks)
  node.chunks.get = (digest, index) => {
    reads++
    return read(digest, index)
  }
  return () => reads
}

/** Lets queued deliveries and promise chains run. */
export async function settle(tasks = 20): Promise<void> {
  for (let i = 0; i < tasks; i++) await new Promise((resolve) => setTimeout(resolve, 0))
}

/**
 * A peer driven by the test: says hello (unless `hello` is false), records requests, cancels, rejects,
 * errors and chunk bytes, answers as told. `closed` is set when its link closes.
 */
export function rawPeer(
  network: MemoryNetwork,
  id: string,
  onMessage: (link: PeerLink, message: { type: string; id: number; digest: string; index: number }) => void,
  { hello = true } = {},
) {
  const state = {
    closed: false,
    /** The other side said hello: requests may be sent. */
    helloed: false,
    /** The last link attached. */
    link: undefined as PeerLink | undefined,
    requests: 0,
    cancels: 0,
    rejects: [] as { id: number; reason: string }[],
    errors: [] as string[],
    /** Chunk bytes received, by request id. */
    chunks: new Map<number, number>(),
    attach: (link: PeerLink) => {
      state.link = link
      state.closed = false
      link.on('close', () => {
        state.closed = true
      })
      if (hello) void link.send(encodeControl({ type: 'hello', version: 1, maxFrameBytes: 64 * 1024 }))
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
        if (message.type === 'hello') state.helloed = true
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
