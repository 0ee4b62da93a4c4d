/**
 * Records on their replicas (DHT.md, "Records"): a record lives on the first k successors of its key.
 * The owner (the first) stores a put and pushes it down the chain of successors; when the replica set of a
 * range changes, only the node that owns the range pushes, and only to the members new to it:
 *
 * - a node joins between its predecessor and this node: this node hands it the keys it now owns;
 * - a new node appears among this node's first k − 1 successors: this node pushes the range it owns to it
 *   (so a joiner gets, from its k − 1 predecessors, exactly the ranges it became a replica of);
 * - this node's predecessor leaves: it now owns the leaver's range too, and pushes that to the one
 *   successor that became its k-th replica.
 *
 * So a join or a leave moves only the keys between the node and its neighbours (the simulator counts
 * them). A node drops records whose key left its replica range (it knows its k predecessors) once they have
 * been out of it for a grace period, since a range comes back when a neighbour's leave was a glitch.
 */

import { toHex } from '../../../shared/encoding.js'
import type { RingErrorCode, RingMessageOf, RouteResult } from '../../../shared/ring-protocol.js'
import { REPLICATE_OVERHEAD_BYTES, recordsThatFit } from '../../../shared/ring-protocol.js'
import type { SignedRecord } from '../../../shared/ring-records.js'
import { between, betweenRightIncl } from './ids.js'
import type { LinkTable } from './link-table.js'
import { checkRecord } from './record-check.js'
import type { RecordStore } from './record-store.js'
import type { RingCrypto } from './ring-crypto.js'
import type { ResolvedRingOptions } from './ring-options.js'

export type StoredVia = 'put' | 'replicate'

/** How long a push is remembered, so its second copy is not passed on again. */
const SEEN_MS = 30_000
const MAX_SEEN = 8_192

export interface ReplicatorHost {
  readonly selfId: string
  readonly options: ResolvedRingOptions
  readonly crypto: RingCrypto
  readonly store: RecordStore
  readonly links: LinkTable
  nowMs(): number
  successors(): readonly string[]
  predecessor(): string | null
  /** This node's predecessors, nearest first (up to k). */
  predecessors(): readonly string[]
  /** This node's position among the key's replicas (0: the owner), or -1. */
  replicaIndex(key: string): number
  send(peerId: string, message: RingMessageOf<'replicate'>): void
  /** A record this node did not hold is now stored here. */
  recordStored(key: string, record: SignedRecord, via: StoredVia): void
}

export class Replicator {
  readonly #host: ReplicatorHost
  /** Keys found outside this node's replica range, and since when. */
  readonly #outOfRange = new Map<string, number>()
  /** Pushes passed on lately (key, first signature, remaining), until when. */
  readonly #seen = new Map<string, number>()
  /** Where the range this node owns began when it last looked: (ownedFrom, self]. */
  #ownedFrom: string | null = null

  constructor(host: ReplicatorHost) {
    this.#host = host
  }

