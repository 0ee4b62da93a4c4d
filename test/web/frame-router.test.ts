/**
 * The frame router of each session and the tab's registrar: hello first, frame kinds routed to their
 * protocol, budgets per remote peer, claims, and the memory of abuse. Over in-memory links with the real
 * wire protocol; the seeder is a real Swarm, the other side a peer the test drives frame by frame.
 */
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import { encodeChunkFrames, encodeControl, parseFrame } from '../../shared/wire-protocol.js'
import { BAN_STEPS_MS, BanList } from '../../web/peer/ban-list.js'
import type { MemoryLink } from '../../web/peer/memory-link.js'
import type { PeerLink } from '../../web/peer/peer-link.js'
import {
  FAIL_GRACE_MS,
  FRAMES_AFTER_FAIL,
  HELLO_TIMEOUT_MS,
  TRANSFER_BUDGETS,
} from '../../web/peer/peer-session.js'
import {
  type LinkProtocol,
  ProtocolRegistrar,
  type RouterSession,
} from '../../web/peer/protocol-registrar.js'
import { IDLE_SESSION_MS } from '../../web/peer/swarm.js'
import { FakeClock } from '../support/fake-clock.js'
import { addNode, bytesOf, MemoryNetwork, rawPeer, seed, settle } from '../support/swarm-nodes.js'
import { until } from '../support/until.js'

const RING_KIND = 0x20
const DIGEST = 'd'.repeat(64)

/** Every frame a link receives, parsed: control messages by type, others by kind. */
function tap(link: PeerLink): { kinds: string[]; errors: string[] } {
  const seen = { kinds: [] as string[], errors: [] as string[] }
  link.on('frame', (data) => {
    const parsed = parseFrame(data)
    if (!parsed.ok) return
    const { frame } = parsed
    if (frame.kind === 'control') {
      seen.kinds.push(frame.message.type)
      if (frame.message.type === 'error') seen.errors.push(frame.message.code)
    } else seen.kinds.push(frame.kind)
  })
  return seen
}

/** A peer the test drives, linked to the node 'seeder', with every frame it receives tapped. */
function linkToSeeder(network: MemoryNetwork, id: string, options: { hello?: boolean } = {}) {
  const peer = rawPeer(network, id, () => {}, options)
  const link = network.connect(id, 'seeder')
  peer.attach(link)
  return { peer, link, seen: tap(link) }
}

/** A protocol that records what it hears. */
function recordingProtocol(kind = RING_KIND, budget = { framesPerSecond: 10, burst: 20 }) {
  const heard = {
    frames: [] as { peerId: string; payload: number[] }[],
    sessions: [] as string[],
    closed: [] as string[],
  }
  const sessions = new Map<string, RouterSession>()
  const protocol: LinkProtocol = {
    kind,
    name: 'test ring',
    budget,
    onFrame: (session, payload) => heard.frames.push({ peerId: session.peerId, payload: [...payload] }),
    onSession: (session) => {
      heard.sessions.push(session.peerId)
      sessions.set(session.peerId, session)
    },
    onSessionClosed: (peerId) => heard.closed.push(peerId),
  }
  return { protocol, heard, sessions }
}

function extensionFrame(kind: number, payload: number[]): Uint8Array {
  return new Uint8Array([kind, ...payload])
}

/** Lets a failed session's grace period pass: on the fake clock when given, in real time otherwise. */
async function graceOver(clock?: FakeClock): Promise<void> {
  await settle()
  if (clock) clock.advance(FAIL_GRACE_MS)
  else await new Promise((resolve) => setTimeout(resolve, FAIL_GRACE_MS + 20))
  await settle()
}

