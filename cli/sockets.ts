/**
 * The tracker's WebSocket in Node (`ws`), and a way to wait for it to close: quitting says goodbye to the
 * tracker (`bye`, then a close handshake), and the process must not exit before that has left.
 */
import WebSocket from 'ws'
import { DEFAULT_TRACKER_LIMITS } from '../shared/limits.js'
import type { WebSocketLike } from '../web/peer/tracker-client.js'

/**
 * Largest message taken from the server: twice what it promises to send at most. `ws` would take 100 MiB,
 * which a hostile server could make this process hold.
 */
const MAX_PAYLOAD_BYTES = 2 * DEFAULT_TRACKER_LIMITS.maxMessageBytes

export class SocketPool {
  readonly #open = new Set<WebSocket>()
  /** Why the last socket failed (`connect ECONNREFUSED …`): the close event says only 1006. */
  lastError: string | undefined

  /** For TrackerClient's `createSocket`. */
  readonly create = (url: string): WebSocketLike => {
    const socket = new WebSocket(url, { maxPayload: MAX_PAYLOAD_BYTES })
    this.#open.add(socket)
    socket.once('close', () => this.#open.delete(socket))
    socket.on('error', (error) => {
      this.lastError = error.message
    })
    socket.once('open', () => {
      this.lastError = undefined
    })
    // ws's WebSocket has the WHATWG addEventListener; only its event types are named differently.
    return socket as unknown as WebSocketLike
  }

  /** Resolves once every socket has closed, or after `timeoutMs` (then they are cut). */
  async closed(timeoutMs: number): Promise<void> {
    const waiting = [...this.#open].map(
      (socket) =>
        new Promise<void>((resolve) =>
          socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()),
        ),
    )
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      Promise.all(waiting),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ])
    clearTimeout(timer)
    for (const socket of this.#open) socket.terminate()
  }
}
