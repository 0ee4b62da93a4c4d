/**
 * What this peer holds, in memory, over the chunk and file stores: each file's record and which chunks
 * are here. Every chunk goes in through writeVerifiedChunk and comes out through readVerifiedChunk, so
 * nothing unverified is stored or served. The swarm takes this, never IndexedDB (SPEC §9).
 */
import { Bitfield } from '../../shared/bitfield.js'
import { SwarmError } from '../../shared/errors.js'
import { chunkLength } from '../../shared/manifest.js'
import type { AnnouncedFile } from '../../shared/tracker-protocol.js'
import type { ChunkStore } from '../storage/chunk-store.js'
import type { FileStore, StoredFile } from '../storage/file-store.js'
import type { Inventory } from '../storage/inventory.js'
import { forgetVerified, matches, readVerifiedChunk, writeVerifiedChunk } from '../storage/verified-chunks.js'
import { TypedEventTarget } from './typed-events.js'

export interface LocalFile {
  readonly record: StoredFile
  readonly have: Bitfield
}

/**
 * Where a file being stored is served from meanwhile: the dropped File itself (its slices are its chunks),
 * or a reader that seals each slice on the way (a private share, web/storage/chunk-reader.ts).
 */
export type LiveSource = Blob | { read(index: number): Promise<{ bytes: Uint8Array }> }

export type LocalFilesEvents = {
  /**
   * A chunk was verified and stored (or found missing on read: `lost`). `from`: the peer it was downloaded
   * from, when it was (that peer knows it sent it; the swarm does not announce it back, issue 11).
   */
  'chunk-stored': { digest: string; index: number; from?: string }
  'chunk-lost': { digest: string; index: number }
  'file-added': LocalFile
  'file-removed': { digest: string }
}

export class LocalFiles extends TypedEventTarget<LocalFilesEvents> {
  readonly #files = new Map<string, LocalFile>()
  /** Files being shared straight from what the user dropped, until every chunk is stored. */
  readonly #liveSources = new Map<string, LiveSource>()

  constructor(
    readonly chunks: ChunkStore,
    readonly records: FileStore,
    inventory?: Inventory,
  ) {
    super()
    for (const entry of inventory?.files ?? []) this.#files.set(entry.record.digest, entry)
  }

  get(digest: string): LocalFile | undefined {
    return this.#files.get(digest)
  }