describe('hello first', () => {
  it('never serves a request sent before hello: the link is closed with HELLO_REQUIRED', async () => {
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder')
    const record = await seed(seeder, bytesOf(4 * 16 * 1024, 1))
    const { peer: rude, link, seen } = linkToSeeder(network, 'rude', { hello: false })
    void link.send(encodeControl({ type: 'request', id: 1, digest: record.digest, index: 0 }))
    await graceOver()
    expect(seen.errors).toEqual(['HELLO_REQUIRED'])
    expect(rude.chunks.size).toBe(0)
    expect(seen.kinds).not.toContain('chunk')
    expect(rude.closed).toBe(true)
    expect(seeder.swarm.isBanned('rude')).toBe(true)
  })

  it('refuses a frame of a registered protocol before hello too', async () => {
    const network = new MemoryNetwork()
    const registrar = new ProtocolRegistrar()
    const ring = recordingProtocol()
    registrar.handle(ring.protocol)
    addNode(network, 'seeder', undefined, { registrar })
    const { link, seen } = linkToSeeder(network, 'rude', { hello: false })
    void link.send(extensionFrame(RING_KIND, [1, 2, 3]))
    await settle(40)
    expect(seen.errors).toEqual(['HELLO_REQUIRED'])
    expect(ring.heard.frames).toEqual([])
  })

  it('closes a session whose peer never says hello, with TIMEOUT, and remembers it', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', clock)
    const { seen } = linkToSeeder(network, 'mute', { hello: false })
    await settle()
    clock.advance(HELLO_TIMEOUT_MS)
    await settle(40)
    expect(seen.errors).toEqual(['TIMEOUT'])
    expect(seeder.swarm.bans.active.map((ban) => ban.reason)).toEqual(['TIMEOUT'])
  })
})

