/** Simulated browsers speaking Swarmdrop's tracker protocol (shared/tracker-protocol.ts). */
import { performance } from 'node:perf_hooks'
import type WebSocket from 'ws'
import type {
  AnnouncedFile,
  ClientMessage,
  ServerMessage,
  ServerMessageOf,
} from '../../shared/tracker-protocol.js'
import { helloAnswer, nodeIdentity } from '../../test/support/identities.js'
import type { RequestsResult } from './commands.js'
import {
  CONNECT_CONCURRENCY,
  CONNECT_TIMEOUT_MS,
  dropSockets,
  type LoadClient,
  loopbackAddressOf,
  openSocket,
  REQUEST_CONCURRENCY,
  REQUEST_TIMEOUT_MS,
  type RelayPair,
} from './load-client.js'
import { type RelayRecorder, runBounded, Tally, withTimeout } from './tally.js'
import { fakeSdp, filesOfPeer, isPartial, PoolFiles, partialHave } from './workload.js'

/** Catalog page each peer fetches: the client's default page (shared/limits.ts DEFAULT_CATALOG_PAGE_SIZE). */
const CATALOG_PAGE = 50
/** Searches run one after another per lane: they scan the catalog, so a few lanes show the cost. */
const SEARCH_CONCURRENCY = 4
/** A prime stride, so the searched names spread over the pool instead of following the peers' own files. */
const SEARCH_STRIDE = 7919

type Request = ClientMessage & { ref?: string }

class SwarmdropPeer {
  peerId = ''
  socket: WebSocket | undefined
  /** The announce, built ahead by `prepare`. */
  announce = ''
  /** A digest this peer holds, asked about in the `peers` phase. */
  ownDigest = ''
  /** A file name fragment this peer searches the catalog for. */
  search = ''
  onSignal: ((message: ServerMessageOf<'signal'>) => void) | undefined
  onStrayError: ((code: string) => void) | undefined
  readonly #pending = new Map<string, (reply: ServerMessage) => void>()
  #nextRef = 0
  #welcomed: ((peerId: string) => void) | undefined
  /** Its key, proven in the hello each connection starts with. */
  readonly #identity = nodeIdentity()

  constructor(
    readonly index: number,
    /** The loopback address it connects from (load-client.ts loopbackAddressOf). */
    readonly address: string,
  ) {}

