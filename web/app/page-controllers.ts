/**
 * What the app does with the page around it: the tab's title shows download progress ("42% · name"), a
 * polite live region hears what finished, leaving the page while a file is being prepared or served asks
 * first (beforeunload), and pasting files or text shares them privately.
 */
import type { AppServices } from './services.js'
import { type ControllerHost, ServicesController } from './services-controller.js'

/** The page's own title, restored when nothing is in progress. */
export const BASE_TITLE = 'Swarmdrop'
/** The title follows progress this often at most. */
const RETITLE_MS = 500
/** How long a finished download's name stays in the title and the live region. */
const DONE_SHOWN_MS = 8_000

/** Keeps `document.title` on the progress of running downloads, and the latest announcement. */
export class AttentionController extends ServicesController {
  /** The last thing announced (rendered in a polite live region by the host). */
  announcement = ''
  #clearTimer: ReturnType<typeof setTimeout> | undefined
  #retitleTimer: ReturnType<typeof setTimeout> | undefined
  #doneTitle: string | undefined

  constructor(
    host: ControllerHost,
    private readonly doc: Document = host.ownerDocument,
  ) {
    super(host)
  }

  protected subscribe(services: AppServices): (() => void)[] {
    // At most every RETITLE_MS: progress events come many times a second, and the title reads every file.
    const retitle = () => {
      if (this.#retitleTimer !== undefined) return
      this.#retitleTimer = setTimeout(() => {
        this.#retitleTimer = undefined
        this.#retitle(services)
      }, RETITLE_MS)
    }
    return [
      services.engine.on('file', retitle),
      services.on('requests', retitle),
      services.on('announce', ({ text }) => {
        this.announcement = text
        this.#doneTitle = text
        clearTimeout(this.#clearTimer)
        this.#clearTimer = setTimeout(() => {
          this.#doneTitle = undefined
          this.#retitle(services)
        }, DONE_SHOWN_MS)
        this.#retitle(services)
        this.update()
      }),
    ]
  }

  protected override detached(): void {
    clearTimeout(this.#clearTimer)
    clearTimeout(this.#retitleTimer)
    this.#retitleTimer = undefined
    this.doc.title = BASE_TITLE
  }

  #retitle(services: AppServices): void {
    this.doc.title = titleOf(services, this.#doneTitle)
  }
}

/** "42% · name" for one download, "42% · 3 downloads" for several (by bytes), else what just finished. */
export function titleOf(services: AppServices, done: string | undefined): string {
  let here = 0
  let total = 0
  const running: string[] = []
  for (const { record } of services.engine.local.list()) {
    const download = services.engine.swarm.getDownload(record.digest)
    if (download?.state !== 'downloading' || services.isRemoving(record.digest)) continue
    running.push(record.name)
    here += services.engine.local.bytesHere(record.digest)
    total += record.manifest.size
  }
  if (running.length === 0) return done ? `${done} · ${BASE_TITLE}` : BASE_TITLE
  const percent = total > 0 ? Math.floor((here / total) * 100) : 0
  const what = running.length === 1 ? running[0] : `${running.length} downloads`
  return `${percent}% · ${what} · ${BASE_TITLE}`
}

/** Asks before the page is left while leaving would break a share (SPEC §3, issue 14). */
export class LeaveGuardController extends ServicesController {
  readonly #onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (!this.services?.leaveWarning()) return
    event.preventDefault()
    // Older Chromium and Safari show the prompt only when returnValue is set.
    event.returnValue = ''
  }

  readonly #onPageHide = () => this.services?.flushRemovals()

  constructor(
    host: ControllerHost,
    private readonly win: Window = host.ownerDocument.defaultView ?? window,
  ) {
    super(host)
  }

  override hostConnected(): void {
    this.win.addEventListener('beforeunload', this.#onBeforeUnload)
    this.win.addEventListener('pagehide', this.#onPageHide)
  }

  protected subscribe(): (() => void)[] {
    return []
  }

  protected override detached(): void {
    this.win.removeEventListener('beforeunload', this.#onBeforeUnload)
    this.win.removeEventListener('pagehide', this.#onPageHide)
  }
}

/** Pasting files, or text, anywhere on the page (outside a text field) shares them privately. */
export class PasteController extends ServicesController {
  readonly #onPaste = (event: ClipboardEvent) => {
    const services = this.services
    const data = event.clipboardData
    if (!services || !data || isTextField(event.composedPath()[0] ?? event.target)) return
    const files = [...data.files]
    if (files.length === 0) {
      const text = data.getData('text/plain')
      if (!text) return
      files.push(new File([text], 'Pasted text.txt', { type: 'text/plain' }))
    }
    event.preventDefault()
    services.share(files, { private: true })
  }

  override hostConnected(): void {
    this.host.ownerDocument.addEventListener('paste', this.#onPaste)
  }

  protected subscribe(): (() => void)[] {
    return []
  }

  protected override detached(): void {
    this.host.ownerDocument.removeEventListener('paste', this.#onPaste)
  }
}

function isTextField(target: EventTarget | null): boolean {
  const element = (target as Element | null)?.closest?.('input, textarea, [contenteditable]')
  return element !== null && element !== undefined
}
