/**
 * One ring node's message handlers, driven directly by a test peer over a recording transport: every
 * message type, well-formed and not, and the checks a storer makes on records. Whatever comes in, the
 * node answers with a typed error or ignores it, and keeps working.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { toHex } from '../../../shared/encoding.js'
import {
  encodeRingMessage,
  parseRingMessage,
  type RingMessage,
  type RingMessageOf,
  type RouteOp,
  signalKey,
} from '../../../shared/ring-protocol.js'
import {
  type ProviderRecord,
  providerKeyInput,
  recordSignedBytes,
  type SignedRecord,
} from '../../../shared/ring-records.js'
import { peerIdOf } from '../../../web/peer/identity.js'
import { keyOf } from '../../../web/peer/ring/record-check.js'
import { MemoryRecordStore } from '../../../web/peer/ring/record-store.js'
import type { RingSigner } from '../../../web/peer/ring/ring-crypto.js'
import { RingNode } from '../../../web/peer/ring/ring-node.js'
import type { RingOptions } from '../../../web/peer/ring/ring-options.js'
import type { RingLinkHandler, RingTransport } from '../../../web/peer/ring/ring-transport.js'
import { Prng } from '../../support/ring-sim/prng.js'
import { SimClock } from '../../support/ring-sim/sim-clock.js'
import { SimCrypto, simSigner } from '../../support/ring-sim/sim-crypto.js'

const START_MS = Date.UTC(2026, 0, 1)
const nowS = () => Math.floor(clock.now() / 1000)

/** A transport that records what the node sends, and lets the test play the peers. */
class ProbeTransport implements RingTransport {
  handler: RingLinkHandler | null = null
  readonly sent: { to: string; message: RingMessage }[] = []
  readonly closed: string[] = []
  readonly open = new Set<string>()

  attach(handler: RingLinkHandler): () => void {
    this.handler = handler
    return () => (this.handler = null)
  }
  send(peerId: string, payload: Uint8Array): void {
    const parsed = parseRingMessage(payload)
    if (!parsed.ok) throw new Error(`the node sent a malformed message: ${parsed.reason}`)
    this.sent.push({ to: peerId, message: parsed.message })
  }
  dial(): Promise<void> {
    return Promise.reject(new Error('no dialling in these tests'))
  }
  claim(): void {}
  release(): void {}
  close(peerId: string): void {
    this.closed.push(peerId)
  }
  /** Messages of one type sent to `peerId` since `from`. */
  to<K extends RingMessage['type']>(peerId: string, type: K, from = 0): RingMessageOf<K>[] {
    return this.sent
      .slice(from)
      .filter((s) => s.to === peerId && s.message.type === type)
      .map((s) => s.message) as RingMessageOf<K>[]
  }
}

let clock: SimClock
let prng: Prng
let crypto: SimCrypto
let transport: ProbeTransport
let node: RingNode
let nodeSigner: RingSigner

/** Lets the node's async work (hashing, verifying) finish, then runs what falls due in the next 10 ms. */
const settle = async () => {
  await new Promise((resolve) => setImmediate(resolve))
  await clock.runFor(10)
}

function makeNode(options: RingOptions = {}): RingNode {
  transport = new ProbeTransport()
  nodeSigner = simSigner(prng.bytes32())
  const created = new RingNode({
    identity: nodeSigner,
    transport,
    crypto,
    clock,
    random: () => prng.next(),
    bootstrap: () => [],
    store: new MemoryRecordStore({ maxPerPublisher: 3 }),
    options: { memberAfterMs: 0, fingerMinAgeMs: 2 * 60_000, ...options },
  })
  created.start()
  return created
}