  async connect(url: string, onPing: () => void): Promise<void> {
    const welcome = new Promise<string>((resolve) => {
      this.#welcomed = resolve
    })
    // The challenge may come before the socket is handed back: its hello waits for it.
    let hello: string | undefined
    const onMessage = (text: string) => {
      const answer = helloAnswer(this.#identity, text, url)
      if (answer === undefined) this.#onMessage(text)
      else if (this.socket) this.socket.send(answer)
      else hello = answer
    }
    this.socket = await openSocket(url, onMessage, onPing, this.address)
    if (hello !== undefined) this.socket.send(hello)
    this.peerId = await withTimeout(welcome, CONNECT_TIMEOUT_MS, 'welcome')
  }

  send(message: ClientMessage | string): void {
    this.socket!.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Sends a message with a fresh `ref` (or a prebuilt text carrying `ref`) and waits for its reply. */
  request(message: Request | ((ref: string) => string)): Promise<ServerMessage> {
    const ref = `r${++this.#nextRef}`
    const reply = new Promise<ServerMessage>((resolve) => this.#pending.set(ref, resolve))
    this.send(typeof message === 'function' ? message(ref) : ({ ...message, ref } as ClientMessage))
    return withTimeout(reply, REQUEST_TIMEOUT_MS, `reply ${ref}`).finally(() => this.#pending.delete(ref))
  }

  #onMessage(text: string): void {
    // Trusted, not validated: checking every reply with zod would make the generator, not the server,
    // the bottleneck. The server's own tests check what it sends.
    const message = JSON.parse(text) as ServerMessage
    switch (message.type) {
      case 'welcome':
        this.#welcomed?.(message.peerId)
        return
      case 'signal':
        this.onSignal?.(message)
        return
      default: {
        const ref = 'ref' in message ? message.ref : undefined
        const resolve = ref === undefined ? undefined : this.#pending.get(ref)
        if (resolve) {
          this.#pending.delete(ref!)
          resolve(message)
        } else if (message.type === 'error') {
          this.onStrayError?.(message.code)
        }
      }
    }
  }
}

export class SwarmdropLoad implements LoadClient {
  readonly pairs: RelayPair[] = []
  readonly #peers: SwarmdropPeer[] = []
  readonly #relayPeers: SwarmdropPeer[] = []
  readonly #files = new PoolFiles()
  readonly #sdp = fakeSdp()

  constructor(
    /** One per instance: peer i connects to `urls[i % urls.length]`, a relay pair's two ends to two in a row. */
    private readonly urls: readonly string[],
    private readonly recorder: RelayRecorder,
    /** Which worker this is: its relay peers come from addresses of their own. */
    private readonly workerIndex: number,
  ) {}

  async connect(firstPeer: number, count: number): Promise<RequestsResult> {
    const tally = new Tally()
    const peers = Array.from(
      { length: count },
      (_, i) => new SwarmdropPeer(firstPeer + i, loopbackAddressOf(1, firstPeer + i)),
    )
    await runBounded(peers, CONNECT_CONCURRENCY, async (peer) => {
      const started = performance.now()
      try {
        await peer.connect(this.#urlOf(peer.index), () => this.recorder.ping())
        tally.succeed(performance.now() - started)
        this.#peers.push(peer)
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    return tally.result()
  }

  prepare(poolSize: number): void {
    for (const peer of this.#peers) {
      const files: AnnouncedFile[] = filesOfPeer(peer.index, poolSize).map((index) => {
        const file = this.#files.get(index)
        const have = isPartial(peer.index, index) ? partialHave(file) : 'all'
        return { digest: file.digest, name: file.name, size: file.size, chunkSize: file.chunkSize, have }
      })
      // The ref goes last, so the prebuilt text only needs it appended.
      peer.announce = JSON.stringify({ type: 'announce', files }).slice(0, -1)
      peer.ownDigest = files[0]!.digest
      // Another peer's file, spread over the pool; the name without its extension, as a person types it.
      peer.search = this.#files.get((peer.index * SEARCH_STRIDE) % poolSize).name.slice(0, -'.bin'.length)
    }
    this.#files.clear()
  }

  announce(): Promise<RequestsResult> {
    return this.#eachPeer(REQUEST_CONCURRENCY, this.#peers, async (peer) => {
      const reply = await peer.request((ref) => `${peer.announce},"ref":"${ref}"}`)
      return reply.type === 'ack' ? 0 : reply.type === 'error' ? reply.code : `unexpected ${reply.type}`
    })
  }

  catalog(): Promise<RequestsResult> {
    return this.#eachPeer(REQUEST_CONCURRENCY, this.#peers, async (peer) => {
      const reply = await peer.request({ type: 'catalog', limit: CATALOG_PAGE })
      return reply.type === 'catalog' ? reply.files.length : reply.type
    })
  }

  search(count: number): Promise<RequestsResult> {
    const peers = this.#peers.slice(0, count)
    return this.#eachPeer(SEARCH_CONCURRENCY, peers, async (peer) => {
      const reply = await peer.request({ type: 'catalog', query: peer.search, limit: CATALOG_PAGE })
      return reply.type === 'catalog' ? reply.total : reply.type
    })
  }

  peers(): Promise<RequestsResult> {
    return this.#eachPeer(REQUEST_CONCURRENCY, this.#peers, async (peer) => {
      const reply = await peer.request({ type: 'peers', digest: peer.ownDigest })
      return reply.type === 'peers' ? reply.peers.length : reply.type === 'error' ? reply.code : reply.type
    })
  }

  async relaySetup(pairs: number): Promise<RequestsResult> {
    const tally = new Tally()
    const peers = Array.from(
      { length: pairs * 2 },
      (_, i) => new SwarmdropPeer(-1 - i, loopbackAddressOf(2 + this.workerIndex, i)),
    )
    // Pair k's offerer on instance k + w, its answerer on the next one: with several instances every
    // offer and answer crosses from one instance to another (through Redis).
    const urlOf = (i: number) => this.#urlOf((i >> 1) + this.workerIndex + (i & 1))
    await runBounded(peers, CONNECT_CONCURRENCY, async (peer) => {
      const started = performance.now()
      try {
        await peer.connect(urlOf(-1 - peer.index), () => this.recorder.ping())
        tally.succeed(performance.now() - started)
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    if (tally.failed > 0) return tally.result()
    this.#relayPeers.push(...peers)
    const recorder = this.recorder
    const sdp = this.#sdp
    for (let i = 0; i < peers.length; i += 2) {
      const offerer = peers[i]!
      const answerer = peers[i + 1]!
      offerer.onSignal = (message) => {
        if (message.data.type === 'answer') recorder.deliver(message.data.t as number)
      }
      answerer.onSignal = (message) => {
        if (message.data.type !== 'offer') return
        recorder.deliver(message.data.t as number)
        const data = { type: 'answer', sdp, seq: message.data.seq, t: performance.now() }
        answerer.send({ type: 'signal', to: message.from, data })
      }
      for (const peer of [offerer, answerer]) peer.onStrayError = (code) => recorder.error(code)
      this.pairs.push({
        offer: (seq) => {
          const data = { type: 'offer', sdp, seq, t: performance.now() }
          offerer.send({ type: 'signal', to: answerer.peerId, data })
        },
      })
    }
    return tally.result()
  }

  #urlOf(index: number): string {
    return this.urls[index % this.urls.length]!
  }

  close(): void {
    dropSockets([...this.#peers, ...this.#relayPeers].flatMap((peer) => peer.socket ?? []))
  }

  /**
   * Runs one request per peer. `ask` returns a number (items in the reply, for the mean) on success, or
   * a string naming the error.
   */
  async #eachPeer(
    concurrency: number,
    peers: readonly SwarmdropPeer[],
    ask: (peer: SwarmdropPeer) => Promise<number | string>,
  ): Promise<RequestsResult> {
    const tally = new Tally()
    await runBounded(peers, concurrency, async (peer) => {
      const started = performance.now()
      try {
        const outcome = await ask(peer)
        if (typeof outcome === 'number') tally.succeed(performance.now() - started, outcome)
        else tally.fail(outcome)
      } catch (error) {
        tally.fail((error as Error).message)
      }
    })
    return tally.result()
  }
}
