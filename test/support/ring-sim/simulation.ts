/**
 * The ring simulator (DHT.md "Testing"): real RingNode code, one per simulated peer, on the simulator's
 * clock and network, from one seed. It adds and removes nodes (joins, graceful leaves, crashes, churn),
 * publishes records and looks them up, and checks Zave's invariants after every event and the ideal ring
 * and record placement when asked. Scenarios (scenarios.ts) and the benchmark drive it.
 */
import { toHex } from '../../../shared/encoding.js'
import { recordSlot, type SignedRecord } from '../../../shared/ring-records.js'
import { peerIdOf } from '../../../web/peer/identity.js'
import { keyOf } from '../../../web/peer/ring/record-check.js'
import { type LookupResult, RingNode } from '../../../web/peer/ring/ring-node.js'
import type { RingOptions } from '../../../web/peer/ring/ring-options.js'
import type { RingTransport } from '../../../web/peer/ring/ring-transport.js'
import { type HostileLog, hostileTransport } from './hostile.js'
import { lowerBound, ZaveInvariants } from './invariants.js'
import { Prng } from './prng.js'
import { SimClock } from './sim-clock.js'
import { SimCrypto, simSigner } from './sim-crypto.js'
import { type PeerCounters, SimNetwork, type SimNetworkOptions } from './sim-network.js'

/** Simulated time starts at a real date, so records carry plausible timestamps. */
const START_MS = Date.UTC(2026, 0, 1)

export interface SimulationOptions {
  seed: number
  network?: SimNetworkOptions
  ring?: RingOptions
  /** Check Zave's invariants after every event (default true). */
  invariants?: boolean
}

export interface SimNode {
  readonly node: RingNode
  readonly peerId: string
  readonly id: string
  /** Hex of the node's public key, as records name their publisher. */
  readonly publicKey: string
  alive: boolean
  readonly hostile: boolean
  readonly bornMs: number
  diedMs: number | null
}

/** A record the simulation published, with the key it lives under. */
export interface PublishedRecord {
  key: string
  record: SignedRecord
  publisher: string
}

export class Simulation {
  readonly clock = new SimClock(START_MS)
  readonly prng: Prng
  readonly network: SimNetwork
  readonly crypto = new SimCrypto()
  readonly invariants: ZaveInvariants
  readonly nodes = new Map<string, SimNode>()
  readonly hostileLog: HostileLog = { dropped: 0, forged: 0 }
  /** Every signature an honest node made: a record whose signature is not here was forged. */
  readonly genuineSignatures = new Set<string>()
  readonly #options: SimulationOptions
  readonly #checkInvariants: boolean
  /** Invariant checks run (one after every event once the ring has r + 1 members). */
  checks = 0
  /** Records stored by replica pushes and puts, for the key-movement count. */
  movements: { node: string; key: string; via: 'put' | 'replicate' }[] = []
  #recordMovements = false

  constructor(options: SimulationOptions) {
    this.#options = options
    this.prng = new Prng(options.seed)
    this.network = new SimNetwork(this.clock, this.prng, options.network)
    this.invariants = new ZaveInvariants(options.ring?.successors ?? 20)
    this.#checkInvariants = options.invariants ?? true
  }

  get now(): number {
    return this.clock.now()
  }