  /** A put routed to this node: checked, stored, and pushed down the chain of replicas. */
  async onPut(key: string, records: SignedRecord[]): Promise<RouteResult> {
    const { stored, held, problem } = await this.#storeChecked(key, records, 'put')
    if (stored.length > 0) {
      const index = Math.max(0, this.#host.replicaIndex(key))
      this.#pushChain(key, stored, this.#host.options.replicas - 2 - index)
    }
    if (held === 0 && problem) return { op: 'failed', code: problem }
    // A record this node already held counts: a retried put whose first answer got lost is done too.
    return { op: 'stored', stored: held }
  }

  /** Records pushed by a neighbour: checked, stored, and passed on while the chain goes on. */
  async onReplicate(message: RingMessageOf<'replicate'>): Promise<void> {
    // Each push reaches a node up to three times (from the three nodes before it); the later copies are
    // stored (a no-op) but not passed on again.
    const first = message.records[0]!
    const seenKey = `${message.key}:${toHex(first.signature)}:${message.remaining}`
    const now = this.#host.nowMs()
    const seen = (this.#seen.get(seenKey) ?? 0) > now
    if (!seen) {
      if (this.#seen.size >= MAX_SEEN) this.#seen.delete(this.#seen.keys().next().value!)
      this.#seen.set(seenKey, now + SEEN_MS)
    }
    await this.#storeChecked(message.key, message.records, 'replicate')
    if (!seen && message.remaining > 0) this.#pushChain(message.key, message.records, message.remaining - 1)
  }

  /**
   * This node's neighbours changed (its successors were `before`): hands a joined predecessor the keys it
   * now owns, pushes a range this node took over from a predecessor that left, and pushes the range it
   * owns to successors new to its replica set.
   */
  onNeighboursChanged(before: readonly string[]): void {
    const host = this.#host
    const self = host.selfId
    const k = host.options.replicas
    const pred = host.predecessor()
    const from = pred ?? host.predecessors()[0] ?? null
    const last = this.#ownedFrom
    if (from !== null) this.#ownedFrom = from
    if (from !== null && last !== null && from !== last) {
      if (between(last, from, self)) {
        // A node joined just before this one: it owns (last, from] now.
        const link = from === pred ? host.links.usable(pred) : undefined
        if (link) this.#pushRange(last, from, link.peerId, 0)
      } else if (between(from, last, self)) {
        // The predecessor left: its range is this node's now, and one more successor must hold it.
        this.#pushRange(from, last, null, k - 2)
      }
    }
    if (from === null) return
    const now = host.successors().slice(0, k - 1)
    const was = new Set(before.slice(0, k - 1))
    let furthestNew = -1
    for (const [index, id] of now.entries()) if (!was.has(id)) furthestNew = index
    if (furthestNew >= 0) this.#pushRange(from, self, null, furthestNew)
  }

  /** Drops expired records, and records that stayed outside this node's replica range for the grace. */
  tick(): void {
    const host = this.#host
    const nowMs = host.nowMs()
    host.store.expire(Math.floor(nowMs / 1000))
    const preds = host.predecessors()
    const k = host.options.replicas
    if (preds.length < k) return this.#outOfRange.clear()
    const start = preds[k - 1]!
    for (const key of host.store.keys()) {
      if (betweenRightIncl(start, key, host.selfId)) {
        this.#outOfRange.delete(key)
        continue
      }
      const since = this.#outOfRange.get(key)
      if (since === undefined) this.#outOfRange.set(key, nowMs)
      else if (nowMs - since >= host.options.pruneGraceMs) {
        host.store.delete(key)
        this.#outOfRange.delete(key)
      }
    }
  }

  async #storeChecked(
    key: string,
    records: SignedRecord[],
    via: StoredVia,
  ): Promise<{ stored: SignedRecord[]; held: number; problem: RingErrorCode | null }> {
    const host = this.#host
    const stored: SignedRecord[] = []
    let held = 0
    let problem: RingErrorCode | null = null
    for (const record of records) {
      const nowS = Math.floor(host.nowMs() / 1000)
      const wrong = await checkRecord(record, key, nowS, host.crypto)
      if (wrong) {
        problem ??= wrong
        continue
      }
      const outcome = host.store.put(key, record, nowS)
      if (outcome === 'PUBLISHER_QUOTA') problem ??= outcome
      else held++
      if (outcome === 'stored' || outcome === 'replaced') {
        stored.push(record)
        if (outcome === 'stored') host.recordStored(key, record, via)
      }
    }
    return { stored, held, problem }
  }

  /**
   * Pushes the records of keys in (from, to] to `peerId` (to keep, `targetIndex` 0), or down the successor
   * chain so that they reach the successor at `targetIndex` (each successor before it keeps a copy).
   */
  #pushRange(from: string, to: string, peerId: string | null, targetIndex: number): void {
    const nowS = Math.floor(this.#host.nowMs() / 1000)
    for (const key of this.#host.store.keys()) {
      if (!betweenRightIncl(from, key, to)) continue
      const records = this.#host.store.recordsUnder(key, nowS)
      if (records.length === 0) continue
      if (peerId === null) this.#pushChain(key, records, targetIndex)
      else this.#sendBatches(peerId, key, records, targetIndex)
    }
  }

  /**
   * Sends records down the successor chain until they reach the successor at `targetIndex`, each hop
   * handing them to each successor it holds a link to (three): replicas that drop what they
   * should pass on (or died a moment ago) are stepped over unless three come in a row, which healing
   * and republishing then mend.
   */
  #pushChain(key: string, records: SignedRecord[], targetIndex: number): void {
    const successors = this.#host.successors()
    for (let i = 0; i < this.#host.options.linkedSuccessors && targetIndex - i >= 0; i++) {
      const next = successors[i]
      const link = next === undefined ? undefined : this.#host.links.usable(next)
      if (link) this.#sendBatches(link.peerId, key, records, targetIndex - i)
    }
  }

  #sendBatches(peerId: string, key: string, records: SignedRecord[], remaining: number): void {
    if (remaining < 0) return
    for (let start = 0; start < records.length; ) {
      const batch = recordsThatFit(records.slice(start), REPLICATE_OVERHEAD_BYTES)
      if (batch.length === 0) break
      this.#host.send(peerId, { type: 'replicate', remaining, key, records: batch })
      start += batch.length
    }
  }
}
