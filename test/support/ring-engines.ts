/**
 * Engines with the ring on (issue 13), for the ring-in-the-product tests and bench/ring-product: real
 * tracker clients, in-memory links that negotiate through real offer/answer signals (so a link signalled
 * through the ring really was), in-memory storage, ring periods short enough for a test of seconds.
 */
import WebSocket from 'ws'
import { SwarmEngine } from '../../web/peer/engine.js'
import type { LocalFile } from '../../web/peer/local-files.js'
import type { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import type { ContactStore } from '../../web/peer/ring/contacts.js'
import type { RingOptions } from '../../web/peer/ring/ring-options.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { ingest } from '../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'

/**
 * Ring timings for tests: stabilising five times a second, fingers checked twice, and a short successor
 * list (r = 3, one linked) so that a ring of twelve is not a full mesh and some peers are not linked.
 */
export const TEST_RING: RingOptions = {
  stabiliseMs: 200,
  fingerFixMs: 500,
  requestTimeoutMs: 1_000,
  lookupAttemptMs: 1_000,
  successors: 3,
  linkedSuccessors: 1,
  fingers: 1,
  fingerMinAgeMs: 0,
  // Five replicas: when every other peer leaves at once, every record keeps two.
  replicas: 5,
  // Anti-entropy every 2 s: records put while eight peers join at once settle at their owners in seconds.
  syncMs: 2_000,
}

export interface RingPeer {
  engine: SwarmEngine
  chunks: MemoryChunkStore
  files: MemoryFileStore
  completed: LocalFile[]
}

export async function openRingPeer(
  url: string,
  network: MemoryLinkNetwork,
  extra: { contacts?: ContactStore; ring?: RingOptions } = {},
): Promise<RingPeer> {
  const completed: LocalFile[] = []
  const chunks = new MemoryChunkStore()
  const files = new MemoryFileStore()
  const engine = await SwarmEngine.open({
    trackerUrl: url,
    createSocket: (u) => new WebSocket(u),
    chunks,
    files,
    createLink: network.createLink,
    onComplete: (file) => completed.push(file),
    membership: { memberAtOnce: true },
    ring: extra.ring ?? TEST_RING,
    ...(extra.contacts ? { contacts: extra.contacts } : {}),
  })
  return { engine, chunks, files, completed }
}

export function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed + (i >> 11)) & 255)
}

/** Ingests bytes on a peer and shares them, as the page does after a drop. */
export async function shareBytes(
  peer: RingPeer,
  bytes: Uint8Array<ArrayBuffer>,
  name: string,
): Promise<StoredFile> {
  const source = new Blob([bytes])
  const { record } = await ingest(
    source,
    { chunks: peer.chunks, files: peer.files, now: Date.now },
    { name, mime: 'application/octet-stream', onManifest: (r) => peer.engine.share(r, source) },
  )
  peer.engine.stored(record)
  return record
}

export async function savedBytes(peer: RingPeer, digest: string): Promise<Buffer> {
  const file = peer.engine.local.get(digest)!
  return Buffer.from(await (await assembleFile(peer.chunks, file.record)).arrayBuffer())
}

/** Whether every engine is a ring member whose successor is the next node id round the circle. */
export function ringIsIdeal(engines: readonly SwarmEngine[]): boolean {
  const sorted = engines.map((engine) => engine.identity.nodeId).sort()
  return engines.every((engine) => {
    const status = engine.ringStatus()
    const next = sorted[(sorted.indexOf(engine.identity.nodeId) + 1) % sorted.length]
    return status.state === 'member' && status.successors[0]?.nodeId === next
  })
}