  list(): LocalFile[] {
    return [...this.#files.values()]
  }

  /** Adds (or replaces) a file this peer holds, with the chunks it has. */
  add(record: StoredFile, have: Bitfield = new Bitfield(record.manifest.hashes.length)): LocalFile {
    const file = { record, have }
    this.#files.set(record.digest, file)
    this.emit('file-added', file)
    return file
  }

  /** Serves a dropped file's chunks from the File itself until they are stored (ingest's second pass). */
  addLiveSource(record: StoredFile, source: LiveSource): void {
    this.#liveSources.set(record.digest, source)
    const file = this.#files.get(record.digest) ?? this.add(record)
    for (let index = 0; index < file.have.length; index++) file.have.set(index)
    this.emit('file-added', file)
  }

  dropLiveSource(digest: string): void {
    this.#liveSources.delete(digest)
  }

  /** Whether a file is still served from what was dropped (its chunks are not all stored yet). */
  hasLiveSource(digest: string): boolean {
    return this.#liveSources.has(digest)
  }

  /** Replaces a held file's record (a name learned, sharing stopped or started), keeping its chunks. */
  update(record: StoredFile): LocalFile | undefined {
    const held = this.#files.get(record.digest)
    if (!held) return undefined
    const file = { record, have: held.have }
    this.#files.set(record.digest, file)
    this.emit('file-added', file)
    return file
  }

  /** Marks a chunk stored by someone else (the ingest worker). */
  markStored(digest: string, index: number): void {
    const file = this.#files.get(digest)
    if (file && index < file.have.length && file.have.set(index)) this.emit('chunk-stored', { digest, index })
  }

  /** A verified chunk, or undefined when it is not here (a corrupt one is dropped and reported lost). */
  async read(digest: string, index: number): Promise<Uint8Array | undefined> {
    const file = this.#files.get(digest)
    if (!file || index >= file.have.length || !file.have.has(index)) return undefined
    if (file.record.notShared) return undefined // kept here, but the user stopped sharing it
    const stored = await readVerifiedChunk(this.chunks, file.record.manifest, digest, index)
    if (stored) return stored.bytes
    const live = this.#liveSources.get(digest)
    if (live) {
      const bytes = await readLive(live, file.record.manifest.chunkSize, index).catch(() => undefined)
      if (bytes && (await matches(file.record.manifest, index, bytes))) return bytes
      this.#liveSources.delete(digest) // the file changed on disk: it cannot be served from any more
    }
    this.#unmark(file, index)
    return undefined
  }

  /**
   * Hashes a stored chunk again, whether or not it was verified since the page loaded (the background
   * scrub): one damaged at rest is dropped and reported lost, to be fetched again. True when it checked out.
   */
  async rehash(digest: string, index: number): Promise<boolean> {
    forgetVerified(this.chunks, digest, index)
    return (await this.read(digest, index)) !== undefined
  }

  /**
   * Checks and stores a downloaded chunk, from peer `from` when given. Throws CHUNK_CORRUPT or
   * QUOTA_EXCEEDED (SwarmError).
   */
  async write(digest: string, index: number, bytes: Uint8Array, from?: string): Promise<void> {
    const file = this.#files.get(digest)
    if (!file) throw new SwarmError('NOT_HELD', 'no such file here')
    await writeVerifiedChunk(this.chunks, file.record.manifest, digest, index, bytes)
    if (this.#files.get(digest) !== file) {
      // Removed while the chunk was being written: the chunk must not outlive its file.
      await this.chunks.delete(digest, index)
      return
    }
    if (file.have.set(index))
      this.emit('chunk-stored', from === undefined ? { digest, index } : { digest, index, from })
  }

  /** Forgets a file and deletes its chunks and record. */
  async remove(digest: string): Promise<void> {
    this.#files.delete(digest)
    this.#liveSources.delete(digest)
    forgetVerified(this.chunks, digest)
    await this.chunks.deleteFile(digest)
    await this.records.delete(digest)
    this.emit('file-removed', { digest })
  }

  /**
   * What to announce to the tracker: every file shared, with the chunks it has. A private share or a
   * collection's member goes unlisted, without its name or type; a file the user stopped sharing not at all.
   */
  holdings(): AnnouncedFile[] {
    return this.list()
      .filter(({ record }) => !record.notShared)
      .map(({ record, have }) => {
        const announced: AnnouncedFile = {
          digest: record.digest,
          size: record.manifest.size,
          chunkSize: record.manifest.chunkSize,
          have: have.complete ? 'all' : have.toBase64(),
        }
        if (record.sealed) return { ...announced, unlisted: true, sealed: true }
        if (record.listed === false) return { ...announced, unlisted: true }
        announced.name = record.name
        if (record.mime) announced.mime = record.mime
        if (record.collection) announced.collection = record.collection
        return announced
      })
  }

  /** Bytes of a file that are here. */
  bytesHere(digest: string): number {
    const file = this.#files.get(digest)
    if (!file) return 0
    let total = 0
    for (let index = 0; index < file.have.length; index++) {
      if (file.have.has(index)) total += chunkLength(file.record.manifest, index)
    }
    return total
  }

  #unmark(file: LocalFile, index: number): void {
    if (file.have.clear(index)) this.emit('chunk-lost', { digest: file.record.digest, index })
  }
}

async function readLive(source: LiveSource, chunkSize: number, index: number): Promise<Uint8Array> {
  if (source instanceof Blob) {
    return new Uint8Array(await source.slice(index * chunkSize, (index + 1) * chunkSize).arrayBuffer())
  }
  return (await source.read(index)).bytes
}