describe('the registrar and the router', () => {
  it('routes a registered kind to its protocol on every session whose peer lists it, present and future', async () => {
    const network = new MemoryNetwork()
    const registrarA = new ProtocolRegistrar()
    const registrarB = new ProtocolRegistrar()
    const registrarD = new ProtocolRegistrar()
    const a = addNode(network, 'aaaa', undefined, { registrar: registrarA })
    addNode(network, 'bbbb', undefined, { registrar: registrarB })
    addNode(network, 'cccc')
    addNode(network, 'dddd', undefined, { registrar: registrarD })
    const atA = recordingProtocol()
    const atB = recordingProtocol()
    const atD = recordingProtocol()
    registrarB.handle(atB.protocol)
    registrarD.handle(atD.protocol)
    await a.swarm.session('bbbb')
    // Registered after the session is ready: told of it at once (B's hello listed the kind).
    registrarA.handle(atA.protocol)
    expect(atA.heard.sessions).toEqual(['bbbb'])
    await settle()
    // A's hello went out before it registered the kind: B is not told of A, and sends it nothing.
    expect(atB.heard.sessions).toEqual([])
    await atA.sessions.get('bbbb')!.sendFrame(RING_KIND, new Uint8Array([7, 8]))
    await settle()
    expect(atB.heard.frames).toEqual([{ peerId: 'aaaa', payload: [7, 8] }])
    // A future session whose peer lists the kind is told of, both ways; frames flow both ways.
    await a.swarm.session('dddd')
    await settle()
    expect(atA.heard.sessions).toEqual(['bbbb', 'dddd'])
    expect(atD.heard.sessions).toEqual(['aaaa'])
    await atD.sessions.get('aaaa')!.sendFrame(RING_KIND, new Uint8Array([9]))
    await settle()
    expect(atA.heard.frames).toEqual([{ peerId: 'dddd', payload: [9] }])
    // A peer that lists no protocols (no registrar): not told of, and nothing of the kind is sent to it.
    await a.swarm.session('cccc')
    await settle()
    expect(atA.heard.sessions).toEqual(['bbbb', 'dddd'])
    const toC = a.swarm.sessions.find((s) => s.peerId === 'cccc')!
    await expect(toC.sendFrame(RING_KIND, new Uint8Array([1]))).rejects.toMatchObject({
      code: 'UNKNOWN_TYPE',
    })
    expect(toC.destroyed).toBe(false)
    // And a closed one.
    a.swarm.sessions.find((s) => s.peerId === 'dddd')!.destroy()
    expect(atA.heard.closed).toEqual(['dddd'])
  })

  it('closes a link that sends a kind nobody registered with UNKNOWN_TYPE, and remembers it', async () => {
    const network = new MemoryNetwork()
    const registrar = new ProtocolRegistrar()
    const ring = recordingProtocol()
    const unregister = registrar.handle(ring.protocol)
    const seeder = addNode(network, 'seeder', undefined, { registrar })
    const { peer, link, seen } = linkToSeeder(network, 'peer')
    await settle()
    void link.send(extensionFrame(RING_KIND, [1]))
    await settle()
    expect(ring.heard.frames).toEqual([{ peerId: 'peer', payload: [1] }])
    unregister()
    void link.send(extensionFrame(RING_KIND, [2]))
    await graceOver()
    expect(ring.heard.frames).toHaveLength(1)
    expect(seen.errors).toEqual(['UNKNOWN_TYPE'])
    expect(peer.closed).toBe(true)
    expect(seeder.swarm.bans.active.map((ban) => ban.reason)).toEqual(['UNKNOWN_TYPE'])
  })

  it('refuses kinds outside 0x10–0xff, a kind taken twice, and a budget that is not positive', () => {
    const registrar = new ProtocolRegistrar()
    const make = (kind: number, budget = { framesPerSecond: 1, burst: 1 }) => ({
      ...recordingProtocol(kind, budget).protocol,
    })
    expect(() => registrar.handle(make(0x01))).toThrow(RangeError)
    expect(() => registrar.handle(make(0x100))).toThrow(RangeError)
    expect(() => registrar.handle(make(0x30, { framesPerSecond: 0, burst: 1 }))).toThrow(RangeError)
    registrar.handle(make(0x30))
    expect(() => registrar.handle(make(0x30))).toThrow(/taken/)
  })

  it('closes a peer over its protocol budget with RATE_LIMITED; the budget refills with time', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const registrar = new ProtocolRegistrar()
    const ring = recordingProtocol(RING_KIND, { framesPerSecond: 5, burst: 10 })
    registrar.handle(ring.protocol)
    addNode(network, 'seeder', clock, { registrar })
    const { link, seen } = linkToSeeder(network, 'peer')
    await settle()
    for (let i = 0; i < 10; i++) void link.send(extensionFrame(RING_KIND, [i]))
    await settle()
    clock.advance(1000) // five more tokens
    for (let i = 0; i < 5; i++) void link.send(extensionFrame(RING_KIND, [i]))
    await settle()
    expect(ring.heard.frames).toHaveLength(15)
    expect(seen.errors).toEqual([])
    void link.send(extensionFrame(RING_KIND, [99]))
    await settle(40)
    expect(ring.heard.frames).toHaveLength(15)
    expect(seen.errors).toEqual(['RATE_LIMITED'])
  })

  it('lets a claimed session outlive the idle sweep, and closes it once released', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const registrar = new ProtocolRegistrar()
    const ring = recordingProtocol()
    registrar.handle(ring.protocol)
    const registrarB = new ProtocolRegistrar()
    const ringB = recordingProtocol()
    registrarB.handle(ringB.protocol)
    const a = addNode(network, 'aaaa', clock, { registrar })
    addNode(network, 'bbbb', clock, { registrar: registrarB })
    await a.swarm.session('bbbb')
    await settle()
    // Both ends keep the link: each side's ring claims its end.
    const release = ring.sessions.get('bbbb')!.claim('ring successor')
    const releaseB = ringB.sessions.get('aaaa')!.claim('ring predecessor')
    clock.advance(IDLE_SESSION_MS * 3)
    await settle()
    expect(a.swarm.sessions.map((s) => s.peerId)).toEqual(['bbbb'])
    release()
    release()
    releaseB()
    clock.advance(IDLE_SESSION_MS * 2)
    await settle()
    expect(a.swarm.sessions).toEqual([])
  })
})

