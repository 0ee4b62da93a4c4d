/**
 * Attackers in Node for the hostile-peer end-to-end suite (SPEC §7 "hostile peers"): each is a real tracker
 * connection (the app's TrackerClient over `ws`), and dials over the app's own simple-peer link with
 * @roamhq/wrtc, as a browser would; then it says what a hostile peer says. Its dialling speaks the
 * signalling of both the knock (link-manager.ts) and the offer-first clients before it (it offers anyway
 * when its knock is not answered), so the same attacker measures the code before and after the hardening.
 */
import { randomBytes } from 'node:crypto'
// @roamhq/wrtc is CommonJS whose exports Node cannot list statically: take the default export.
import wrtc from '@roamhq/wrtc'
import WebSocket from 'ws'
import type { AnnouncedFile } from '../../../shared/tracker-protocol.js'
import { type ControlMessage, encodeControl, parseFrame } from '../../../shared/wire-protocol.js'
import { signedSignals } from '../../../web/peer/signal-auth.js'
import {
  type SimplePeerLink,
  type SimplePeerLinkOptions,
  simplePeerLinkFactory,
} from '../../../web/peer/simple-peer-link.js'
import { TrackerClient, type WebSocketLike } from '../../../web/peer/tracker-client.js'
import { nodeIdentity } from '../../support/identities.js'

/** Longest a node waits for the tracker's welcome, and a dial for its link to open. */
const ONLINE_TIMEOUT_MS = 10_000
const DIAL_TIMEOUT_MS = 5_000
/** How long a dial waits for its knock to be answered before it offers anyway (a client without knocks). */
const KNOCK_ANSWER_MS = 300
/** The maxFrameBytes an attacker's hello announces: Chromium's maxMessageSize. */
const FRAME_BYTES = 256 * 1024

const createLink = simplePeerLinkFactory({ wrtc: wrtc as SimplePeerLinkOptions['wrtc'] })

/** What one hostile link saw come back. */
export interface LinkReport {
  /** Error codes the other side sent before it closed the link. */
  errors: string[]
  /** Bytes of chunk frames received. */
  chunkBytes: number
  /** Control messages received, by type. */
  received: Record<string, number>
  /** Whether the other side said hello. */
  helloed: boolean
  closed: boolean
}

/** One link an attacker dialled, with what came back on it. */
export class HostileLink {
  readonly report: LinkReport = { errors: [], chunkBytes: 0, received: {}, helloed: false, closed: false }
  /** Frames this side managed to queue. */
  sent = 0

  constructor(readonly link: SimplePeerLink) {
    link.on('frame', (data) => this.#onFrame(data))
    link.on('close', () => {
      this.report.closed = true
    })
  }

  get closed(): boolean {
    return this.report.closed || this.link.destroyed
  }

  /** Bytes queued on the channel and not yet sent. */
  get bufferedAmount(): number {
    return this.link.bufferedAmount
  }

  /** Queues a frame without waiting on the channel's buffer; false once the link is closed. */
  push(frame: Uint8Array): boolean {
    if (this.closed) return false
    this.link.send(frame).catch(() => {})
    this.sent++
    return true
  }

  control(message: ControlMessage): boolean {
    return this.push(encodeControl(message))
  }

  hello(): boolean {
    return this.control({ type: 'hello', version: 1, maxFrameBytes: FRAME_BYTES })
  }

  close(): void {
    this.link.destroy()
  }

  #onFrame(data: Uint8Array): void {
    const parsed = parseFrame(data)
    if (!parsed.ok) return
    const { frame } = parsed
    if (frame.kind === 'chunk') this.report.chunkBytes += frame.bytes.length
    if (frame.kind !== 'control') return
    const { message } = frame
    this.report.received[message.type] = (this.report.received[message.type] ?? 0) + 1
    if (message.type === 'hello') this.report.helloed = true
    if (message.type === 'error') this.report.errors.push(message.code)
  }
}

/** One hostile tracker connection: one peer id, its own signalling, links it dials. */
export class HostileNode {
  readonly #tracker: TrackerClient
  readonly #links = new Set<SimplePeerLink>()
  readonly #signalHandlers = new Map<string, (data: Record<string, unknown>) => void>()

  /** Its own key: it proves it to the tracker and signs its offers and answers, as an honest peer does. */
  readonly identity = nodeIdentity()
  readonly #auth = signedSignals(this.identity)