/** A peer of the node: opens a link and says hello (unless told not to). */
async function connect(
  hello = true,
): Promise<{ signer: RingSigner; peerId: string; send: (m: RingMessage) => Promise<void> }> {
  const signer = simSigner(prng.bytes32())
  const peerId = peerIdOf(signer.nodeId)
  transport.handler!.onLinkOpen(peerId)
  const send = async (message: RingMessage) => {
    transport.handler!.onFrame(peerId, encodeRingMessage(message))
    await settle()
  }
  if (hello)
    await send({
      type: 'hello',
      version: 1,
      member: true,
      ask: false,
      want: 'none',
      publicKey: signer.publicKey,
    })
  return { signer, peerId, send }
}

async function sendRaw(peerId: string, bytes: Uint8Array): Promise<void> {
  transport.handler!.onFrame(peerId, bytes)
  await settle()
}

async function providerRecord(
  signer: RingSigner,
  overrides: Partial<ProviderRecord> = {},
): Promise<ProviderRecord> {
  const unsigned = {
    kind: 'provider' as const,
    publisher: signer.publicKey,
    digest: toHex(prng.bytes32()),
    chunks: 4,
    issuedAt: nowS(),
    expiresAt: nowS() + 600,
    ...overrides,
  } as Omit<ProviderRecord, 'signature'>
  return { ...unsigned, signature: await signer.sign(recordSignedBytes(unsigned)) }
}

function routeOf(request: RouteOp, key: string, origin: string, req = 1): RingMessageOf<'route'> {
  return {
    type: 'route',
    req,
    origin,
    key,
    hops: 1,
    hopLimit: 32,
    attempt: 0,
    deliver: false,
    clockwise: false,
    request,
  }
}

beforeEach(async () => {
  clock = new SimClock(START_MS)
  prng = new Prng(42)
  crypto = new SimCrypto()
  node = makeNode()
  await settle()
})

describe('a ring node alone (the first member)', () => {
  it('is a member, with no successor and no predecessor', () => {
    expect(node.snapshot()).toMatchObject({ member: true, pred: null, successors: [] })
  })

  it('greets each link with a hello naming its key', async () => {
    const peer = await connect(false)
    const [hello] = transport.to(peer.peerId, 'hello')
    expect(hello).toMatchObject({ version: 1, member: true })
    expect(toHex(hello!.publicKey)).toBe(toHex(nodeSigner.publicKey))
  })
})