describe('budgets per remote peer', () => {
  it('closes a flood of well-formed junk with RATE_LIMITED, counting the rejects and haves it made us send', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', clock)
    const { peer: flooder, link, seen } = linkToSeeder(network, 'flooder')
    await settle()
    // Requests for a file the seeder does not hold: each costs the request and the reject we owe.
    for (let id = 0; id < TRANSFER_BUDGETS.control.burst; id++) {
      void link.send(encodeControl({ type: 'request', id, digest: DIGEST, index: 0 }))
    }
    // Every frame in before the fake clock moves: one that came after would find its bucket refilled (on a
    // busy machine 20 tasks did not deliver 200 frames, and 3 more rejects were counted).
    const wire = link as MemoryLink // MemoryNetwork.connect makes memory links
    await until(() => wire.bufferedAmount === 0 || wire.destroyed, 'the flood delivered')
    await graceOver(clock)
    expect(seen.errors).toEqual(['RATE_LIMITED'])
    // The burst less the hello, answered two tokens at a time (the request and its reject), then closed.
    expect(flooder.rejects.length).toBe(Math.floor((TRANSFER_BUDGETS.control.burst - 1) / 2))
    expect(flooder.closed).toBe(true)
    expect(seeder.swarm.isBanned('flooder')).toBe(true)
  })

  it('closes at once, without waiting out the grace, a peer that keeps flooding after it was told to stop', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    addNode(network, 'seeder', clock)
    const { peer, link, seen } = linkToSeeder(network, 'flooder')
    await settle()
    for (let id = 0; id < TRANSFER_BUDGETS.control.burst + FRAMES_AFTER_FAIL + 10; id++) {
      void link.send(encodeControl({ type: 'not-interested', digest: DIGEST }))
    }
    await settle(80)
    // The clock never moved: the grace was not waited out.
    expect(clock.now()).toBe(0)
    expect(seen.errors).toEqual(['RATE_LIMITED'])
    expect(peer.closed).toBe(true)
  })

  it('charges chunk data nobody asked for', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    addNode(network, 'seeder', clock)
    const { link, seen } = linkToSeeder(network, 'pusher')
    await settle()
    const frames = encodeChunkFrames(12345, bytesOf(16 * 1024, 2), 16 * 1024 + 9)
    for (let i = 0; i < TRANSFER_BUDGETS.control.burst + 1; i++) void link.send(frames[0]!)
    await settle(80)
    expect(seen.errors).toEqual(['RATE_LIMITED'])
  })

  it('keeps the budget per peer, not per link: a peer that links again finds its bucket as it left it', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    addNode(network, 'seeder', clock)
    const { peer, link: first } = linkToSeeder(network, 'peer')
    await settle()
    const burst = TRANSFER_BUDGETS.control.burst
    for (let i = 0; i < burst - 11; i++)
      void first.send(encodeControl({ type: 'not-interested', digest: DIGEST }))
    await settle(40)
    first.destroy()
    await settle()
    const second = network.connect('peer', 'seeder')
    peer.attach(second)
    const seen = tap(second)
    await settle()
    // One token went on the new link's hello: ten are left, not a fresh burst.
    for (let i = 0; i < 11; i++) void second.send(encodeControl({ type: 'not-interested', digest: DIGEST }))
    await settle(40)
    expect(seen.errors).toEqual(['RATE_LIMITED'])
  })
})