  private constructor(trackerUrl: string, holdings: readonly AnnouncedFile[], localAddress?: string) {
    this.#tracker = new TrackerClient({
      url: trackerUrl,
      // ws's WebSocket has the WHATWG addEventListener; its event types differ only in name.
      createSocket: (url) =>
        new WebSocket(url, localAddress === undefined ? {} : { localAddress }) as unknown as WebSocketLike,
      identity: this.identity,
      holdings: () => holdings,
    })
    this.#tracker.onSignal((from, data) => {
      const sid = typeof data.sid === 'string' ? data.sid : ''
      this.#signalHandlers.get(`${from} ${sid}`)?.(data)
    })
  }

  /**
   * A new tracker connection (a new peer id), online; `holdings` is what it announces (default nothing).
   * `localAddress`: the loopback address it connects from (127.0.0.2 and so on: another machine, as the
   * tracker sees it; default the system's choice, 127.0.0.1, the honest browsers' address).
   */
  static async start(
    trackerUrl: string,
    holdings: readonly AnnouncedFile[] = [],
    localAddress?: string,
  ): Promise<HostileNode> {
    const node = new HostileNode(trackerUrl, holdings, localAddress)
    await node.#online()
    return node
  }

  get peerId(): string {
    return this.#tracker.peerId ?? ''
  }

  get tracker(): TrackerClient {
    return this.#tracker
  }

  /**
   * Dials `target` as a browser would: a knock, then (on `accept`, or after KNOCK_ANSWER_MS from a client
   * that does not answer knocks) its connection, offer and candidates. Resolves with the open link, or
   * rejects with why it did not open (declined, timed out).
   */
  async dial(target: string): Promise<HostileLink> {
    const sid = randomBytes(8).toString('hex')
    const key = `${target} ${sid}`
    let link: SimplePeerLink | undefined
    const early: Record<string, unknown>[] = []
    const answered = new Promise<string>((resolve) => {
      setTimeout(() => resolve('no answer'), KNOCK_ANSWER_MS)
      this.#signalHandlers.set(key, (data) => {
        if (data.type === 'accept') resolve('accept')
        if (data.type === 'decline') {
          resolve(`declined: ${String(data.reason)}`)
          link?.destroy(new Error(`declined: ${String(data.reason)}`))
        }
        if (data.type === 'answer' || data.type === 'candidate') {
          if (link) link.signal(data)
          else early.push(data)
        }
      })
    })
    this.#tracker.send(target, { type: 'knock', sid })
    const answer = await answered
    if (answer.startsWith('declined')) {
      this.#signalHandlers.delete(key)
      throw new Error(answer)
    }
    const built = this.#build(target, sid, true)
    link = built
    for (const data of early) built.signal(data)
    const timer = setTimeout(() => built.destroy(new Error('not open in time')), DIAL_TIMEOUT_MS)
    try {
      await built.opened
      return new HostileLink(built)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends `target` a knock and an offer (signed, as honest ones are) that carries no ICE candidate, and nothing more. */
  offerWithoutCandidates(target: string, sdp: string): void {
    const sid = randomBytes(8).toString('hex')
    this.#tracker.send(target, { type: 'knock', sid })
    void this.#signed(target, sid, { type: 'offer', sdp }).then((offer) => this.#tracker.send(target, offer))
  }

  /** `data` with its `sid`, and signed when it is an offer or answer (signal-auth.ts): peers refuse unsigned ones. */
  async #signed(
    remote: string,
    sid: string,
    data: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const { type, sdp } = data
    if ((type !== 'offer' && type !== 'answer') || typeof sdp !== 'string') return { ...data, sid }
    const proof = await this.#auth.sign({ from: this.peerId, to: remote, sid, type, sdp })
    return { ...data, ...proof, sid }
  }

  /** Takes links other peers dial to this node (a fake seeder): each is handed to `serve` once open. */
  answer(serve: (link: HostileLink) => void): void {
    this.#tracker.onSignal((from, data) => {
      const sid = typeof data.sid === 'string' ? data.sid : ''
      if (data.type === 'knock') {
        this.#tracker.send(from, { type: 'accept', sid })
        return
      }
      if (data.type !== 'offer' || this.#signalHandlers.has(`${from} ${sid}`)) return
      const link = this.#build(from, sid, false)
      this.#signalHandlers.set(`${from} ${sid}`, (signal) => {
        if (signal.type === 'candidate') link.signal(signal)
      })
      link.signal(data)
      link.opened.then(
        () => serve(new HostileLink(link)),
        () => {},
      )
    })
  }

  /** Builds one link of attempt `sid` with `remote`, forgotten with its signal handler when it closes. */
  #build(remote: string, sid: string, initiator: boolean): SimplePeerLink {
    // Signals leave in order: candidates wait behind the offer or answer being signed.
    let outbox = Promise.resolve()
    const link = createLink({
      initiator,
      localPeerId: this.peerId,
      remotePeerId: remote,
      iceServers: [],
      sendSignal: (data) => {
        outbox = outbox
          .then(async () => this.#tracker.send(remote, await this.#signed(remote, sid, data)))
          .catch(() => {})
      },
    })
    this.#links.add(link)
    link.on('close', () => {
      this.#links.delete(link)
      this.#signalHandlers.delete(`${remote} ${sid}`)
    })
    return link
  }

  close(): void {
    for (const link of [...this.#links]) link.destroy()
    this.#tracker.destroy()
  }

  #online(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no welcome in ${ONLINE_TIMEOUT_MS} ms`)),
        ONLINE_TIMEOUT_MS,
      )
      const off = this.#tracker.on('status', (status) => {
        if (status.state !== 'online') return
        clearTimeout(timer)
        off()
        resolve()
      })
      this.#tracker.start()
    })
  }
}
