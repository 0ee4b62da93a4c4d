/** A WebSocket client for tests: speaks the tracker protocol and lets a test await replies by type or ref. */
import WebSocket from 'ws'
import { fromHex, toHex } from '../../shared/encoding.js'
import { helloHostOf, helloSignedBytes } from '../../shared/identity-proof.js'
import {
  parseServerMessage,
  type ServerMessage,
  type ServerMessageOf,
} from '../../shared/tracker-protocol.js'
import type { Identity } from '../../web/peer/identity.js'
import { nodeIdentity } from './identities.js'

/** Longest a test waits for one expected message before failing with what it did receive. */
const REPLY_TIMEOUT_MS = 5000

export class TestClient {
  readonly received: ServerMessage[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = []
  #nextRef = 0

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const parsed = parseServerMessage(data.toString())
      if (!parsed.ok)
        throw new Error(`server sent an invalid message: ${parsed.error.message}: ${data.toString()}`)
      this.received.push(parsed.message)
      const waiter = this.#waiters.find((w) => w.match(parsed.message))
      if (waiter) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        waiter.resolve(parsed.message)
      }
    })
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
  }

  /** Connects, answers the challenge with a signed hello (a fresh identity unless given), waits for the welcome. */
  static async connect(
    url: string,
    options: WebSocket.ClientOptions = {},
    identity: Identity = nodeIdentity(),
  ): Promise<TestClient & { peerId: string; identity: Identity }> {
    const client = TestClient.open(url, options)
    // The proof names the host the tracker sees: the Host header when the test sets one.
    const host = (options.headers as Record<string, string> | undefined)?.host
    await client.hello(identity, host === undefined ? url : `ws://${host}/`)
    const welcome = await client.next('welcome')
    return Object.assign(client, { peerId: welcome.peerId, identity })
  }

  /** Connects and goes no further: the challenge is the test's to answer (or not). */
  static open(url: string, options: WebSocket.ClientOptions = {}): TestClient {
    return new TestClient(new WebSocket(url, options))
  }

  /** Waits for the challenge and answers it with `identity`'s hello for the tracker at `url`. */
  async hello(identity: Identity, url: string): Promise<ServerMessageOf<'challenge'>> {
    const challenge = await this.next('challenge')
    const signature = await identity.sign(helloSignedBytes(fromHex(challenge.nonce), helloHostOf(url)))
    this.send({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
    return challenge
  }

  get welcome(): ServerMessageOf<'welcome'> {
    return this.received.find((m): m is ServerMessageOf<'welcome'> => m.type === 'welcome')!
  }

  newRef(): string {
    return `r${++this.#nextRef}`
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** The next message of `type` (already received and not yet taken, or still to come). */
  next<K extends ServerMessage['type']>(type: K): Promise<ServerMessageOf<K>> {
    return this.#take((m) => m.type === type) as Promise<ServerMessageOf<K>>
  }

  /** Sends a message with a fresh ref and resolves with the final reply to it (`ack`, `error` or the answer). */
  async request(message: Record<string, unknown>): Promise<ServerMessage> {
    const ref = this.newRef()
    this.send({ ...message, ref })
    return this.#take((m) => 'ref' in m && m.ref === ref && !(m.type === 'error' && m.digest !== undefined))
  }

  /** All `error` replies carrying `ref` received so far. */
  errorsFor(ref: string): ServerMessageOf<'error'>[] {
    return this.received.filter((m): m is ServerMessageOf<'error'> => m.type === 'error' && m.ref === ref)
  }

  close(): void {
    this.socket.close()
  }

  #take(match: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    const taken = new Set(this.#taken)
    const index = this.received.findIndex((m) => !taken.has(m) && match(m))
    if (index >= 0) {
      this.#taken.push(this.received[index]!)
      return Promise.resolve(this.received[index]!)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no matching message in ${REPLY_TIMEOUT_MS} ms; received: ${JSON.stringify(this.received).slice(-2000)}`,
          ),
        )
      }, REPLY_TIMEOUT_MS)
      this.#waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer)
          this.#taken.push(m)
          resolve(m)
        },
      })
    })
  }

  #taken: ServerMessage[] = []
}
