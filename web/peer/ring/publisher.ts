/**
 * This node's own records: it signs a provider record for each file it holds and a name record under each
 * token of the file's name, puts each under its key, and republishes before they expire for as long as it
 * holds the file (DHT.md: providers every 10 minutes for 20, names every 12 hours for 24). Puts leave at
 * a steady pace so that no hop on the way rate-limits a node that shares many files at once.
 */
import {
  type NameRecord,
  nameKeyInput,
  nameTokens,
  type ProviderRecord,
  providerKeyInput,
  recordSignedBytes,
  type SignedRecord,
  type UnsignedRecord,
} from '../../../shared/ring-records.js'
import type { Clock } from '../clock.js'
import { keyOf } from './record-check.js'
import type { RingCrypto, RingSigner } from './ring-crypto.js'
import type { ResolvedRingOptions } from './ring-options.js'

/** How one put went: stored by a replica (after `ms`), or not. */
export interface PutReport {
  key: string
  record: SignedRecord
  stored: boolean
  ms: number
}

export interface PublisherHost {
  readonly signer: RingSigner
  readonly crypto: RingCrypto
  readonly clock: Clock
  readonly options: ResolvedRingOptions
  /** Routes a put of `records` under `key`, with retries; resolves when a replica stored it, or gave up. */
  put(key: string, records: SignedRecord[]): Promise<boolean>
}

interface Published {
  timer: unknown
}

export class Publisher {
  readonly #host: PublisherHost
  /** Files this node republishes, by digest and kind. */
  readonly #published = new Map<string, Published>()
  /** Puts waiting for their turn. */
  readonly #queue: (() => void)[] = []
  #pacer: unknown = null
  #destroyed = false

  constructor(host: PublisherHost) {
    this.#host = host
  }

  /** Publishes (and keeps republishing) that this node holds `chunks` chunks of `digest`. */
  async provide(digest: string, chunks: number): Promise<PutReport[]> {
    const host = this.#host
    const make = (issuedAt: number): Omit<ProviderRecord, 'signature'> => ({
      kind: 'provider',
      publisher: host.signer.publicKey,
      digest,
      chunks,
      issuedAt,
      expiresAt: issuedAt + host.options.providerTtlS,
    })
    const key = await keyOf(providerKeyInput(digest), host.crypto)
    return this.#publish(`provider:${digest}`, make, [key], host.options.providerRepublishMs)
  }

  /** Publishes (and keeps republishing) a name record of `digest` under each token of `name`. */
  async name(digest: string, name: string, size: number, chunkCount: number): Promise<PutReport[]> {
    const host = this.#host
    const make = (issuedAt: number): Omit<NameRecord, 'signature'> => ({
      kind: 'name',
      publisher: host.signer.publicKey,
      digest,
      name,
      size,
      chunkCount,
      issuedAt,
      expiresAt: issuedAt + host.options.nameTtlS,
    })
    const keys = await Promise.all(nameTokens(name).map((token) => keyOf(nameKeyInput(token), host.crypto)))
    return this.#publish(`name:${digest}`, make, keys, host.options.nameRepublishMs)
  }

  /** Stops republishing what this node published about `digest`; its records expire on their own. */
  withdraw(digest: string): void {
    for (const slot of [`provider:${digest}`, `name:${digest}`]) {
      const published = this.#published.get(slot)
      if (published) this.#host.clock.clearTimeout(published.timer)
      this.#published.delete(slot)
    }
  }

  destroy(): void {
    this.#destroyed = true
    for (const published of this.#published.values()) this.#host.clock.clearTimeout(published.timer)
    this.#published.clear()
    if (this.#pacer !== null) this.#host.clock.clearTimeout(this.#pacer)
    this.#queue.length = 0
  }

  async #publish(
    slot: string,
    make: (issuedAt: number) => UnsignedRecord,
    keys: string[],
    republishMs: number,
  ): Promise<PutReport[]> {
    const host = this.#host
    const previous = this.#published.get(slot)
    if (previous) host.clock.clearTimeout(previous.timer)
    const published: Published = { timer: null }
    this.#published.set(slot, published)
    published.timer = host.clock.setTimeout(() => {
      if (this.#published.get(slot) === published) void this.#publish(slot, make, keys, republishMs)
    }, republishMs)
    const unsigned = make(Math.floor(host.clock.now() / 1000))
    const signature = await host.signer.sign(recordSignedBytes(unsigned))
    const record = { ...unsigned, signature } as SignedRecord
    return Promise.all(keys.map((key) => this.#paced(() => this.#putOne(key, record))))
  }

  async #putOne(key: string, record: SignedRecord): Promise<PutReport> {
    const started = this.#host.clock.now()
    const stored = this.#destroyed ? false : await this.#host.put(key, [record])
    return { key, record, stored, ms: this.#host.clock.now() - started }
  }

  /** Runs `task` when its turn comes: at most `publishPerSecond` start a second. */
  #paced<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => void task().then(resolve, reject))
      if (this.#pacer === null) this.#drain()
    })
  }

  #drain(): void {
    this.#pacer = null
    if (this.#destroyed) return
    const next = this.#queue.shift()
    if (!next) return
    next()
    this.#pacer = this.#host.clock.setTimeout(() => this.#drain(), 1000 / this.#host.options.publishPerSecond)
  }
}