describe('malformed and untimely input', () => {
  it('answers every truncated message type with BAD_MESSAGE and keeps answering pings', async () => {
    const peer = await connect()
    const samples: RingMessage[] = [
      { type: 'hello', version: 1, member: true, ask: false, want: 'none', publicKey: peer.signer.publicKey },
      { type: 'ping', nonce: 5 },
      { type: 'pong', nonce: 5 },
      { type: 'get-neighbours', req: 5 },
      { type: 'neighbours', req: 5, pred: null, successors: [node.id] },
      { type: 'notify', predecessors: [node.id] },
      { type: 'leave', pred: null, successors: [node.id] },
      routeOf({ op: 'find', room: 0 }, node.id, peer.signer.nodeId),
      { type: 'ack', req: 5 },
      { type: 'route-reply', req: 5, hops: 1, from: node.id, result: { op: 'stored', stored: 1 } },
      {
        type: 'replicate',
        push: 77,
        until: node.id,
        key: node.id,
        records: [await providerRecord(peer.signer)],
      },
      { type: 'error', req: 5, code: 'TIMEOUT' as never },
    ]
    for (const message of samples) {
      const bytes = message.type === 'error' ? Uint8Array.of(12, 0, 0) : encodeRingMessage(message)
      const before = transport.sent.length
      await sendRaw(peer.peerId, bytes.subarray(0, bytes.length - 1))
      expect(transport.to(peer.peerId, 'error', before), message.type).toEqual([
        { type: 'error', req: 0, code: 'BAD_MESSAGE' },
      ])
      await peer.send({ type: 'ping', nonce: 77 })
      expect(transport.to(peer.peerId, 'pong', before)).toEqual([{ type: 'pong', nonce: 77 }])
    }
  })

  it('answers an unknown type with UNKNOWN_TYPE', async () => {
    const peer = await connect()
    await sendRaw(peer.peerId, Uint8Array.of(200, 1, 2))
    expect(transport.to(peer.peerId, 'error')).toEqual([{ type: 'error', req: 0, code: 'UNKNOWN_TYPE' }])
  })

  it('takes nothing but a hello from a peer that has not said who it is', async () => {
    const peer = await connect(false)
    await peer.send({ type: 'get-neighbours', req: 3 })
    expect(transport.to(peer.peerId, 'error')).toEqual([{ type: 'error', req: 0, code: 'BAD_MESSAGE' }])
    expect(transport.to(peer.peerId, 'neighbours')).toEqual([])
  })

  it('refuses, and closes, a link whose hello names a key that is not the peer’s', async () => {
    const peer = await connect(false)
    const stranger = simSigner(prng.bytes32())
    await peer.send({
      type: 'hello',
      version: 1,
      member: true,
      ask: false,
      want: 'neighbour',
      publicKey: stranger.publicKey,
    })
    expect(transport.to(peer.peerId, 'error')).toEqual([{ type: 'error', req: 0, code: 'BAD_MESSAGE' }])
    expect(transport.closed).toEqual([peer.peerId])
    expect(node.links.byNode(stranger.nodeId)).toBeUndefined()
  })

  it('says hello again when asked for it', async () => {
    const peer = await connect(false)
    const before = transport.sent.length
    await peer.send({
      type: 'hello',
      version: 1,
      member: true,
      ask: true,
      want: 'none',
      publicKey: peer.signer.publicKey,
    })
    expect(transport.to(peer.peerId, 'hello', before)).toHaveLength(1)
  })

  it('ignores answers, acks and errors that answer nothing it asked', async () => {
    const peer = await connect()
    const before = transport.sent.length
    await peer.send({ type: 'neighbours', req: 12345, pred: peer.signer.nodeId, successors: [] })
    await peer.send({
      type: 'route-reply',
      req: 999,
      hops: 2,
      from: peer.signer.nodeId,
      result: { op: 'found', nodes: [peer.signer.nodeId] },
    })
    await peer.send({ type: 'ack', req: 999 })
    await peer.send({ type: 'error', req: 999, code: 'RING_FULL' })
    await peer.send({ type: 'leave', pred: null, successors: [] })
    expect(transport.sent.slice(before).filter((s) => s.message.type !== 'ping')).toEqual([])
    expect(node.snapshot()).toMatchObject({ member: true, successors: [] })
  })

  it('gives a node that is not a member yet NOT_MEMBER for what needs one', async () => {
    node.destroy()
    node = makeNode({ memberAfterMs: 3_600_000 })
    await settle()
    const peer = await connect()
    await peer.send({ type: 'get-neighbours', req: 8 })
    expect(transport.to(peer.peerId, 'error')).toEqual([{ type: 'error', req: 8, code: 'NOT_MEMBER' }])
    await peer.send(routeOf({ op: 'find', room: 0 }, node.id, peer.signer.nodeId, 9))
    expect(transport.to(peer.peerId, 'route-reply')).toMatchObject([
      { req: 9, result: { op: 'failed', code: 'NOT_MEMBER' } },
    ])
  })
})

