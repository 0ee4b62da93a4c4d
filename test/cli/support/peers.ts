/**
 * Peers for the headless peer's tests in Node: the real tracker, the real engine, in-memory links. A
 * "browser" is an engine over memory stores that shares as a page does after a drop; a "CLI" is the
 * headless peer over a real folder.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { HeadlessPeer, type HeadlessPeerOptions } from '../../../cli/headless-peer.js'
import type { RunningServer } from '../../../signal/server.js'
import { SwarmEngine } from '../../../web/peer/engine.js'
import type { MemoryLinkNetwork } from '../../../web/peer/memory-link.js'
import type { WebSocketLike } from '../../../web/peer/tracker-client.js'
import type { StoredFile } from '../../../web/storage/file-store.js'
import { ingest } from '../../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../../web/storage/memory-file-store.js'
import { until } from '../../support/until.js'

export const MiB = 1024 * 1024

export type TestServer = RunningServer & { url: string }

/** Whatever a test opened, closed after it. */
export const opened: { close(): unknown }[] = []

export function createSocket(url: string): WebSocketLike {
  return new WebSocket(url) as unknown as WebSocketLike
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `swarmdrop-${label}-`))
}

/** Bytes that differ for each seed, without repeating within a chunk. */
export function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 255
  }
  return bytes
}

/** A browser-like peer: the engine over memory stores. */
export class MemoryPeer {
  private constructor(
    readonly engine: SwarmEngine,
    readonly chunks: MemoryChunkStore,
    readonly files: MemoryFileStore,
  ) {}

  static async open(server: TestServer, network: MemoryLinkNetwork): Promise<MemoryPeer> {
    const chunks = new MemoryChunkStore()
    const files = new MemoryFileStore()
    const engine = await SwarmEngine.open({
      trackerUrl: server.url,
      createSocket,
      chunks,
      files,
      createLink: network.createLink,
    })
    opened.push({ close: () => engine.destroy() })
    await until(() => engine.tracker.status.state === 'online', 'the memory peer online')
    return new MemoryPeer(engine, chunks, files)
  }

  /** Ingests and shares bytes as the page does after a drop. */
  async share(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<StoredFile> {
    const source = new Blob([bytes])
    const { record } = await ingest(
      source,
      { chunks: this.chunks, files: this.files, now: Date.now },
      { name, mime: 'application/octet-stream', onManifest: (r) => this.engine.share(r, source) },
    )
    this.engine.stored(record)
    return record
  }
}

/** The headless peer over `dir`, with in-memory links; resolves once it is online. */
export async function openCli(
  dir: string,
  server: TestServer,
  network: MemoryLinkNetwork,
  extra: Partial<HeadlessPeerOptions> = {},
): Promise<HeadlessPeer> {
  const peer = await HeadlessPeer.open({
    dir,
    trackerUrl: server.url,
    createSocket,
    createLink: network.createLink,
    ...extra,
  })
  opened.push(peer)
  await until(() => peer.engine.tracker.status.state === 'online', 'the headless peer online')
  return peer
}
