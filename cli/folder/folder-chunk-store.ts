/**
 * The ChunkStore of the headless peer: chunks of files being downloaded are `DIR/<digest>.<index>.chunk`
 * files, and chunks of complete files are read straight from the file in DIR, at `index × chunkSize`.
 * Like every store it keeps bytes as given; verified-chunks.ts checks them on the way in and out.
 *
 * Which chunk files exist is read once from the folder (`load`) and then kept in memory, so that
 * `indices` costs no directory listing: the engine asks for it for every file at start.
 */
import { type FileHandle, open as openFile, readdir, readFile, stat } from 'node:fs/promises'
import { chunkLength } from '../../shared/manifest.js'
import type { ChunkStore } from '../../web/storage/chunk-store.js'
import { errnoOf, type FolderIo, nodeIo, removeQuietly, writeAtomically } from './io.js'
import { type FolderLayout, parseChunkFileName } from './layout.js'

/**
 * Complete files kept open for reading: a seeder reads one chunk after another from the same few files, and
 * opening and closing the file for each chunk cost two more trips through libuv's thread pool per chunk.
 */
const OPEN_FILES = 32

/** A complete file in DIR, as it was when it was hashed. */
export interface CompleteFile {
  path: string
  size: number
  mtimeMs: number
  chunkSize: number
  chunkCount: number
}

export interface FolderChunkStoreOptions {
  io?: FolderIo
  /**
   * A chunk of a complete file failed its check on read (verified-chunks.ts then deletes it): the file
   * changed on disk. The file itself is left alone; the folder hashes it again.
   */
  onCompleteFileChanged?(digest: string): void
}

export class FolderChunkStore implements ChunkStore {
  /**
   * Chunks a download may have waiting for the folder (chunk-store.ts): a write is a file written and
   * renamed, ~10 ms, which left the link idle between chunks (bench/cli goodput, issue 11).
   */
  readonly writeAhead = 4
  readonly #io: FolderIo
  readonly #onCompleteFileChanged: (digest: string) => void
  /** Chunk files in DIR, by digest. */
  readonly #chunkFiles = new Map<string, Set<number>>()
  readonly #complete = new Map<string, CompleteFile>()
  /** Open handles of complete files, by path, least recently used first. */
  readonly #handles = new Map<string, Promise<FileHandle>>()

  constructor(
    readonly layout: FolderLayout,
    options: FolderChunkStoreOptions = {},
  ) {
    this.#io = options.io ?? nodeIo
    this.#onCompleteFileChanged = options.onCompleteFileChanged ?? (() => {})
  }

  /** Reads which chunk files DIR holds. Call once, before anything else. */
  async load(): Promise<void> {
    this.#chunkFiles.clear()
    for (const name of await readdir(this.layout.dir)) {
      const parsed = parseChunkFileName(name)
      if (parsed) this.#indexOf(parsed.digest).add(parsed.index)
    }
  }

