/**
 * Where a ring node keeps the records it stores for others, behind an interface with an in-memory twin
 * (STYLE). Records are soft state — publishers republish them before they expire — so the memory store is
 * what browsers use too; the interface is synchronous because the ring consults it on every request.
 *
 * Quotas: at most `maxPerKey` records under one key (when full, the record that expires first makes
 * room for one that expires later) and at most `maxPerPublisher` records of one publisher in this store.
 */
import { toHex } from '../../../shared/encoding.js'
import { type RecordKind, recordSlot, type SignedRecord } from '../../../shared/ring-records.js'

export type PutOutcome = 'stored' | 'replaced' | 'unchanged' | 'PUBLISHER_QUOTA'

export interface RecordStore {
  /** Keeps `record` under `key` (already checked by record-check.ts). */
  put(key: string, record: SignedRecord, nowS: number): PutOutcome
  /** The unexpired records of `kind` under `key`, newest first. */
  get(key: string, kind: RecordKind, nowS: number): SignedRecord[]
  /** Every unexpired record under `key`, of both kinds. */
  recordsUnder(key: string, nowS: number): SignedRecord[]
  /** The keys that hold records. */
  keys(): string[]
  /** Drops every record under `key`; returns how many went. */
  delete(key: string): number
  /** Drops expired records; returns how many went. */
  expire(nowS: number): number
  /** Records held. */
  readonly size: number
}

export interface StoreQuotas {
  /** Default 256 (DHT.md): a popular file's providers beyond that are not all needed to download it. */
  maxPerKey?: number
  /** Default 1,024: a publisher of many files spreads them over many nodes; one node keeps a bounded share. */
  maxPerPublisher?: number
}

export class MemoryRecordStore implements RecordStore {
  readonly #byKey = new Map<string, Map<string, SignedRecord>>()
  readonly #perPublisher = new Map<string, number>()
  readonly #maxPerKey: number
  readonly #maxPerPublisher: number
  #size = 0

  constructor(quotas: StoreQuotas = {}) {
    this.#maxPerKey = quotas.maxPerKey ?? 256
    this.#maxPerPublisher = quotas.maxPerPublisher ?? 1024
  }

  get size(): number {
    return this.#size
  }

  put(key: string, record: SignedRecord, nowS: number): PutOutcome {
    let slots = this.#byKey.get(key)
    const slot = recordSlot(record)
    const held = slots?.get(slot)
    if (held) {
      if (held.issuedAt >= record.issuedAt) return 'unchanged'
      slots!.set(slot, record)
      return 'replaced'
    }
    const publisher = toHex(record.publisher)
    if ((this.#perPublisher.get(publisher) ?? 0) >= this.#maxPerPublisher) {
      this.expire(nowS)
      if ((this.#perPublisher.get(publisher) ?? 0) >= this.#maxPerPublisher) return 'PUBLISHER_QUOTA'
    }
    if (!slots) {
      slots = new Map()
      this.#byKey.set(key, slots)
    }
    if (slots.size >= this.#maxPerKey) {
      let first: [string, SignedRecord] | undefined
      for (const entry of slots) if (!first || entry[1].expiresAt < first[1].expiresAt) first = entry
      if (!first || first[1].expiresAt >= record.expiresAt) return 'unchanged'
      this.#remove(slots, first[0], first[1])
    }
    slots.set(slot, record)
    this.#perPublisher.set(publisher, (this.#perPublisher.get(publisher) ?? 0) + 1)
    this.#size++
    return 'stored'
  }

  get(key: string, kind: RecordKind, nowS: number): SignedRecord[] {
    return this.recordsUnder(key, nowS).filter((record) => record.kind === kind)
  }

  recordsUnder(key: string, nowS: number): SignedRecord[] {
    const slots = this.#byKey.get(key)
    if (!slots) return []
    return [...slots.values()]
      .filter((record) => record.expiresAt > nowS)
      .sort((a, b) => b.issuedAt - a.issuedAt)
  }

  keys(): string[] {
    return [...this.#byKey.keys()]
  }

  delete(key: string): number {
    const slots = this.#byKey.get(key)
    if (!slots) return 0
    const count = slots.size
    for (const [slot, record] of [...slots]) this.#remove(slots, slot, record)
    this.#byKey.delete(key)
    return count
  }

  expire(nowS: number): number {
    let removed = 0
    for (const [key, slots] of this.#byKey) {
      for (const [slot, record] of [...slots]) {
        if (record.expiresAt > nowS) continue
        this.#remove(slots, slot, record)
        removed++
      }
      if (slots.size === 0) this.#byKey.delete(key)
    }
    return removed
  }

  #remove(slots: Map<string, SignedRecord>, slot: string, record: SignedRecord): void {
    if (!slots.delete(slot)) return
    const publisher = toHex(record.publisher)
    const count = (this.#perPublisher.get(publisher) ?? 1) - 1
    if (count > 0) this.#perPublisher.set(publisher, count)
    else this.#perPublisher.delete(publisher)
    this.#size--
  }
}
