/**
 * Simulated WebTorrent peers speaking bittorrent-tracker's WebSocket protocol, as its own client does
 * (node_modules/bittorrent-tracker/lib/client/websocket-tracker.js): one socket per tracker shared by
 * every torrent, one `announce` per info_hash, and WebRTC offers and answers carried inside announces.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type WebSocket from 'ws'
import type { RequestsResult } from './commands.js'
import {
  CONNECT_CONCURRENCY,
  dropSockets,
  type LoadClient,
  openSocket,
  REQUEST_CONCURRENCY,
  REQUEST_TIMEOUT_MS,
  type RelayPair,
} from './load-client.js'
import { type RelayRecorder, runBounded, Tally, withTimeout } from './tally.js'
import { fakeSdp, filesOfPeer, isPartial, PoolFiles, partialLeft } from './workload.js'

/** Info hashes and peer ids are 20 bytes sent as a "binary string" (one char per byte), as WebTorrent does. */
const ID_BYTES = 20

/** What the tracker sends a WebSocket peer; only the fields this benchmark reads. */
interface TrackerMessage {
  'failure reason'?: string
  complete?: number
  info_hash?: string
  peer_id?: string
  offer_id?: string
  offer?: { type: string; seq: number; t: number }
  answer?: { type: string; seq: number; t: number }
}

const binaryId = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')
const randomId = () => binaryId(randomBytes(ID_BYTES))

class BittorrentPeer {
  readonly peerId = randomId()
  socket: WebSocket | undefined
  /** One announce per info_hash, built ahead by `prepare`. */
  announces: string[] = []
  onOffer: ((message: TrackerMessage) => void) | undefined
  onAnswer: ((message: TrackerMessage) => void) | undefined
  onOther: (() => void) | undefined
  onFailure: ((reason: string) => void) | undefined
  #awaiting = 0
  #replied: (() => void) | undefined