describe('ring upkeep', () => {
  it('answers a ping with its nonce, and get-neighbours with its state', async () => {
    const peer = await connect()
    await peer.send({ type: 'ping', nonce: 4242 })
    expect(transport.to(peer.peerId, 'pong')).toEqual([{ type: 'pong', nonce: 4242 }])
    await peer.send({ type: 'get-neighbours', req: 6 })
    expect(transport.to(peer.peerId, 'neighbours')).toEqual([
      { type: 'neighbours', req: 6, pred: null, successors: [] },
    ])
  })

  it('takes a notifier as predecessor, keeping its predecessors only while they are in ring order', async () => {
    const peer = await connect()
    const a = simSigner(prng.bytes32()).nodeId
    await peer.send({ type: 'notify', predecessors: [a, peer.signer.nodeId, a] })
    const snapshot = node.snapshot()
    expect(snapshot.pred).toBe(peer.signer.nodeId)
    expect(snapshot.predecessors[0]).toBe(peer.signer.nodeId)
    expect(new Set(snapshot.predecessors).size).toBe(snapshot.predecessors.length)
    expect(snapshot.predecessors).not.toContain(node.id)
  })

  it('refuses a finger link when its ring links are full, and makes room for a neighbour', async () => {
    // Alone, a node runs as a full mesh of up to r links: r = 2 makes its cap two ring links.
    node.destroy()
    node = makeNode({ maxRingLinks: 1, successors: 2 })
    await settle()
    const fingers = [await connect(false), await connect(false), await connect(false)]
    for (const peer of fingers) {
      await peer.send({
        type: 'hello',
        version: 1,
        member: true,
        ask: false,
        want: 'finger',
        publicKey: peer.signer.publicKey,
      })
    }
    expect(fingers.map((peer) => transport.to(peer.peerId, 'refuse').length)).toEqual([0, 0, 1])
    const neighbour = await connect(false)
    await neighbour.send({
      type: 'hello',
      version: 1,
      member: true,
      ask: false,
      want: 'neighbour',
      publicKey: neighbour.signer.publicKey,
    })
    expect(transport.to(neighbour.peerId, 'refuse')).toEqual([])
    // One of the admitted fingers gave its place to the neighbour.
    expect(
      fingers
        .slice(0, 2)
        .map((peer) => transport.to(peer.peerId, 'refuse').length)
        .sort(),
    ).toEqual([0, 1])
    expect(node.ringLinkCount()).toBe(2)
  })
})