  /** Digests that have chunk files in DIR. */
  chunkFileDigests(): string[] {
    return [...this.#chunkFiles.keys()]
  }

  /** Chunk files of one file, ascending (complete files not counted). */
  chunkFileIndices(digest: string): number[] {
    return [...(this.#chunkFiles.get(digest) ?? [])].sort((a, b) => a - b)
  }

  /** Serves `digest` from a complete file in DIR from now on. */
  setComplete(digest: string, file: CompleteFile): void {
    const old = this.#complete.get(digest)
    if (old && old.path !== file.path) this.#closeHandle(old.path)
    this.#complete.set(digest, file)
  }

  /** Stops serving `digest` from a complete file (it is gone, or changed); its chunk files stay. */
  clearComplete(digest: string): void {
    const old = this.#complete.get(digest)
    if (old) this.#closeHandle(old.path)
    this.#complete.delete(digest)
  }

  /** Closes the files kept open. */
  async close(): Promise<void> {
    const handles = [...this.#handles.values()]
    this.#handles.clear()
    await Promise.allSettled(handles.map(async (handle) => (await handle).close()))
  }

  completeFile(digest: string): CompleteFile | undefined {
    return this.#complete.get(digest)
  }

  /** Deletes the chunk files of one file (once it is complete, or removed). */
  async deleteChunkFiles(digest: string): Promise<void> {
    for (const index of this.chunkFileIndices(digest)) await this.#deleteChunkFile(digest, index)
    this.#chunkFiles.delete(digest)
  }

  async put(digest: string, index: number, bytes: Uint8Array): Promise<void> {
    if (this.#complete.has(digest)) return // the complete file holds it already
    await writeAtomically(
      this.#io,
      this.layout.tempPath(`${digest}.${index}`),
      this.layout.chunkPath(digest, index),
      bytes,
      `chunk ${index} of ${digest}`,
    )
    this.#indexOf(digest).add(index)
  }

  async get(digest: string, index: number): Promise<Blob | undefined> {
    const bytes = await this.getBytes(digest, index)
    return bytes && new Blob([bytes as Uint8Array<ArrayBuffer>])
  }

  /** The chunk's bytes as read from its file: how the engine reads (verified-chunks.ts), with no Blob between. */
  async getBytes(digest: string, index: number): Promise<Uint8Array | undefined> {
    const complete = this.#complete.get(digest)
    if (complete) {
      if (index >= complete.chunkCount) return undefined
      try {
        const handle = await this.#handleOf(complete.path)
        return await readRange(handle, index * complete.chunkSize, chunkLength(complete, index))
      } catch {
        // Deleted, or no longer readable: the folder looks at it again and stops sharing it if need be.
        this.#closeHandle(complete.path)
        this.#onCompleteFileChanged(digest)
        return undefined
      }
    }
    if (!this.#chunkFiles.get(digest)?.has(index)) return undefined
    try {
      return await readFile(this.layout.chunkPath(digest, index))
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error
      this.#chunkFiles.get(digest)?.delete(index) // deleted behind our back
      return undefined
    }
  }

  async has(digest: string, index: number): Promise<boolean> {
    const complete = this.#complete.get(digest)
    if (complete) return index < complete.chunkCount
    return this.#chunkFiles.get(digest)?.has(index) ?? false
  }

  async delete(digest: string, index: number): Promise<void> {
    if (this.#complete.has(digest)) {
      this.#onCompleteFileChanged(digest)
      return
    }
    await this.#deleteChunkFile(digest, index)
  }

  async indices(digest: string): Promise<number[]> {
    const complete = this.#complete.get(digest)
    if (complete) return Array.from({ length: complete.chunkCount }, (_, index) => index)
    return this.chunkFileIndices(digest)
  }

  /**
   * Deletes a file's chunk files, and the complete file when it is still the one that was hashed (`remove`
   * in the text UI): a file changed or replaced since is someone else's, and stays.
   */
  async deleteFile(digest: string): Promise<void> {
    await this.deleteChunkFiles(digest)
    const complete = this.#complete.get(digest)
    if (!complete) return
    this.clearComplete(digest)
    const now = await stat(complete.path).catch(() => undefined)
    if (now && now.size === complete.size && now.mtimeMs === complete.mtimeMs)
      await removeQuietly(complete.path)
  }

  /** The open handle of a complete file (opened now if need be, the least recently used closed). */
  #handleOf(path: string): Promise<FileHandle> {
    let handle = this.#handles.get(path)
    if (handle) this.#handles.delete(path) // to the end: most recently used
    handle ??= openFile(path, 'r')
    this.#handles.set(path, handle)
    if (this.#handles.size > OPEN_FILES) this.#closeHandle(this.#handles.keys().next().value!)
    return handle
  }

  #closeHandle(path: string): void {
    const handle = this.#handles.get(path)
    this.#handles.delete(path)
    handle?.then((h) => h.close()).catch(() => {})
  }

  async #deleteChunkFile(digest: string, index: number): Promise<void> {
    await removeQuietly(this.layout.chunkPath(digest, index))
    this.#chunkFiles.get(digest)?.delete(index)
  }

  #indexOf(digest: string): Set<number> {
    let indices = this.#chunkFiles.get(digest)
    if (!indices) {
      indices = new Set()
      this.#chunkFiles.set(digest, indices)
    }
    return indices
  }
}

/** `length` bytes of a file from `position`; fewer when the file is shorter now (verification catches it). */
async function readRange(
  handle: FileHandle,
  position: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const buffer = new Uint8Array(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return buffer.subarray(0, filled)
}
