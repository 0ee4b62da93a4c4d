/**
 * Saving a stream as an ordinary download without ever holding it whole (a collection's zip, issue 14): the
 * app's service worker (web/service-worker/sw.js) answers a download URL under its scope with bytes it
 * pulls from this page one chunk at a time over a MessageChannel — the technique of StreamSaver.js. The URL
 * is opened in a hidden frame, so the page stays; the worker marks the response as an attachment, so the
 * browser saves it like any download and shows its progress.
 *
 * Where no worker is active (no service workers, not a secure context, the worker not installed yet on a
 * first visit) or it does not start pulling in time, nothing is read from the stream and `saveStream` says
 * so: the caller falls back to a Blob (which browsers keep on disk when large, but which is whole).
 */
import { sanitizeFileName } from '../storage/file-name.js'
import { SHARE_TARGET_SCOPE } from './share-target.js'

/** Under the worker's scope: `<path><id>/<name>`. Keep in step with the worker. */
export const DOWNLOAD_PATH = `${SHARE_TARGET_SCOPE}/download/`
/** How long the worker may take to take the port, then to start pulling once the frame opens the URL. */
export const START_TIMEOUT_MS = 10_000
/** How often the page nudges the worker while a download streams: browsers stop a worker idle for ~30 s. */
const KEEP_ALIVE_MS = 10_000
/** How long the hidden frame stays after the last byte: the browser may still be writing the file. */
const FRAME_LINGER_MS = 10_000

/** What the worker sends through the port. */
type FromWorker = { type: 'ready' } | { type: 'pull' } | { type: 'cancel' }

/**
 * Saves `stream` as a download named `name` through the worker. Resolves true once the last byte is handed
 * over (or the user cancelled the download in the browser); false, having read nothing, where the worker
 * cannot do it. Rejects when the stream fails mid-way (the browser's download then fails too).
 */
export async function saveStream(
  win: Window,
  stream: ReadableStream<Uint8Array>,
  name: string,
  mime: string,
): Promise<boolean> {
  const worker = await activeWorker(win)
  if (!worker) return false
  const id = win.crypto.randomUUID()
  const { port1: port, port2 } = new MessageChannel()
  const messages = new MessageQueue(port)
  try {
    worker.postMessage({ type: 'stream-download', id, name: sanitizeFileName(name), mime }, [port2])
    if ((await messages.next(START_TIMEOUT_MS))?.type !== 'ready') return abandon(port)
    const frame = win.document.createElement('iframe')
    frame.hidden = true
    frame.title = 'download'
    frame.src = `${DOWNLOAD_PATH}${id}/${encodeURIComponent(sanitizeFileName(name))}`
    win.document.body.append(frame)
    const first = await messages.next(START_TIMEOUT_MS)
    if (first?.type !== 'pull') {
      frame.remove()
      return abandon(port)
    }
    const keepAlive = setInterval(() => worker.postMessage({ type: 'keep-alive' }), KEEP_ALIVE_MS)
    try {
      await pump(stream.getReader(), port, messages, first)
    } finally {
      clearInterval(keepAlive)
      setTimeout(() => frame.remove(), FRAME_LINGER_MS)
    }
    return true
  } finally {
    port.close()
  }
}

/**
 * Gives up on the worker: should it open the URL after all, its stream fails at once instead of waiting for
 * bytes that will never come (messages wait on the port until the worker listens).
 */
function abandon(port: MessagePort): false {
  port.postMessage({ type: 'error', message: 'the page saved this file another way' })
  return false
}

async function activeWorker(win: Window): Promise<ServiceWorker | undefined> {
  const container = win.navigator.serviceWorker
  if (!container || !win.isSecureContext) return undefined
  const registration = await container.getRegistration(SHARE_TARGET_SCOPE).catch(() => undefined)
  return registration?.active ?? undefined
}

/** Answers each pull with the next chunk, until the stream ends, fails, or the download is cancelled. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  port: MessagePort,
  messages: MessageQueue,
  first: FromWorker,
): Promise<void> {
  let message: FromWorker | undefined = first
  while (message?.type === 'pull') {
    let next: ReadableStreamReadResult<Uint8Array>
    try {
      next = await reader.read()
    } catch (error) {
      port.postMessage({ type: 'error', message: String(error) })
      throw error
    }
    if (next.done) {
      port.postMessage({ type: 'done' })
      return
    }
    port.postMessage({ type: 'chunk', chunk: next.value })
    message = await messages.next()
  }
  // Cancelled in the browser: stop reading storage. (A download the user paused in the browser simply
  // pulls again later, however late: no timeout here.)
  await reader.cancel().catch(() => {})
}

/** The port's messages, one at a time, in order; undefined when none came within the wait. */
class MessageQueue {
  readonly #queued: FromWorker[] = []
  #waiting: ((message: FromWorker | undefined) => void) | undefined

  constructor(port: MessagePort) {
    port.onmessage = ({ data }: MessageEvent) => {
      const message = parseMessage(data)
      if (!message) return
      if (this.#waiting) {
        const resolve = this.#waiting
        this.#waiting = undefined
        resolve(message)
      } else this.#queued.push(message)
    }
  }

  next(timeoutMs?: number): Promise<FromWorker | undefined> {
    const queued = this.#queued.shift()
    if (queued) return Promise.resolve(queued)
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#waiting = undefined
              resolve(undefined)
            }, timeoutMs)
      this.#waiting = (message) => {
        clearTimeout(timer)
        resolve(message)
      }
    })
  }
}

function parseMessage(data: unknown): FromWorker | undefined {
  const type = (data as { type?: unknown } | null)?.type
  return type === 'ready' || type === 'pull' || type === 'cancel' ? { type } : undefined
}
