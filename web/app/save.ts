/**
 * Saving a complete file (SPEC §2): a Blob assembled from the stored, verified chunks, handed to an
 * `a[download]` with the sanitised name and clicked, so that browsers and scripts see an ordinary
 * download. A "save to…" through the File System Access API is offered beside it where the browser has one.
 */
import type { ChunkStore } from '../storage/chunk-store.js'
import { sanitizeFileName } from '../storage/file-name.js'
import type { StoredFile } from '../storage/file-store.js'
import { assembleFile, type WritableFile, writeFileTo } from '../storage/give-back.js'

/**
 * How long a saved Blob's URL lives. Chromium and Firefox take hold of the Blob when the download starts,
 * so revoking later frees memory without cutting the download short.
 */
export const REVOKE_URL_AFTER_MS = 60_000

/** Hands a Blob to the browser as a download named `name` (sanitised: it may come from a peer). */
export function saveBlob(blob: Blob, name: string, doc: Document = document): void {
  const url = URL.createObjectURL(blob)
  const link = doc.createElement('a')
  link.href = url
  link.download = sanitizeFileName(name)
  link.rel = 'noopener'
  link.hidden = true
  doc.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_URL_AFTER_MS)
}

/** Saves a complete file through a normal browser download. */
export async function saveToDownloads(chunks: ChunkStore, record: StoredFile): Promise<void> {
  saveBlob(await assembleFile(chunks, record), record.name)
}

interface SaveFilePickerWindow {
  showSaveFilePicker(options: { suggestedName: string }): Promise<{ createWritable(): Promise<WritableFile> }>
}

function hasSavePicker(win: unknown): win is SaveFilePickerWindow {
  return typeof (win as Partial<SaveFilePickerWindow>)?.showSaveFilePicker === 'function'
}

/** The "save to…" of this browser, streaming chunk by chunk to the picked file; undefined where there is none. */
export function savePickerFor(
  chunks: ChunkStore,
  win: unknown = globalThis,
): ((record: StoredFile) => Promise<void>) | undefined {
  if (!hasSavePicker(win)) return undefined
  return async (record) => {
    const handle = await win.showSaveFilePicker({ suggestedName: sanitizeFileName(record.name) })
    await writeFileTo(chunks, record, await handle.createWritable())
  }
}
