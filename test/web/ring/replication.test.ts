/**
 * The replicator's global maintenance (replication.ts): records a node holds for keys it is no replica of
 * are handed to the key's owner by a routed put, a few a tick, again only after `syncMs` once a replica
 * took them, at the next tick when none did, and only once it knows its k predecessors; keys it is a replica
 * of stay where they are.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { toHex } from '../../../shared/encoding.js'
import { type ProviderRecord, recordSignedBytes, type SignedRecord } from '../../../shared/ring-records.js'
import { LinkTable } from '../../../web/peer/ring/link-table.js'
import { MemoryRecordStore } from '../../../web/peer/ring/record-store.js'
import { Replicator } from '../../../web/peer/ring/replication.js'
import { RING_DEFAULTS } from '../../../web/peer/ring/ring-options.js'
import { Prng } from '../../support/ring-sim/prng.js'
import { SimCrypto, simSigner } from '../../support/ring-sim/sim-crypto.js'

const START_MS = Date.UTC(2026, 0, 1)
const SYNC_MS = 10_000

let nowMs = START_MS
let prng: Prng
let store: MemoryRecordStore
let replicaKeys: Set<string>
let predecessors: string[]
let handOffs: { key: string; records: SignedRecord[]; done: { resolve(stored: boolean): void } }[]
let replicator: Replicator

beforeEach(() => {
  nowMs = START_MS
  prng = new Prng(7)
  store = new MemoryRecordStore()
  replicaKeys = new Set()
  // A node that knows its k predecessors: it can tell which keys it is no replica of.
  predecessors = Array.from({ length: RING_DEFAULTS.replicas }, () => toHex(prng.bytes32()))
  handOffs = []
  replicator = new Replicator({
    selfId: toHex(prng.bytes32()),
    options: { ...RING_DEFAULTS, syncMs: SYNC_MS },
    crypto: new SimCrypto(),
    store,
    links: new LinkTable(),
    nowMs: () => nowMs,
    random: () => 0.5,
    successors: () => [],
    predecessor: () => null,
    predecessors: () => predecessors,
    replicaIndex: (key) => (replicaKeys.has(key) ? 0 : -1),
    send: () => {},
    handOff: (key, records) => {
      return new Promise<boolean>((resolve) => handOffs.push({ key, records, done: { resolve } }))
    },
    recordStored: () => {},
  })
})

async function storeRecord(): Promise<{ key: string; record: SignedRecord }> {
  const signer = simSigner(prng.bytes32())
  const issuedAt = Math.floor(nowMs / 1000)
  const unsigned = {
    kind: 'provider' as const,
    publisher: signer.publicKey,
    digest: toHex(prng.bytes32()),
    chunks: 4,
    issuedAt,
    expiresAt: issuedAt + 600,
  } as Omit<ProviderRecord, 'signature'>
  const record = { ...unsigned, signature: await signer.sign(recordSignedBytes(unsigned)) }
  const key = toHex(prng.bytes32())
  expect(store.put(key, record, issuedAt)).toBe('stored')
  return { key, record }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('records held outside the replica set', () => {
  it('are handed to the key’s owner, and not again before syncMs once a replica took them', async () => {
    const misplaced = await storeRecord()
    const kept = await storeRecord()
    replicaKeys.add(kept.key)

    replicator.tick()
    expect(handOffs.map((h) => h.key)).toEqual([misplaced.key])
    expect(handOffs[0]!.records).toEqual([misplaced.record])

    // In flight: not sent twice.
    nowMs += 1_000
    replicator.tick()
    expect(handOffs).toHaveLength(1)

    handOffs[0]!.done.resolve(true)
    await settle()
    nowMs += SYNC_MS - 1
    replicator.tick()
    expect(handOffs).toHaveLength(1)
    nowMs += 2
    replicator.tick()
    expect(handOffs.map((h) => h.key)).toEqual([misplaced.key, misplaced.key])
  })

  it('are handed off again at the next tick when no replica took them', async () => {
    const misplaced = await storeRecord()
    replicator.tick()
    handOffs[0]!.done.resolve(false)
    await settle()
    nowMs += 1_000
    replicator.tick()
    expect(handOffs.map((h) => h.key)).toEqual([misplaced.key, misplaced.key])
  })

  it('stay put while the node knows fewer than k predecessors (just after a join): it cannot tell yet', async () => {
    await storeRecord()
    predecessors = predecessors.slice(0, 1)
    replicator.tick()
    expect(handOffs).toEqual([])
    predecessors = Array.from({ length: RING_DEFAULTS.replicas }, () => toHex(prng.bytes32()))
    replicator.tick()
    expect(handOffs).toHaveLength(1)
  })

  it('go a few a tick, so a node that held many keys does not flood the ring', async () => {
    for (let i = 0; i < 20; i++) await storeRecord()
    replicator.tick()
    expect(handOffs).toHaveLength(8)
    replicator.tick()
    expect(handOffs).toHaveLength(16)
    replicator.tick()
    expect(new Set(handOffs.map((h) => h.key)).size).toBe(20)
  })
})