  /**
   * Adds a node, which joins through live members (or starts the ring when there is none); with
   * `start: false` it is created but not started (`addIdealRing` starts it as a member).
   */
  addNode(options: { ring?: RingOptions; hostile?: boolean; start?: boolean } = {}): SimNode {
    const signer = simSigner(this.prng.bytes32(), (signature) => {
      if (!options.hostile) this.genuineSignatures.add(toHex(signature))
    })
    const peerId = peerIdOf(signer.nodeId)
    let transport: RingTransport = this.network.transport(peerId)
    if (options.hostile) transport = hostileTransport(transport, signer.nodeId, this.prng, this.hostileLog)
    const node = new RingNode({
      identity: signer,
      transport,
      crypto: this.crypto,
      clock: this.clock,
      random: () => this.prng.next(),
      bootstrap: () => this.#bootstrap(),
      options: { ...this.#options.ring, ...options.ring },
    })
    const sim: SimNode = {
      node,
      peerId,
      id: signer.nodeId,
      publicKey: toHex(signer.publicKey),
      alive: true,
      hostile: options.hostile ?? false,
      bornMs: this.now,
      diedMs: null,
    }
    this.nodes.set(sim.id, sim)
    node.on('state', () => this.#onState(sim))
    node.on('record-stored', ({ key, via }) => {
      if (this.#recordMovements) this.movements.push({ node: sim.id, key, via })
    })
    if (options.start ?? true) node.start()
    return sim
  }

  /**
   * Adds `n` nodes as one ring in its ideal state: each a member for an hour, with its exact
   * successor list and predecessors and a finger in each interval, which it dials (dials take simulated
   * time, and fingers refused for room are looked for again: run a few minutes before measuring). For rings too large to grow by joins
   * in a sitting; the suite grows its ring of 1,000 by joins. Only on an empty simulation.
   */
  addIdealRing(n: number, options: { hostileShare?: number } = {}): SimNode[] {
    if (this.nodes.size > 0) throw new Error('addIdealRing builds a ring from nothing')
    const added: SimNode[] = []
    for (let i = 0; i < n; i++)
      added.push(this.addNode({ hostile: this.prng.next() < (options.hostileShare ?? 0), start: false }))
    added.sort((a, b) => (a.id < b.id ? -1 : 1))
    const r = Math.min(this.#options.ring?.successors ?? 20, n - 1)
    const k = Math.min(this.#options.ring?.replicas ?? 8, n - 1)
    const ids = added.map((sim) => sim.id)
    const successorOf = (id: string) => ids[lowerBound(ids, id) % n]!
    for (const [index, sim] of added.entries()) {
      sim.node.startAsMember({
        successors: Array.from({ length: r }, (_, i) => ids[(index + 1 + i) % n]!),
        predecessors: Array.from({ length: k }, (_, i) => ids[(index - 1 - i + n) % n]!),
        // Members for an hour: old enough for every duty (fingers go to members older than 10 min).
        memberSinceMs: this.now - 60 * 60_000,
        successorOf,
      })
    }
    return added
  }

  /** The node crashes: it goes silent, and its peers find out by themselves. */
  crash(sim: SimNode): void {
    if (!sim.alive) return
    sim.alive = false
    sim.diedMs = this.now
    this.network.crash(sim.peerId)
    sim.node.destroy()
    this.invariants.leave(sim.id)
  }

  /** The node leaves gracefully: it tells its neighbours, then closes its links. */
  depart(sim: SimNode): void {
    if (!sim.alive) return
    sim.alive = false
    sim.diedMs = this.now
    sim.node.leave()
    this.invariants.leave(sim.id)
    // Its leave messages are on their way; the links close as the tab goes.
    this.clock.setTimeout(() => this.network.depart(sim.peerId), 5)
  }

  /** Runs the simulation for `ms` of simulated time. */
  run(ms: number): Promise<void> {
    return this.clock.runFor(ms, () => this.#afterEvent())
  }

  /** Runs until `promise` settles (or `maxMs` passes), and returns its value. */
  async settle<T>(promise: Promise<T>, maxMs = 600_000): Promise<T> {
    let settled = false
    void promise.then(
      () => (settled = true),
      () => (settled = true),
    )
    await this.clock.runUntil(
      this.now + maxMs,
      () => this.#afterEvent(),
      () => settled,
    )
    if (!settled) throw new Error(`did not settle within ${maxMs} ms of simulated time`)
    return promise
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((sim) => sim.alive)
  }

  liveMembers(): SimNode[] {
    return this.liveNodes().filter((sim) => sim.node.member)
  }

  /** Counts records stored from now on (replica pushes and puts), for join and leave key movement. */
  countMovements(on: boolean): void {
    this.#recordMovements = on
    if (on) this.movements = []
  }

  /** The ring as it should be at quiescence; a description of each way it is not. */
  idealRingProblems(): string[] {
    const problems: string[] = []
    const members = this.liveMembers()
    const live = this.liveNodes()
    if (members.length !== live.length)
      problems.push(`${live.length - members.length} live node(s) are not members`)
    const sorted = members.map((sim) => sim.id).sort()
    const r = this.#options.ring?.successors ?? 20
    const expectedLength = Math.min(r, sorted.length - 1)
    for (const [index, id] of sorted.entries()) {
      const snapshot = this.nodes.get(id)!.node.snapshot()
      const expected = Array.from(
        { length: expectedLength },
        (_, i) => sorted[(index + 1 + i) % sorted.length]!,
      )
      if (snapshot.successors.join() !== expected.join())
        problems.push(`${short(id)}: successor list is not exact`)
      const pred = sorted.length > 1 ? sorted[(index - 1 + sorted.length) % sorted.length]! : null
      if (snapshot.pred !== pred) problems.push(`${short(id)}: predecessor is not exact`)
    }
    // One cycle: following first successors from any member visits every member once.
    if (sorted.length > 1) {
      const seen = new Set<string>()
      let at = sorted[0]!
      while (!seen.has(at)) {
        seen.add(at)
        at = this.nodes.get(at)!.node.snapshot().successors[0] ?? at
      }
      if (seen.size !== sorted.length)
        problems.push(`the first successors form a cycle of ${seen.size}, not ${sorted.length}`)
    }
    if (problems.length <= 20) return problems
    // The count, and a broken cycle (listed last), say more than the twentieth list that is off.
    const cycle = problems.filter((problem) => problem.includes('cycle'))
    return [...problems.slice(0, 18), `… ${problems.length} problems in all`, ...cycle]
  }

  /** Each record on the first min(k, members) members from its key; a description of each one that is not. */
  placementProblems(records: PublishedRecord[], k = this.#options.ring?.replicas ?? 8): string[] {
    const problems: string[] = []
    const sorted = this.liveMembers()
      .map((sim) => sim.id)
      .sort()
    const nowS = Math.floor(this.now / 1000)
    let missing = 0
    for (const { key, record } of records) {
      if (record.expiresAt <= nowS) continue
      let start = lowerBound(sorted, key) % sorted.length
      for (let i = 0; i < Math.min(k, sorted.length); i++) {
        const holder = this.nodes.get(sorted[start]!)!
        const held = holder.node.store
          .recordsUnder(key, nowS)
          .some((stored) => recordSlot(stored) === recordSlot(record))
        if (!held) {
          missing++
          if (problems.length < 10)
            problems.push(`${short(key)} is not on replica ${i} (${short(holder.id)})`)
        }
        start = (start + 1) % sorted.length
      }
    }
    if (missing > 10) problems.push(`… ${missing} missing copies in all`)
    return problems
  }

  /** The key a record lives under (its first key, for a name record). */
  async keyOf(input: Uint8Array): Promise<string> {
    return keyOf(input, this.crypto)
  }

  /** Counters of every node, by peer id, copied (for deltas over a window). */
  counters(): Map<string, PeerCounters> {
    const out = new Map<string, PeerCounters>()
    for (const sim of this.nodes.values()) {
      const counters = this.network.counters(sim.peerId)
      if (counters) out.set(sim.id, { ...counters, sentByKind: { ...counters.sentByKind } })
    }
    return out
  }

  /** Looks up `key` from `from` and runs the simulation until the lookup is done. */
  lookup(from: SimNode, kind: SignedRecord['kind'], key: string): Promise<LookupResult> {
    return this.settle(from.node.lookup(kind, key))
  }

  #bootstrap(): string[] {
    const members = this.liveMembers().filter((sim) => !sim.hostile)
    const out: string[] = []
    for (let i = 0; i < Math.min(3, members.length); i++) out.push(this.prng.pick(members).peerId)
    return out
  }

  #onState(sim: SimNode): void {
    if (!sim.alive) return
    const snapshot = sim.node.snapshot()
    if (snapshot.member) this.invariants.join(sim.id, snapshot.successors)
    else this.invariants.leave(sim.id)
  }

  #afterEvent(): void {
    if (!this.#checkInvariants) return
    this.checks++
    this.invariants.check(new Date(this.now).toISOString())
  }
}

/** The first 8 hex characters of an id, for messages. */
export function short(id: string): string {
  return id.slice(0, 8)
}

/** Hex of a public key, to compare publishers. */
export function publisherOf(record: SignedRecord): string {
  return toHex(record.publisher)
}
