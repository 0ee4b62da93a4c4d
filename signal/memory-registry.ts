/**
 * The registry of one process: the contract (registry-contract.ts) over the in-memory engine
 * (registry.ts). Every call is answered from memory at once, with no promise.
 */
import type { Manifest } from '../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry } from '../shared/tracker-protocol.js'
import { SwarmRegistry } from './registry.js'
import type {
  CatalogPage,
  ChunkUpdate,
  FileRejection,
  Registry,
  RegistryStats,
  SwarmReply,
} from './registry-contract.js'

export class MemoryRegistry implements Registry {
  /** The engine, for tests and benchmarks that look inside. */
  readonly engine: SwarmRegistry

  constructor(filesPerPeer: number, manifestCacheBytes?: number) {
    this.engine = new SwarmRegistry(filesPerPeer, manifestCacheBytes)
  }

  get revision(): number {
    return this.engine.revision
  }

  get recordsTouched(): number {
    return this.engine.recordsTouched
  }

  addPeer(peerId: string): void {
    // A peer id held already is taken over: the tracker closed the earlier connection; forget its holdings.
    this.engine.removePeer(peerId)
    this.engine.addPeer(peerId)
  }

  hasPeer(peerId: string): boolean {
    return this.engine.hasPeer(peerId)
  }

  removePeer(peerId: string): void {
    this.engine.removePeer(peerId)
  }

  announce(peerId: string, files: readonly AnnouncedFile[]): FileRejection[] {
    return this.engine.announce(peerId, files)
  }

  reportChunks(peerId: string, updates: readonly ChunkUpdate[]): FileRejection[] {
    return this.engine.reportChunks(peerId, updates)
  }

  leave(peerId: string, digests: readonly string[]): void {
    this.engine.leave(peerId, digests)
  }

  holds(peerId: string, digest: string): boolean {
    return this.engine.holds(peerId, digest)
  }

  filesOf(peerId: string): number {
    return this.engine.filesOf(peerId)
  }

  entry(digest: string): CatalogEntry | undefined {
    return this.engine.entry(digest)
  }

  hasFile(digest: string): boolean {
    return this.engine.hasFile(digest)
  }

  catalog(query: string | undefined, offset: number, limit: number): { page: CatalogPage; touched: number } {
    const before = this.engine.recordsTouched
    const page = this.engine.catalog(query, offset, limit)
    return { page, touched: this.engine.recordsTouched - before }
  }

  peers(digest: string, exceptPeerId: string, limit: number): SwarmReply | undefined {
    return this.engine.peers(digest, exceptPeerId, limit)
  }

  putManifest(digest: string, manifest: Manifest): string[] {
    return this.engine.putManifest(digest, manifest)
  }

  manifest(digest: string): Manifest | undefined {
    return this.engine.manifest(digest)
  }

  stats(): RegistryStats {
    return this.engine.stats()
  }

  localStats(): RegistryStats {
    return this.engine.stats()
  }
}
