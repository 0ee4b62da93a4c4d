/**
 * Drag and drop over the whole page: while files are dragged over the document the host shows its
 * overlay; dropped files and folders (read recursively, each file keeping its path inside the folder) go
 * to `onFiles`. Listens on the host's document, which is where a drop anywhere on the page lands.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

export class FileDropController implements ReactiveController {
  dragging = false
  #depth = 0
  #document: Document | undefined

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly onFiles: (files: File[]) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    host.addController(this)
  }

  hostConnected(): void {
    this.#document = this.host.ownerDocument
    this.#document.addEventListener('dragenter', this.#onDragEnter)
    this.#document.addEventListener('dragover', this.#onDragOver)
    this.#document.addEventListener('dragleave', this.#onDragLeave)
    this.#document.addEventListener('drop', this.#onDrop)
  }

  hostDisconnected(): void {
    this.#document?.removeEventListener('dragenter', this.#onDragEnter)
    this.#document?.removeEventListener('dragover', this.#onDragOver)
    this.#document?.removeEventListener('dragleave', this.#onDragLeave)
    this.#document?.removeEventListener('drop', this.#onDrop)
    this.#document = undefined
    this.#setDragging(false)
  }

  readonly #onDragEnter = (event: DragEvent) => {
    if (!carriesFiles(event)) return
    event.preventDefault()
    this.#depth++
    this.#setDragging(true)
  }

  readonly #onDragOver = (event: DragEvent) => {
    if (!carriesFiles(event)) return
    event.preventDefault() // without it the browser opens the file instead of dropping it here
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy'
  }

  readonly #onDragLeave = (event: DragEvent) => {
    if (!carriesFiles(event)) return
    this.#depth = Math.max(0, this.#depth - 1)
    if (this.#depth === 0) this.#setDragging(false)
  }

  readonly #onDrop = (event: DragEvent) => {
    if (!carriesFiles(event)) return
    event.preventDefault()
    this.#depth = 0
    this.#setDragging(false)
    const transfer = event.dataTransfer
    if (!transfer) return
    // Entries must be taken while the event runs; reading them may go on afterwards.
    const entries = [...transfer.items]
      .filter((item) => item.kind === 'file')
      .map((item) => item.webkitGetAsEntry?.() ?? null)
    if (entries.length > 0 && entries.every((entry) => entry !== null)) {
      filesOfEntries(entries as FileSystemEntry[]).then(
        (files) => files.length > 0 && this.onFiles(files),
        (error: unknown) => this.onError(error),
      )
    } else {
      const files = [...transfer.files]
      if (files.length > 0) this.onFiles(files)
    }
  }

  #setDragging(dragging: boolean): void {
    if (this.dragging === dragging) return
    this.dragging = dragging
    this.host.requestUpdate()
  }
}

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false
}

/** Every file under the entries, folders read recursively; each keeps its path as its shared name. */
export async function filesOfEntries(entries: readonly FileSystemEntry[]): Promise<File[]> {
  const files: File[] = []
  const visit = async (entry: FileSystemEntry): Promise<void> => {
    if (isFile(entry)) {
      const file = await new Promise<File>((resolve, reject) => entry.file(resolve, reject))
      const path = entry.fullPath.replace(/^\/+/, '')
      if (path.includes('/')) withRelativePath(file, path)
      files.push(file)
    } else if (isDirectory(entry)) {
      for (const child of await readAll(entry.createReader())) await visit(child)
    }
  }
  for (const entry of entries) await visit(entry)
  return files
}

function isFile(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile
}

function isDirectory(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory
}

/** readEntries hands out a folder's entries in batches (100 in Chromium) until it returns none. */
async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = []
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    )
    if (batch.length === 0) return all
    all.push(...batch)
  }
}

/**
 * A file read from a dropped folder has no `webkitRelativePath` (only files from a folder picker do); the
 * ingester shares a file under that path, so the dropped file gets it as its own property.
 */
function withRelativePath(file: File, path: string): void {
  Object.defineProperty(file, 'webkitRelativePath', { value: path, configurable: true })
}