describe('memory of abuse', () => {
  it('refuses a peer closed for a bad frame for 1 minute, then 10 minutes, then the session', async () => {
    const clock = new FakeClock()
    const network = new MemoryNetwork()
    const seeder = addNode(network, 'seeder', clock)
    const liar = rawPeer(network, 'liar', () => {})
    const offend = async () => {
      const link = network.connect('liar', 'seeder')
      liar.attach(link)
      await settle()
      const at = clock.now()
      void link.send(new Uint8Array([0x00, 0x7b])) // '{': not JSON
      await graceOver(clock)
      expect(liar.closed).toBe(true)
      return at
    }
    for (const stepMs of BAN_STEPS_MS) {
      const offendedAt = await offend()
      expect(seeder.swarm.isBanned('liar')).toBe(true)
      expect(seeder.swarm.bans.active[0]!.untilMs).toBe(offendedAt + stepMs)
      // A link it opens meanwhile is closed at once, before anything it sends is read.
      const again = network.connect('liar', 'seeder')
      await settle()
      expect(again.destroyed).toBe(true)
      if (!Number.isFinite(stepMs)) break
      clock.advance(offendedAt + stepMs - 1 - clock.now())
      expect(seeder.swarm.isBanned('liar')).toBe(true)
      clock.advance(1)
      expect(seeder.swarm.isBanned('liar')).toBe(false)
    }
    clock.advance(24 * 3600 * 1000)
    expect(seeder.swarm.isBanned('liar')).toBe(true)
    expect(seeder.swarm.bans.active).toMatchObject([{ key: 'peer:liar', strikes: 3, reason: 'BAD_MESSAGE' }])
  })

  it('refuses an abuser that comes back under a new peer id from the same address', async () => {
    const network = new MemoryNetwork()
    network.options = { remoteAddress: '198.51.100.7' }
    const seeder = addNode(network, 'seeder')
    const { peer: first, link } = linkToSeeder(network, 'first-id')
    await settle()
    void link.send(new Uint8Array([0x05])) // an unknown frame kind below the extension range
    await graceOver()
    expect(first.closed).toBe(true)
    // A tracker reconnect gives a fresh id; the address on the selected ICE pair is the same.
    const { peer: second, seen } = linkToSeeder(network, 'fresh-id')
    await graceOver()
    expect(seen.errors).toEqual(['PEER_BANNED'])
    expect(seen.kinds).not.toContain('hello') // refused before this side said hello
    expect(second.closed).toBe(true)
    // Another peer at another address is served as usual.
    network.options = { remoteAddress: '203.0.113.9' }
    const { peer: honest, seen: seenOk } = linkToSeeder(network, 'honest')
    await settle(40)
    expect(seenOk.kinds).toContain('hello')
    expect(honest.closed).toBe(false)
    expect(seeder.swarm.bans.active.map((ban) => ban.key).sort()).toEqual([
      'address:198.51.100.7',
      'peer:first-id',
    ])
  })

  it('does not key bans on loopback, which every tab of a machine shares', () => {
    const clock = new FakeClock()
    const bans = new BanList(clock)
    bans.punish(['peer:x'], 'RATE_LIMITED')
    expect(bans.banOf(['peer:x'])?.untilMs).toBe(BAN_STEPS_MS[0])
    // One offence closing several links at once is one strike.
    bans.punish(['peer:x'], 'RATE_LIMITED')
    expect(bans.banOf(['peer:x'])?.strikes).toBe(1)
    bans.punish(['peer:y'], 'CHUNK_CORRUPT', { forSession: true })
    expect(bans.banOf(['peer:y'])?.untilMs).toBe(Number.POSITIVE_INFINITY)
  })

  it('fails the session with the error a protocol gives, and counts it against the peer', async () => {
    const network = new MemoryNetwork()
    const registrar = new ProtocolRegistrar()
    registrar.handle({
      kind: RING_KIND,
      name: 'strict',
      budget: { framesPerSecond: 10, burst: 10 },
      onFrame: (session) => session.fail(new SwarmError('BAD_MESSAGE', 'not a ring message')),
    })
    const seeder = addNode(network, 'seeder', undefined, { registrar })
    const { link, seen } = linkToSeeder(network, 'peer')
    await settle()
    void link.send(extensionFrame(RING_KIND, [0]))
    await settle(40)
    expect(seen.errors).toEqual(['BAD_MESSAGE'])
    expect(seeder.swarm.isBanned('peer')).toBe(true)
  })
})
