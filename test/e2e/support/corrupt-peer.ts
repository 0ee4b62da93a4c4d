/**
 * A hostile peer in Node: the real tracker client (over `ws`) and link manager (simple-peer over
 * @roamhq/wrtc), announcing that it holds a whole file, and then, speaking the wire protocol through a
 * PeerSession, answering `interested` with `have: all`, `get-manifest` with the file's true manifest (so a
 * download can start from it alone) and every `request` with random bytes of the chunk's length. Browsers
 * must ban it and get the file elsewhere. Every peer of this build speaks the ring (kind 0x10) and an
 * unregistered kind closes the link (UNKNOWN_TYPE), so it takes ring frames and answers none: a peer that
 * is no use to the ring, which is none of this test's business.
 */
import { randomBytes } from 'node:crypto'
// @roamhq/wrtc is CommonJS whose exports Node cannot list statically: take the default export.
import wrtc from '@roamhq/wrtc'
import WebSocket from 'ws'
import { canonicalManifestBytes, chunkLength } from '../../../shared/manifest.js'
import { RING_FRAME_KIND } from '../../../shared/ring-protocol.js'
import { systemClock } from '../../../web/peer/clock.js'
import { LinkManager } from '../../../web/peer/link-manager.js'
import { PeerSession } from '../../../web/peer/peer-session.js'
import { ProtocolRegistrar } from '../../../web/peer/protocol-registrar.js'
import { RING_LINK_BUDGET } from '../../../web/peer/ring/ring-options.js'
import { signedSignals } from '../../../web/peer/signal-auth.js'
import { type SimplePeerLinkOptions, simplePeerLinkFactory } from '../../../web/peer/simple-peer-link.js'
import { TrackerClient, type WebSocketLike } from '../../../web/peer/tracker-client.js'
import { nodeIdentity } from '../../support/identities.js'
import type { SourceFile } from './source-files.js'

/** Longest the peer waits for the tracker's welcome. */
const ONLINE_TIMEOUT_MS = 10_000

export interface CorruptPeerReport {
  /** Requests answered with garbage. */
  garbageChunks: number
  /** Each session's end: the peer id and the error code the other side gave, if any. */
  closed: { peerId: string; code: string | undefined }[]
  /** Error messages received from browsers (`error` control messages), e.g. CHUNK_CORRUPT on a ban. */
  errorsReceived: string[]
}

export class CorruptPeer {
  readonly report: CorruptPeerReport = { garbageChunks: 0, closed: [], errorsReceived: [] }
  readonly #tracker: TrackerClient
  readonly #sessions = new Set<PeerSession>()
  /** The ring's kind, registered with a handler that ignores it. */
  readonly #registrar = new ProtocolRegistrar()
  #links: LinkManager | undefined

  /** Its own key: it proves it to the tracker and signs its offers and answers, as an honest peer does. */
  readonly identity = nodeIdentity()

  private constructor(
    trackerUrl: string,
    private readonly file: SourceFile,
  ) {
    this.#tracker = new TrackerClient({
      url: trackerUrl,
      // ws's WebSocket has the WHATWG addEventListener; its event types differ only in name.
      createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
      identity: this.identity,
      holdings: () => [
        {
          digest: file.digest,
          name: file.name,
          size: file.size,
          chunkSize: file.manifest.chunkSize,
          have: 'all',
        },
      ],
    })
  }

  /** Connects to the tracker, announces the file, and waits for links from browsers. */
  static async start(trackerUrl: string, file: SourceFile): Promise<CorruptPeer> {
    const peer = new CorruptPeer(trackerUrl, file)
    await peer.#online()
    return peer
  }

  get peerId(): string {
    return this.#tracker.peerId ?? ''
  }

  close(): void {
    for (const session of this.#sessions) session.destroy()
    this.#links?.destroy()
    this.#tracker.destroy()
  }

  #online(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the corrupt peer got no welcome in ${ONLINE_TIMEOUT_MS} ms`)),
        ONLINE_TIMEOUT_MS,
      )
      this.#tracker.on('status', (status) => {
        if (status.state !== 'online' || this.#links) return
        clearTimeout(timer)
        this.#links = new LinkManager({
          signalAuth: signedSignals(this.identity),
          peerId: status.peerId,
          signaller: this.#tracker,
          iceServers: status.iceServers,
          createLink: simplePeerLinkFactory({ wrtc: wrtc as SimplePeerLinkOptions['wrtc'] }),
        })
        this.#registrar.handle({
          kind: RING_FRAME_KIND,
          name: 'ring',
          budget: RING_LINK_BUDGET,
          onFrame: () => {},
        })
        this.#links.on('link', (link) =>
          this.#serve(new PeerSession(link, { clock: systemClock, registrar: this.#registrar })),
        )
        resolve()
      })
      this.#tracker.start()
    })
  }

  #serve(session: PeerSession): void {
    const { digest, manifest } = this.file
    this.#sessions.add(session)
    session.on('close', ({ error }) => {
      this.#sessions.delete(session)
      const code = (error as { code?: string } | undefined)?.code
      this.report.closed.push({ peerId: session.peerId, code })
    })
    session.on('control', (message) => {
      switch (message.type) {
        case 'interested':
          if (message.digest !== digest) return
          session
            .send({ type: 'have', digest, chunkCount: manifest.hashes.length, have: 'all' })
            .catch(() => {})
          return
        case 'request': {
          if (message.digest !== digest || message.index >= manifest.hashes.length) {
            session.send({ type: 'reject', id: message.id, reason: 'not-held' }).catch(() => {})
            return
          }
          const garbage = new Uint8Array(randomBytes(chunkLength(manifest, message.index)))
          this.report.garbageChunks += 1
          session.sendChunk(message.id, garbage).catch(() => {})
          return
        }
        case 'get-manifest':
          if (message.digest !== digest) {
            session.send({ type: 'reject', id: message.id, reason: 'not-held' }).catch(() => {})
            return
          }
          session.sendManifest(message.id, canonicalManifestBytes(manifest)).catch(() => {})
          return
        case 'error':
          this.report.errorsReceived.push(`${message.code}: ${message.message}`)
          return
        default:
          return // have, have-chunk, cancel, not-interested, reject: nothing to do for a liar
      }
    })
  }
}
