/**
 * "Download all" of a collection: one `.zip` streamed by client-zip (stored, not compressed: files shared
 * are mostly compressed already, and storing keeps it a stream), its entries read chunk by chunk from
 * storage (and opened chunk by chunk for private shares), so the archive is never whole in JS memory. Saved
 * as an ordinary download streamed through the app's service worker (stream-download.ts), or, where no
 * worker can, collected into a Blob (which the browser keeps on disk when large, but whole); or written file
 * by file into a folder the user picks, where the browser has the File System Access API.
 */
import { makeZip } from 'client-zip'
import type { ChunkStore } from '../storage/chunk-store.js'
import { sanitizeFileName } from '../storage/file-name.js'
import type { StoredFile } from '../storage/file-store.js'
import { fileParts, type WritableFile, writeFileTo } from '../storage/give-back.js'
import { saveBlob } from './save.js'
import { saveStream } from './stream-download.js'

export interface ZipEntry {
  /** The member's path inside the collection, as its sharer gave it (untrusted). */
  path: string
  record: StoredFile
}

/**
 * A path safe inside an archive or a folder: every segment a safe file name, no empty, `.` or `..`
 * segment, so nothing lands outside where it is unpacked (zip slip), and a path already used gets a
 * ` (2)` before its extension.
 */
export function safePaths(paths: readonly string[]): string[] {
  const used = new Set<string>()
  return paths.map((path) => {
    const segments = path
      .split(/[/\\]+/)
      .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
      .map((segment) => sanitizeFileName(segment))
    const safe = segments.length > 0 ? segments.join('/') : 'file'
    let candidate = safe
    for (let n = 2; used.has(candidate.toLowerCase()); n++) {
      const slash = safe.lastIndexOf('/')
      const dot = safe.lastIndexOf('.')
      candidate = dot > slash + 1 ? `${safe.slice(0, dot)} (${n})${safe.slice(dot)}` : `${safe} (${n})`
    }
    used.add(candidate.toLowerCase())
    return candidate
  })
}

/** The archive as a stream: entries produced one after another, each read as it is written. */
export function zipStream(chunks: ChunkStore, entries: readonly ZipEntry[]): ReadableStream<Uint8Array> {
  const paths = safePaths(entries.map((entry) => entry.path))
  return makeZip(
    (async function* () {
      for (const [index, { record }] of entries.entries()) {
        yield {
          name: paths[index]!,
          lastModified: new Date(record.addedAtMs),
          input: bytesOf(fileParts(chunks, record)),
          // A private member's size is only known once its first chunk is opened; client-zip then
          // writes it after the data, as it does for any stream.
          ...(record.sealed ? {} : { size: record.manifest.size }),
        }
      }
    })(),
    { buffersAreUTF8: true },
  )
}

/**
 * The parts as bytes, one chunk at a time: client-zip reads an iterable of buffers, not of Blobs (a Blob
 * in it is silently taken as empty), and one chunk in memory at a time keeps memory flat.
 */
async function* bytesOf(parts: AsyncIterable<Blob>): AsyncGenerator<Uint8Array> {
  for await (const part of parts) yield new Uint8Array(await part.arrayBuffer())
}

/**
 * Saves the archive through an ordinary download named `<name>.zip`: streamed through the service worker
 * when `win` has one active, else as a Blob. Resolves with how it went.
 */
export async function saveZip(
  chunks: ChunkStore,
  name: string,
  entries: readonly ZipEntry[],
  win?: Window,
): Promise<'streamed' | 'blob'> {
  const fileName = `${name}.zip`
  if (win) {
    const stream = zipStream(chunks, entries)
    if (await saveStream(win, stream, fileName, 'application/zip')) return 'streamed'
    await stream.cancel().catch(() => {}) // never read: nothing to undo
  }
  const blob = await new Response(zipStream(chunks, entries)).blob()
  saveBlob(new Blob([blob], { type: 'application/zip' }), fileName)
  return 'blob'
}

interface DirectoryHandle {
  getDirectoryHandle(name: string, options: { create: true }): Promise<DirectoryHandle>
  getFileHandle(name: string, options: { create: true }): Promise<{ createWritable(): Promise<WritableFile> }>
}

interface DirectoryPickerWindow {
  showDirectoryPicker(options?: { mode: 'readwrite' }): Promise<DirectoryHandle>
}

function hasDirectoryPicker(win: unknown): win is DirectoryPickerWindow {
  return typeof (win as Partial<DirectoryPickerWindow>)?.showDirectoryPicker === 'function'
}

/**
 * "Save all to a folder…" of this browser: each member written into a folder the user picks, under its
 * path (sub-folders made as needed), streamed chunk by chunk; undefined where the browser has no picker.
 */
export function folderSaverFor(
  chunks: ChunkStore,
  win: unknown = globalThis,
): ((name: string, entries: readonly ZipEntry[]) => Promise<void>) | undefined {
  if (!hasDirectoryPicker(win)) return undefined
  return async (name, entries) => {
    const root = await win.showDirectoryPicker({ mode: 'readwrite' })
    const top = await root.getDirectoryHandle(sanitizeFileName(name), { create: true })
    const paths = safePaths(entries.map((entry) => entry.path))
    for (const [index, { record }] of entries.entries()) {
      const segments = paths[index]!.split('/')
      let folder = top
      for (const segment of segments.slice(0, -1))
        folder = await folder.getDirectoryHandle(segment, { create: true })
      const handle = await folder.getFileHandle(segments.at(-1)!, { create: true })
      await writeFileTo(chunks, record, await handle.createWritable())
    }
  }
}
