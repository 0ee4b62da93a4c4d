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
 *
 * Those rules miss keys when several nodes join one stretch of the ring at once: the node that hands a
 * range over may not hold it yet, and the node that does is no longer a neighbour (seen: twelve engines
 * joining in two seconds left one of a file's name records only on three non-replicas, so a search for
 * that word found nothing until the publisher's next republish, 12 h for names). So, as Chord's DHash
 * does in its global maintenance, a node that holds a key it is no replica of hands its records to the
 * key's owner by a routed put, before the grace runs out and it drops them.
 */

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

/** Misplaced keys handed to their owners in one tick at most: a node that held a lot does not flood. */
const HANDOFFS_PER_TICK = 8

/** How long a push is remembered, so its later copies are not passed on again. */
const SEEN_MS = 30_000
const MAX_SEEN = 8_192

export interface ReplicatorHost {
  readonly selfId: string
  readonly options: ResolvedRingOptions
  readonly crypto: RingCrypto
  readonly store: RecordStore
  readonly links: LinkTable
  nowMs(): number
  random(): number
  successors(): readonly string[]
  predecessor(): string | null
  /** This node's predecessors, nearest first (up to k). */
  predecessors(): readonly string[]
  /** This node's position among the key's replicas (0: the owner), or -1. */
  replicaIndex(key: string): number
  send(peerId: string, message: RingMessageOf<'replicate'>): void
  /** Routes a put of `records` to the owner of `key` (with retries); true when a replica holds them. */
  handOff(key: string, records: SignedRecord[]): Promise<boolean>
  /** A record this node did not hold is now stored here. */
  recordStored(key: string, record: SignedRecord, via: StoredVia): void
}

export class Replicator {
  readonly #host: ReplicatorHost
  /** Keys found outside this node's replica range, and since when. */
  readonly #outOfRange = new Map<string, number>()
  /** Pushes passed on lately (push id and key), until when. */
  readonly #seen = new Map<string, number>()
  /** Misplaced keys handed to their owner, and when (again after `syncMs`); in flight: Infinity. */
  readonly #handedOff = new Map<string, number>()
  /** The predecessor list last seen, and since when it has not changed. */
  #predsSeen = ''
  #predsSince = 0
  /** When this node next pushes its range again (0: not scheduled yet). */
  #nextSync = 0
  /** Where the range this node owns began when it last looked: (ownedFrom, self]. */
  #ownedFrom: string | null = null

  constructor(host: ReplicatorHost) {
    this.#host = host
  }

  /** A put routed to this node: checked, stored, and pushed down the chain of replicas. */
  async onPut(key: string, records: SignedRecord[]): Promise<RouteResult> {
    const { stored, held, problem } = await this.#storeChecked(key, records, 'put')
    if (stored.length > 0) {
      // The replicas after this one: its successors up to the key's k-th replica.
      const index = Math.max(0, this.#host.replicaIndex(key))
      const until = this.#successorAt(this.#host.options.replicas - 2 - index)
      if (until !== null) this.#pushChain(key, stored, until)
    }
    if (held === 0 && problem) return { op: 'failed', code: problem }
    // A record this node already held counts: a retried put whose first answer got lost is done too.
    return { op: 'stored', stored: held }
  }

  /** Records pushed by a neighbour: checked, stored, and passed on while the chain goes on. */
  async onReplicate(message: RingMessageOf<'replicate'>): Promise<void> {
    // A push reaches a node up to three times (from the three nodes before it): passed on once.
    const seenKey = `${message.push}:${message.key}`
    const now = this.#host.nowMs()
    const seen = (this.#seen.get(seenKey) ?? 0) > now
    if (!seen) {
      if (this.#seen.size >= MAX_SEEN) this.#seen.delete(this.#seen.keys().next().value!)
      this.#seen.set(seenKey, now + SEEN_MS)
    }
    await this.#storeChecked(message.key, message.records, 'replicate')
    // Passed on only by a replica that is not the key's last: `until` comes from the sender, and a chain
    // that ran on past the replica set would carry one push round the whole ring.
    const index = this.#host.replicaIndex(message.key)
    const passOn = index >= 0 && index < this.#host.options.replicas - 1
    if (!seen && passOn && message.until !== this.#host.selfId) {
      this.#pushChain(message.key, message.records, message.until, message.push)
    }
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
        if (link) this.#pushRange(last, from, from, link.peerId)
      } else if (between(from, last, self)) {
        // The predecessor left: its range is this node's now, and one more successor must hold it.
        const until = this.#successorAt(k - 2)
        if (until !== null) this.#pushRange(from, last, until, null)
      }
    }
    if (from === null) return
    const now = host.successors().slice(0, k - 1)
    const was = new Set(before.slice(0, k - 1))
    let furthestNew = -1
    for (const [index, id] of now.entries()) if (!was.has(id)) furthestNew = index
    if (furthestNew >= 0) this.#pushRange(from, self, now[furthestNew]!, null)
  }

  /** Drops expired records, and records that stayed outside this node's replica range for the grace. */
  tick(): void {
    const host = this.#host
    const nowMs = host.nowMs()
    host.store.expire(Math.floor(nowMs / 1000))
    // Anti-entropy: now and then the owner pushes its whole range down its replica set again, in case a
    // push met a replica it could not reach at the time (a link not up yet, a node dead but still listed).
    if (this.#nextSync === 0) this.#nextSync = nowMs + host.random() * host.options.syncMs
    else if (nowMs >= this.#nextSync) {
      this.#nextSync = nowMs + host.options.syncMs * (0.8 + 0.4 * host.random())
      const from = host.predecessor() ?? host.predecessors()[0]
      const until = this.#successorAt(host.options.replicas - 2)
      if (from !== undefined && until !== null) this.#pushRange(from, host.selfId, until, null)
    }
    // The replica range is known from the k predecessors, but a predecessor list can still name nodes
    // that died (it is learnt from the predecessor's, a round late): it would make the range look too
    // short. So nothing is dropped until the list has stayed the same for the grace period.
    this.#handOffMisplaced(nowMs)
    const preds = host.predecessors()
    const k = host.options.replicas
    const signature = preds.join()
    if (signature !== this.#predsSeen) {
      this.#predsSeen = signature
      this.#predsSince = nowMs
    }
    if (preds.length < k || nowMs - this.#predsSince < host.options.pruneGraceMs)
      return this.#outOfRange.clear()
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

  /**
   * Hands the records of keys this node is no replica of to their owners (at most HANDOFFS_PER_TICK a
   * tick; each key again after `syncMs`, or at the next tick when no replica took it). Only while it knows
   * its k predecessors: just after a join, the nodes after the joiner know one, then two… (each list is
   * learnt from the one before it, a round late), and would each take most of what they hold for
   * misplaced; at N = 1,000 their puts slowed the lists' repair enough that the node pushed out of the
   * replica set kept its copies past twice the prune grace (simulation.test.ts).
   */
  #handOffMisplaced(nowMs: number): void {
    const host = this.#host
    if (host.predecessors().length < host.options.replicas) return
    const nowS = Math.floor(nowMs / 1000)
    // Keys that expired or were pruned leave entries behind: swept only once there are more entries than
    // records (each live key holds one at least), not with a copy of the key list every tick.
    if (this.#handedOff.size > host.store.size) {
      const keys = new Set(host.store.keys())
      for (const key of this.#handedOff.keys()) if (!keys.has(key)) this.#handedOff.delete(key)
    }
    let sent = 0
    for (const key of host.store.keys()) {
      if (sent >= HANDOFFS_PER_TICK) break
      if (nowMs < (this.#handedOff.get(key) ?? 0) || host.replicaIndex(key) >= 0) continue
      const records = host.store.recordsUnder(key, nowS)
      if (records.length === 0) continue
      sent++
      this.#handedOff.set(key, Number.POSITIVE_INFINITY)
      void host.handOff(key, records).then(
        (stored) => this.#handedOff.set(key, stored ? host.nowMs() + host.options.syncMs : 0),
        () => this.#handedOff.set(key, 0),
      )
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
   * Pushes the records of keys in (from, to] to `peerId` alone, or down the successor chain up to
   * `until` (each successor on the way keeps a copy).
   */
  #pushRange(from: string, to: string, until: string, peerId: string | null): void {
    const nowS = Math.floor(this.#host.nowMs() / 1000)
    for (const key of this.#host.store.keys()) {
      if (!betweenRightIncl(from, key, to)) continue
      const records = this.#host.store.recordsUnder(key, nowS)
      if (records.length === 0) continue
      if (peerId === null) this.#pushChain(key, records, until)
      else for (const batch of batches(records)) this.#send(peerId, this.#newPush(), until, key, batch)
    }
  }

  /** This node's successor at `index`, or its last one if it knows fewer; null when it knows none. */
  #successorAt(index: number): string | null {
    if (index < 0) return null
    const successors = this.#host.successors()
    return successors[Math.min(index, successors.length - 1)] ?? null
  }

  /**
   * Sends records down the successor chain up to `until`, each hop handing them to each successor it
   * holds a link to (three) that does not lie past `until`: replicas that drop what they should pass on
   * (or died a moment ago) are stepped over unless three come in a row, which healing and republishing
   * then mend. The end is a node, not a count, so successor lists that still hold a dead node do not
   * cut the chain short.
   */
  #pushChain(key: string, records: SignedRecord[], until: string, push?: number): void {
    const self = this.#host.selfId
    const targets: string[] = []
    for (const id of this.#host.successors().slice(0, this.#host.options.linkedSuccessors)) {
      if (!betweenRightIncl(self, id, until)) break
      const link = this.#host.links.usable(id)
      if (link) targets.push(link.peerId)
    }
    for (const batch of batches(records)) {
      // One push per batch: its copies from the nodes before a node are passed on once.
      const id = push ?? this.#newPush()
      for (const peerId of targets) this.#send(peerId, id, until, key, batch)
    }
  }

  #newPush(): number {
    return Math.floor(this.#host.random() * 2 ** 32) >>> 0
  }

  #send(peerId: string, push: number, until: string, key: string, records: SignedRecord[]): void {
    this.#host.send(peerId, { type: 'replicate', push, until, key, records })
  }
}

/** Records in batches that each fit in one replicate message. */
function batches(records: SignedRecord[]): SignedRecord[][] {
  const out: SignedRecord[][] = []
  for (let start = 0; start < records.length; ) {
    const batch = recordsThatFit(records.slice(start), REPLICATE_OVERHEAD_BYTES)
    if (batch.length === 0) break
    out.push(batch)
    start += batch.length
  }
  return out
}