  async connect(url: string, onPing: () => void): Promise<void> {
    this.socket = await openSocket(url, (text) => this.#onMessage(text), onPing)
  }

  send(message: object | string): void {
    this.socket!.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Sends announces and waits for a reply to each (the tracker answers every announce but an answer). */
  announceAll(announces: readonly string[]): Promise<void> {
    const replied = new Promise<void>((resolve) => {
      this.#awaiting = announces.length
      this.#replied = resolve
    })
    for (const announce of announces) this.send(announce)
    return withTimeout(replied, REQUEST_TIMEOUT_MS, 'announce replies')
  }

  #onMessage(text: string): void {
    const message = JSON.parse(text) as TrackerMessage
    const failure = message['failure reason']
    if (failure !== undefined) this.onFailure?.(failure)
    if (message.offer) return this.onOffer?.(message)
    if (message.answer) return this.onAnswer?.(message)
    if (this.#awaiting > 0) {
      if (--this.#awaiting === 0) this.#replied?.()
      return
    }
    this.onOther?.()
  }
}

export class BittorrentLoad implements LoadClient {
  readonly pairs: RelayPair[] = []
  readonly #peers: { peer: BittorrentPeer; index: number }[] = []
  readonly #relayPeers: BittorrentPeer[] = []
  readonly #sdp = fakeSdp()
  readonly #files = new PoolFiles()
  #failures: Tally | undefined

  constructor(
    private readonly url: string,
    private readonly recorder: RelayRecorder,
  ) {}

  async connect(firstPeer: number, count: number): Promise<RequestsResult> {
    const tally = new Tally()
    const indices = Array.from({ length: count }, (_, i) => firstPeer + i)
    await runBounded(indices, CONNECT_CONCURRENCY, async (index) => {
      const peer = new BittorrentPeer()
      peer.onFailure = (reason) => this.#failures?.error(reason)
      const started = performance.now()
      try {
        await peer.connect(this.url, () => this.recorder.ping())
        tally.succeed(performance.now() - started)
        this.#peers.push({ peer, index })
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    return tally.result()
  }

  prepare(poolSize: number): void {
    for (const { peer, index } of this.#peers) {
      peer.announces = filesOfPeer(index, poolSize).map((fileIndex) => {
        const file = this.#files.get(fileIndex)
        // The first 20 bytes of our digest stand in for the file's SHA-1 info_hash.
        const infoHash = binaryId(Buffer.from(file.digest.slice(0, ID_BYTES * 2), 'hex'))
        // No offers: an idle peer only registers, as Swarmdrop's peers do in the same phase.
        return JSON.stringify({
          action: 'announce',
          info_hash: infoHash,
          peer_id: peer.peerId,
          numwant: 0,
          uploaded: 0,
          downloaded: 0,
          left: isPartial(index, fileIndex) ? partialLeft(file) : 0,
          event: 'started',
          offers: [],
        })
      })
    }
    this.#files.clear()
  }

  async announce(): Promise<RequestsResult> {
    const tally = new Tally()
    this.#failures = tally
    await runBounded(this.#peers, REQUEST_CONCURRENCY, async ({ peer }) => {
      const started = performance.now()
      try {
        await peer.announceAll(peer.announces)
        tally.succeed(performance.now() - started, peer.announces.length)
      } catch (error) {
        tally.fail((error as Error).message)
      }
      peer.announces = []
    })
    this.#failures = undefined
    return tally.result()
  }

  catalog(): Promise<RequestsResult> {
    return Promise.reject(new Error('bittorrent-tracker has no catalog'))
  }

  search(): Promise<RequestsResult> {
    return Promise.reject(new Error('bittorrent-tracker has no search'))
  }

  peers(): Promise<RequestsResult> {
    return Promise.reject(new Error("bittorrent-tracker's WebSocket protocol has no peer list"))
  }

  async relaySetup(pairs: number): Promise<RequestsResult> {
    const tally = new Tally()
    const peers = Array.from({ length: pairs * 2 }, () => new BittorrentPeer())
    await runBounded(peers, CONNECT_CONCURRENCY, async (peer) => {
      const started = performance.now()
      try {
        await peer.connect(this.url, () => this.recorder.ping())
        tally.succeed(performance.now() - started)
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    if (tally.failed > 0) return tally.result()
    this.#relayPeers.push(...peers)
    // Each pair is alone in its own swarm, so the tracker hands the offer to exactly the other peer.
    const pairList = Array.from({ length: pairs }, (_, i) => ({
      offerer: peers[2 * i]!,
      answerer: peers[2 * i + 1]!,
      infoHash: randomId(),
    }))
    await runBounded(pairList, REQUEST_CONCURRENCY, async ({ offerer, answerer, infoHash }) => {
      const join = (peer: BittorrentPeer) =>
        peer.announceAll([
          JSON.stringify({
            action: 'announce',
            info_hash: infoHash,
            peer_id: peer.peerId,
            numwant: 0,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: 'started',
            offers: [],
          }),
        ])
      try {
        await Promise.all([join(offerer), join(answerer)])
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    const recorder = this.recorder
    const sdp = this.#sdp
    for (const { offerer, answerer, infoHash } of pairList) {
      offerer.onAnswer = (message) => recorder.deliver(message.answer!.t)
      answerer.onOffer = (message) => {
        recorder.deliver(message.offer!.t)
        answerer.send({
          action: 'announce',
          info_hash: infoHash,
          peer_id: answerer.peerId,
          to_peer_id: message.peer_id,
          answer: { type: 'answer', sdp, seq: message.offer!.seq, t: performance.now() },
          offer_id: message.offer_id,
        })
      }
      for (const peer of [offerer, answerer]) {
        // The tracker replies to every offer announce with swarm counts: work it does per offer.
        peer.onOther = () => recorder.other()
        peer.onFailure = (reason) => recorder.error(reason)
      }
      this.pairs.push({
        offer: (seq) => {
          offerer.send({
            action: 'announce',
            info_hash: infoHash,
            peer_id: offerer.peerId,
            numwant: 1,
            uploaded: 0,
            downloaded: 0,
            left: 1,
            offers: [
              {
                offer: { type: 'offer', sdp, seq, t: performance.now() },
                offer_id: `${seq}`.padStart(ID_BYTES, '0'),
              },
            ],
          })
        },
      })
    }
    return tally.result()
  }

  close(): void {
    dropSockets([...this.#peers.map(({ peer }) => peer), ...this.#relayPeers].flatMap((p) => p.socket ?? []))
  }
}