describe('records: what a storer checks', () => {
  async function put(
    peer: Awaited<ReturnType<typeof connect>>,
    key: string,
    records: SignedRecord[],
    req = 1,
  ) {
    const before = transport.sent.length
    await peer.send(routeOf({ op: 'put', records }, key, peer.signer.nodeId, req))
    return transport.to(peer.peerId, 'route-reply', before)[0]?.result
  }

  it('stores a signed record under its key, and gives it back', async () => {
    const peer = await connect()
    const record = await providerRecord(peer.signer)
    const key = await keyOf(providerKeyInput(record.digest), crypto)
    expect(await put(peer, key, [record])).toEqual({ op: 'stored', stored: 1 })
    await peer.send(routeOf({ op: 'get', kind: 'provider' }, key, peer.signer.nodeId, 2))
    const reply = transport.to(peer.peerId, 'route-reply').find((r) => r.req === 2)
    expect(reply?.result).toMatchObject({ op: 'records', records: [{ digest: record.digest }] })
    expect(transport.to(peer.peerId, 'ack').map((a) => a.req)).toEqual([1, 2])
  })

  it('refuses a record whose signature does not verify', async () => {
    const peer = await connect()
    const record = await providerRecord(peer.signer)
    const key = await keyOf(providerKeyInput(record.digest), crypto)
    expect(await put(peer, key, [{ ...record, chunks: 5 }])).toEqual({ op: 'failed', code: 'BAD_SIGNATURE' })
    const other = simSigner(prng.bytes32())
    expect(await put(peer, key, [{ ...record, publisher: other.publicKey }])).toEqual({
      op: 'failed',
      code: 'BAD_SIGNATURE',
    })
    expect(node.store.size).toBe(0)
  })

  it('refuses a record sent under a key it does not derive to', async () => {
    const peer = await connect()
    const record = await providerRecord(peer.signer)
    expect(await put(peer, node.id, [record])).toEqual({ op: 'failed', code: 'KEY_MISMATCH' })
  })

  it('refuses records expired, from the future, or meant to live too long', async () => {
    const peer = await connect()
    for (const times of [
      { issuedAt: nowS() - 2000, expiresAt: nowS() - 1 },
      { issuedAt: nowS() + 3600, expiresAt: nowS() + 3700 },
      { issuedAt: nowS(), expiresAt: nowS() + 3 * 3600 },
    ]) {
      const record = await providerRecord(peer.signer, times)
      const key = await keyOf(providerKeyInput(record.digest), crypto)
      expect(await put(peer, key, [record])).toEqual({ op: 'failed', code: 'RECORD_EXPIRED' })
    }
  })

  it('keeps no more of one publisher’s records than its quota', async () => {
    const peer = await connect()
    for (let i = 0; i < 3; i++) {
      const record = await providerRecord(peer.signer)
      expect(await put(peer, await keyOf(providerKeyInput(record.digest), crypto), [record], 10 + i)).toEqual(
        {
          op: 'stored',
          stored: 1,
        },
      )
    }
    const fourth = await providerRecord(peer.signer)
    expect(await put(peer, await keyOf(providerKeyInput(fourth.digest), crypto), [fourth], 20)).toEqual({
      op: 'failed',
      code: 'PUBLISHER_QUOTA',
    })
  })

  it('stores pushed records that verify and drops forged ones', async () => {
    const peer = await connect()
    const record = await providerRecord(peer.signer)
    const key = await keyOf(providerKeyInput(record.digest), crypto)
    await peer.send({ type: 'replicate', push: 77, until: node.id, key, records: [{ ...record, chunks: 9 }] })
    expect(node.store.size).toBe(0)
    await peer.send({ type: 'replicate', push: 77, until: node.id, key, records: [record] })
    expect(node.store.get(key, 'provider', nowS())).toHaveLength(1)
  })

  it('answers a find for any key with itself when alone', async () => {
    const peer = await connect()
    await peer.send(routeOf({ op: 'find', room: 0 }, toHex(prng.bytes32()), peer.signer.nodeId, 31))
    expect(transport.to(peer.peerId, 'route-reply')).toMatchObject([
      { req: 31, result: { op: 'found', nodes: [node.id] } },
    ])
  })

  it('rate-limits one origin flooding routed requests', async () => {
    const peer = await connect()
    const key = toHex(prng.bytes32())
    for (let req = 1; req <= 130; req++)
      transport.handler!.onFrame(
        peer.peerId,
        encodeRingMessage(routeOf({ op: 'get', kind: 'name' }, key, peer.signer.nodeId, req)),
      )
    await settle()
    const replies = transport.to(peer.peerId, 'route-reply')
    expect(replies.filter((r) => r.result.op === 'failed' && r.result.code === 'RATE_LIMITED').length).toBe(
      10,
    )
    expect(replies.filter((r) => r.result.op === 'records').length).toBe(120)
  })

  it('answers a signal back through the node that handed it over, though the key of its sender lies here', async () => {
    // The sender is a client routing through G, not linked here; alone, this node owns every key, so a
    // signal routed by key to the sender would end here as NO_ROUTE (issue 13: a client whose gateway is
    // not the successor of its own id yet could never open its first link through the ring).
    const gateway = await connect()
    const client = simSigner(prng.bytes32())
    const clientPeerId = peerIdOf(client.nodeId)
    const heard: { from: string; data: string }[] = []
    node.on('signal', (signal) => heard.push(signal))
    await gateway.send(
      routeOf({ op: 'signal', data: '{"offer":1}' }, signalKey(node.peerId)!, client.nodeId, 5),
    )
    expect(heard).toEqual([{ from: clientPeerId, data: '{"offer":1}' }])
    const mark = transport.sent.length
    const answered = node.sendSignal(clientPeerId, '{"answer":1}')
    await settle()
    const routed = transport.to(gateway.peerId, 'route', mark)
    expect(routed).toMatchObject([
      { key: signalKey(clientPeerId), request: { op: 'signal', data: '{"answer":1}' } },
    ])
    await gateway.send({
      type: 'route-reply',
      req: routed[0]!.req,
      hops: 2,
      from: gateway.signer.nodeId,
      result: { op: 'delivered' },
    })
    expect(await answered).toBe('delivered')
  })
})
