/**
 * The link manager: one link per pair of peers, glare, caps, timeouts and teardown. First fast, over
 * in-memory links and signalling; then for real, over WebRTC (@roamhq/wrtc) on loopback and the real
 * tracker relaying the signals.
 */
import wrtc from '@roamhq/wrtc'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { parseServerMessage } from '../../shared/tracker-protocol.js'
import { MAX_FRAME_BYTES } from '../../shared/wire-protocol.js'
import type { CandidateType } from '../../web/peer/ice-diagnosis.js'
import {
  ABUSIVE_LINK_REFILL_MS,
  ABUSIVE_LINKS_BURST,
  CONNECT_TIMEOUT_MS,
  INCOMING_RETRY_MS,
  LinkManager,
  type LinkManagerOptions,
  MAX_PENDING_LINKS,
  MAX_WAITING_ATTEMPTS,
  ORIGIN_ABUSIVE_LINK_REFILL_MS,
  ORIGIN_ABUSIVE_LINKS_BURST,
  STALE_PENDING_MS,
} from '../../web/peer/link-manager.js'
import { MemoryLink, MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import type { IceServer, LinkFactory, LinkOptions, PeerLink, Signaller } from '../../web/peer/peer-link.js'
import {
  connectionTypeFromStats,
  HIGH_WATER_BYTES,
  linkError,
  SimplePeerLink,
  type SimplePeerLinkOptions,
  simplePeerLinkFactory,
} from '../../web/peer/simple-peer-link.js'
import { FakeClock } from '../support/fake-clock.js'
import { startTestServer } from '../support/server.js'
import { unsignedSignals } from '../support/signal-auth.js'
import { TestClient } from '../support/tracker-client.js'
import { unopenableLinks } from '../support/unopenable-links.js'
import { until } from '../support/until.js'

const MiB = 1024 * 1024

async function tasks(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

const STUN: IceServer[] = [{ urls: 'stun:stun.example.org:3478' }]
const STUN_AND_TURN: IceServer[] = [
  { urls: 'stun:stun.example.org:3478' },
  { urls: 'turn:turn.example.org:3478', username: '1700000000:aaaa', credential: 'secret' },
]

/** Records every event a manager emits, to check what fired and that nothing fires after destroy. */
function record(manager: LinkManager): string[] {
  const events: string[] = []
  manager.on('link', (link) => events.push(`link ${link.remotePeerId}`))
  manager.on('link-closed', ({ peerId }) => events.push(`link-closed ${peerId}`))
  manager.on('declined', ({ peerId, reason }) => events.push(`declined ${peerId} ${reason}`))
  return events
}

/** Sends a frame over `from` and resolves with the next frame `to` receives. */
async function roundTrip(from: PeerLink, to: PeerLink, tag: number): Promise<number> {
  const received = new Promise<Uint8Array>((resolve) => {
    const off = to.on('frame', (frame) => {
      off()
      resolve(frame)
    })
  })
  await from.send(new Uint8Array([tag]))
  return (await received)[0]!
}

describe('LinkManager over in-memory links', () => {
  const managers: LinkManager[] = []
  afterEach(() => {
    for (const manager of managers.splice(0)) manager.destroy()
  })

  function peer(
    network: MemoryLinkNetwork,
    peerId: string,
    extra: { maxLinks?: number; connectTimeoutMs?: number } = {},
  ) {
    const manager = new LinkManager({
      signalAuth: unsignedSignals,
      peerId,
      signaller: network.signaller(peerId),
      createLink: network.createLink,
      ...extra,
    })
    managers.push(manager)
    return manager
  }

  it('connects two peers with one link, announced on both sides, and returns it again', async () => {
    const network = new MemoryLinkNetwork()
    const a = peer(network, 'aaaa')
    const b = peer(network, 'bbbb')
    const aEvents = record(a)
    const bEvents = record(b)
    const linkAtB = b.once('link')
    const [first, second] = await Promise.all([a.connect('bbbb'), a.connect('bbbb')])
    expect(first).toBe(second)
    expect(await a.connect('bbbb')).toBe(first)
    const atB = await linkAtB
    expect(atB.remotePeerId).toBe('aaaa')
    expect(await b.connect('aaaa')).toBe(atB)
    expect(await roundTrip(first, atB, 7)).toBe(7)
    expect(await roundTrip(atB, first, 8)).toBe(8)
    expect(aEvents).toEqual(['link bbbb'])
    expect(bEvents).toEqual(['link aaaa'])
    expect([network.createdBy('aaaa'), network.createdBy('bbbb')]).toEqual([1, 1])
    expect(a.links).toEqual([first])
    expect(a.get('bbbb')).toBe(first)
  })

  it('resolves glare to one link: the smaller id keeps offering, the other answers', async () => {
    const network = new MemoryLinkNetwork()
    const small = peer(network, 'aaaa')
    const large = peer(network, 'zzzz')
    const [atSmall, atLarge] = await Promise.all([small.connect('zzzz'), large.connect('aaaa')])
    expect(await roundTrip(atSmall, atLarge, 1)).toBe(1)
    expect(await roundTrip(atLarge, atSmall, 2)).toBe(2)
    expect([small.linkCount, large.linkCount]).toEqual([1, 1])
    // Both knocked before building anything: the larger id gave up its knock and answered, so each side
    // built exactly one connection and none was wasted.
    expect([network.createdBy('aaaa'), network.createdBy('zzzz')]).toEqual([1, 1])
  })

  it('declines an offer over its cap before building a link, and the offerer gets PEER_BUSY', async () => {
    const network = new MemoryLinkNetwork()
    const capped = peer(network, 'cccc', { maxLinks: 1 })
    const first = peer(network, 'aaaa')
    const surplus = peer(network, 'bbbb')
    const events = record(capped)
    await first.connect('cccc')
    const built = network.createdBy('cccc')
    const error = await surplus.connect('cccc').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SwarmError)
    expect((error as SwarmError).code).toBe('PEER_BUSY')
    expect(network.createdBy('cccc')).toBe(built)
    expect(events).toEqual(['link aaaa', 'declined bbbb busy'])
    expect(surplus.linkCount).toBe(0)
    // Its own connect over the cap is refused at once, without building anything.
    await expect(capped.connect('bbbb')).rejects.toMatchObject({ code: 'PEER_BUSY' })
    expect(network.createdBy('cccc')).toBe(built)
  })

  it('rejects a connect whose knock is never answered within the timeout, having built nothing', async () => {
    const clock = new FakeClock()
    const built: MemoryLink[] = []
    const silent: Signaller = { send: () => {}, onSignal: () => () => {} }
    const manager = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'aaaa',
      signaller: silent,
      clock,
      connectTimeoutMs: 1000,
      createLink: (options) => {
        const link = new MemoryLink(options.remotePeerId)
        built.push(link)
        return link
      },
    })
    managers.push(manager)
    const connecting = manager.connect('bbbb').catch((e: unknown) => e)
    clock.advance(999)
    await tasks()
    expect([manager.linkCount, manager.waitingCount]).toEqual([0, 1])
    clock.advance(1)
    const error = await connecting
    expect(error).toMatchObject({ code: 'PEER_UNREACHABLE' })
    // Nobody accepted the knock: no RTCPeerConnection was spent on a peer that never showed it was there.
    expect(built).toEqual([])
    expect(manager.budget.built).toBe(0)
    expect(manager.linkCount).toBe(0)
    expect(clock.pendingTimers).toBe(0)
  })

  describe('a peer that left the tracker', () => {
    /** A signaller whose undeliverable reports the test makes, around another one. */
    function reporting(inner: Signaller) {
      const listeners = new Set<(to: string, code: ErrorCode) => void>()
      const signaller: Signaller = {
        send: (to, data) => inner.send(to, data),
        onSignal: (listener) => inner.onSignal(listener),
        onUndeliverable: (listener) => {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
      }
      const report = (to: string, code: ErrorCode) => {
        for (const listener of [...listeners]) listener(to, code)
      }
      return { signaller, report, listeners }
    }

    it('rejects a connect with PEER_NOT_FOUND as soon as its signals are undeliverable, not at the timeout', async () => {
      const network = new MemoryLinkNetwork()
      const clock = new FakeClock()
      const built: MemoryLink[] = []
      const factory = network.createLink
      const manager = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: 'aaaa',
        signaller: network.signaller('aaaa'),
        createLink: (options) => {
          const link = factory(options) as MemoryLink
          built.push(link)
          return link
        },
        clock,
      })
      managers.push(manager)
      const events = record(manager)
      network.signaller('bbbb')
      network.leave('bbbb')
      let outcome: unknown
      manager.connect('bbbb').then(
        () => (outcome = 'connected'),
        (e: unknown) => (outcome = e),
      )
      await tasks()
      // No time passed on the clock: the tracker's answer, not the connect timeout, ended the attempt.
      expect(clock.now()).toBe(0)
      expect(outcome).toBeInstanceOf(SwarmError)
      expect(outcome).toMatchObject({ code: 'PEER_NOT_FOUND' })
      expect((outcome as SwarmError).message).toBe('bbbb is not connected to the tracker (it left)')
      expect(built).toEqual([]) // its knock came back undeliverable: nothing was built for it
      expect(manager.linkCount).toBe(0)
      expect(clock.pendingTimers).toBe(0)
      expect(events).toEqual([])
    })

    it('leaves an open link alone, ignores other codes, and stops listening on destroy', async () => {
      const network = new MemoryLinkNetwork()
      const clock = new FakeClock()
      const { signaller, report, listeners } = reporting(network.signaller('aaaa'))
      const a = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: 'aaaa',
        signaller,
        createLink: network.createLink,
        clock,
      })
      managers.push(a)
      peer(network, 'bbbb')
      const events = record(a)
      const link = await a.connect('bbbb')
      report('bbbb', 'PEER_NOT_FOUND')
      await tasks()
      expect(link.destroyed).toBe(false)
      expect(a.get('bbbb')).toBe(link)

      // cccc is there but never answers: a lost signal (PEER_BUSY) does not end the attempt, a departure does.
      network.signaller('cccc')
      let outcome: unknown
      a.connect('cccc').then(
        () => (outcome = 'connected'),
        (e: unknown) => (outcome = e),
      )
      await tasks()
      report('cccc', 'PEER_BUSY')
      report('dddd', 'PEER_NOT_FOUND') // no attempt with it: nothing to do
      await tasks()
      expect(outcome).toBeUndefined()
      expect([a.linkCount, a.waitingCount]).toEqual([1, 1])
      report('cccc', 'PEER_NOT_FOUND')
      await tasks()
      expect(outcome).toMatchObject({ code: 'PEER_NOT_FOUND' })
      expect(a.linkCount).toBe(1)
      expect(events).toEqual(['link bbbb'])

      expect(listeners.size).toBe(1)
      a.destroy()
      a.destroy()
      expect(listeners.size).toBe(0)
    })

    it('gives up answering an offerer that left', async () => {
      const network = new MemoryLinkNetwork()
      const clock = new FakeClock()
      const { signaller, report } = reporting(network.signaller('bbbb'))
      const answering = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: 'bbbb',
        signaller,
        // Links that never open, so that the attempt stays pending until something ends it.
        createLink: unopenableLinks(['host']),
        clock,
      })
      managers.push(answering)
      const offerer = network.signaller('aaaa')
      offerer.send('bbbb', { type: 'offer', sid: 's1', sdp: 'v=0' })
      await tasks()
      expect(answering.waitingCount).toBe(1)
      report('aaaa', 'PEER_NOT_FOUND')
      expect(answering.waitingCount).toBe(0)
      expect(clock.pendingTimers).toBe(0)
    })
  })

  describe('says why a link could not be made', () => {
    /** Two managers on one fake clock whose links signal the given candidates and never open. */
    function stuckPair(
      local: CandidateType[],
      remote: CandidateType[],
      iceServers: IceServer[],
      options: { remoteInSdp?: boolean } = {},
    ) {
      const network = new MemoryLinkNetwork()
      const clock = new FakeClock()
      const make = (peerId: string, types: CandidateType[], inSdp: boolean) => {
        const factory = unopenableLinks(types, { inSdp })
        const manager = new LinkManager({
          signalAuth: unsignedSignals,
          peerId,
          signaller: network.signaller(peerId),
          createLink: factory,
          iceServers,
          clock,
        })
        managers.push(manager)
        return { manager, factory }
      }
      return {
        clock,
        a: make('aaaa', local, false),
        b: make('bbbb', remote, options.remoteInSdp ?? false),
      }
    }

    it('rejects with NAT_BLOCKED when both sides punched holes in vain and there is no TURN', async () => {
      const { clock, a, b } = stuckPair(['host', 'srflx'], ['host', 'srflx'], STUN)
      const connecting = a.manager.connect('bbbb').catch((e: unknown) => e)
      await tasks()
      expect(b.factory.built).toHaveLength(1) // the offer arrived and was answered
      clock.advance(CONNECT_TIMEOUT_MS - 1)
      await tasks()
      expect(a.factory.built[0]!.destroyed).toBe(false)
      clock.advance(1)
      const error = await connecting
      expect(error).toBeInstanceOf(SwarmError)
      expect(error).toMatchObject({ code: 'NAT_BLOCKED' })
      const message = (error as SwarmError).message
      expect(message).toContain('local candidates: host, srflx')
      expect(message).toContain('remote candidates: host, srflx')
      expect(message).toContain('TURN: no')
      expect(a.factory.built[0]!.destroyed).toBe(true)
      expect(a.manager.linkCount).toBe(0)
    })

    it('rejects with PEER_UNREACHABLE when TURN is configured and still nothing got through', async () => {
      const { clock, a } = stuckPair(['host', 'srflx', 'relay'], ['host', 'srflx', 'relay'], STUN_AND_TURN)
      const connecting = a.manager.connect('bbbb').catch((e: unknown) => e)
      await tasks()
      clock.advance(CONNECT_TIMEOUT_MS)
      const error = await connecting
      expect(error).toMatchObject({ code: 'PEER_UNREACHABLE' })
      expect((error as SwarmError).message).toContain('TURN: yes')
    })

    it('rejects with UDP_BLOCKED when this side got no server-reflexive candidate from its STUN server', async () => {
      // The other side's candidates come inside its answer's SDP this time.
      const { clock, a } = stuckPair(['host'], ['host', 'srflx'], STUN, { remoteInSdp: true })
      const connecting = a.manager.connect('bbbb').catch((e: unknown) => e)
      await tasks()
      clock.advance(CONNECT_TIMEOUT_MS)
      const error = await connecting
      expect(error).toMatchObject({ code: 'UDP_BLOCKED' })
      expect((error as SwarmError).message).toContain('remote candidates: host, srflx')
    })

    it('diagnoses ICE failing before the timeout at once, keeping the failure as the cause', async () => {
      const { clock, a, b } = stuckPair(['host', 'srflx'], ['srflx'], STUN)
      // The answering side connects the other way round: its diagnosis sees the same, mirrored.
      const atB = b.manager.connect('aaaa').catch((e: unknown) => e)
      const connecting = a.manager.connect('bbbb').catch((e: unknown) => e)
      await tasks()
      const iceFailure = new SwarmError(
        'PEER_UNREACHABLE',
        'ERR_ICE_CONNECTION_FAILURE: Ice connection failed.',
      )
      a.factory.built.at(-1)!.destroy(iceFailure)
      const error = await connecting
      expect(error).toMatchObject({ code: 'NAT_BLOCKED', cause: iceFailure })
      expect((error as SwarmError).message).toContain('ERR_ICE_CONNECTION_FAILURE')
      clock.advance(CONNECT_TIMEOUT_MS)
      expect(await atB).toMatchObject({ code: 'NAT_BLOCKED' })
    })

    it('says PEER_UNREACHABLE when the peer never answered', async () => {
      const clock = new FakeClock()
      const manager = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: 'aaaa',
        signaller: { send: () => {}, onSignal: () => () => {} },
        createLink: unopenableLinks(['host', 'srflx']),
        iceServers: STUN,
        clock,
      })
      managers.push(manager)
      const connecting = manager.connect('bbbb').catch((e: unknown) => e)
      await tasks()
      clock.advance(CONNECT_TIMEOUT_MS)
      const error = await connecting
      expect(error).toMatchObject({ code: 'PEER_UNREACHABLE' })
      expect((error as SwarmError).message).toContain('remote candidates: none')
    })
  })

  it('ignores malformed and stray signals, and still connects afterwards', async () => {
    const network = new MemoryLinkNetwork()
    const a = peer(network, 'aaaa')
    peer(network, 'bbbb')
    const raw = network.signaller('mallory')
    const junk: unknown[] = [
      {},
      { type: 'offer' },
      { type: 'offer', sid: 'x', sdp: 42 },
      { type: 'offer', sid: '', sdp: 'v=0' },
      { type: 'offer', sid: 'x'.repeat(65), sdp: 'v=0' },
      { type: 'answer', sid: 'nope', sdp: 'v=0' },
      { type: 'candidate', sid: 'nope', candidate: 'not an object' },
      { type: 'candidate', sid: 'nope', candidate: { candidate: 'x', sdpMLineIndex: -1 } },
      { type: 'decline', sid: 'nope', reason: 'busy' },
      { type: 'renegotiate', renegotiate: true },
      { type: '__proto__' },
      { type: 'offer', sid: 'x', sdp: 'x'.repeat(70 * 1024) },
    ]
    for (const data of junk) raw.send('aaaa', data as Record<string, unknown>)
    await tasks()
    expect(a.linkCount).toBe(0)
    const link = await a.connect('bbbb')
    // Stray answers and candidates for the wrong attempt, from the right peer, change nothing.
    const fromB = network.signaller('bbbb')
    fromB.send('aaaa', { type: 'answer', sid: 'other', sdp: 'memory:x' })
    fromB.send('aaaa', { type: 'candidate', sid: 'other', candidate: { candidate: 'c' } })
    fromB.send('aaaa', { type: 'decline', sid: 'other', reason: 'busy' })
    await tasks()
    expect(a.get('bbbb')).toBe(link)
    expect(link.destroyed).toBe(false)
  })

  it('reports a link closed by the other side, and connects again afterwards', async () => {
    const network = new MemoryLinkNetwork()
    const a = peer(network, 'aaaa')
    const b = peer(network, 'bbbb')
    const closedAtA = a.once('link-closed')
    const closedAtB = b.once('link-closed')
    const link = await a.connect('bbbb')
    await until(() => b.get('aaaa') !== undefined)
    b.get('aaaa')!.destroy()
    expect(await closedAtB).toEqual({ peerId: 'aaaa' })
    expect(await closedAtA).toEqual({ peerId: 'bbbb' })
    expect(link.destroyed).toBe(true)
    expect([a.linkCount, b.linkCount]).toEqual([0, 0])
    const again = await b.connect('aaaa')
    expect(again).not.toBe(link)
    await until(() => a.get('bbbb') !== undefined)
    expect(await roundTrip(again, a.get('bbbb')!, 3)).toBe(3)
  })

  it('refuses its own id', async () => {
    const network = new MemoryLinkNetwork()
    await expect(peer(network, 'aaaa').connect('aaaa')).rejects.toMatchObject({ code: 'SELF_SIGNAL' })
  })

  it('destroys every link once, rejects pending connects, and emits nothing afterwards', async () => {
    const network = new MemoryLinkNetwork()
    const a = peer(network, 'aaaa')
    const b = peer(network, 'bbbb', { connectTimeoutMs: 200 })
    peer(network, 'cccc')
    const events = record(a)
    const link = await a.connect('bbbb')
    let closes = 0
    link.on('close', () => closes++)
    const pending = a.connect('cccc').catch((e: unknown) => e)
    const bClosed = b.once('link-closed')
    a.destroy()
    a.destroy()
    expect(await pending).toMatchObject({ code: 'CANCELLED' })
    expect(link.destroyed).toBe(true)
    await bClosed
    await tasks()
    expect(closes).toBe(1)
    expect(events).toEqual(['link bbbb'])
    await expect(a.connect('bbbb')).rejects.toMatchObject({ code: 'CANCELLED' })
    // An offer reaching a destroyed manager builds nothing, and goes unanswered.
    const built = network.createdBy('aaaa')
    await expect(b.connect('aaaa')).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' })
    expect(network.createdBy('aaaa')).toBe(built)
    expect(events).toEqual(['link bbbb'])
  })
})

describe('LinkManager against offers that would hold its cap, and its RTCPeerConnection budget', () => {
  const managers: LinkManager[] = []
  afterEach(() => {
    for (const manager of managers.splice(0)) manager.destroy()
  })

  /** A victim whose answering links go through offer/answer but never open (as a hostile offer leaves them). */
  function victim(network: MemoryLinkNetwork, clock: FakeClock, extra: Partial<LinkManagerOptions> = {}) {
    const built = unopenableLinks(['host'])
    const manager = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'victim',
      signaller: network.signaller('victim'),
      createLink: built,
      clock,
      ...extra,
    })
    managers.push(manager)
    const declined: string[] = []
    manager.on('declined', ({ peerId, reason }) => declined.push(`${peerId} ${reason}`))
    return { manager, built, declined }
  }

  /**
   * A hostile peer: knocks, then offers an SDP with no candidates, and never says anything more. `origin`:
   * the tracker's tag of the address it connects from.
   */
  function attacker(network: MemoryLinkNetwork, id: string, origin?: string) {
    const signaller = network.signaller(id, origin === undefined ? {} : { origin })
    const heard: Record<string, unknown>[] = []
    signaller.onSignal((_from, data) => heard.push(data))
    let n = 0
    return {
      heard,
      offer(): string {
        const sid = `${id}-${++n}`
        signaller.send('victim', { type: 'knock', sid })
        signaller.send('victim', { type: 'offer', sid, sdp: 'v=0\r\n' })
        return sid
      },
      accepted: (sid: string) => heard.some((d) => d.type === 'accept' && d.sid === sid),
    }
  }

  it('lets offers without candidates hold no connection and no slot of the cap; quiet ones give way', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { manager, built, declined } = victim(network, clock)
    const attackers = Array.from({ length: MAX_WAITING_ATTEMPTS + 6 }, (_, i) =>
      attacker(network, `evil${String(i).padStart(2, '0')}`),
    )
    for (const a of attackers.slice(0, 34)) a.offer()
    await tasks(20)
    // Their offers carry no candidate: nothing was built for them, and they hold no slot of the cap.
    expect(built.built).toHaveLength(0)
    expect([manager.linkCount, manager.pendingCount, manager.waitingCount]).toEqual([0, 0, 34])
    expect(declined).toEqual([])
    // An honest peer links meanwhile.
    const honest = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'honest',
      signaller: network.signaller('honest'),
      createLink: network.createLink,
    })
    managers.push(honest)
    const tab = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'tab',
      signaller: network.signaller('tab'),
      createLink: network.createLink,
    })
    managers.push(tab)
    await honest.connect('tab')

    // Waiting attempts are bounded too; when full, a new knock is declined until some have gone quiet.
    for (const a of attackers.slice(34)) a.offer()
    await tasks(20)
    expect(manager.waitingCount).toBe(MAX_WAITING_ATTEMPTS)
    expect(declined).toHaveLength(attackers.length - MAX_WAITING_ATTEMPTS)
    clock.advance(STALE_PENDING_MS)
    const late = network.signaller('late')
    const heard: Record<string, unknown>[] = []
    late.onSignal((_from, data) => heard.push(data))
    late.send('victim', { type: 'knock', sid: 'l1' })
    await tasks()
    expect(heard).toContainEqual({ type: 'accept', sid: 'l1' })
    expect(manager.waitingCount).toBe(MAX_WAITING_ATTEMPTS)
  })

  it('gives connections built and not open yet only a share of the cap; a re-offer is no sign of life', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { manager, built, declined } = victim(network, clock)
    // Offers with a (fake) candidate: a connection is built for each, and ICE never completes.
    const withCandidate = (id: string, sid: string) => {
      const signaller = network.signaller(id)
      signaller.send('victim', { type: 'knock', sid })
      signaller.send('victim', { type: 'offer', sid, sdp: 'v=0\r\n' })
      signaller.send('victim', {
        type: 'candidate',
        sid,
        candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMLineIndex: 0 },
      })
    }
    for (let i = 0; i < MAX_PENDING_LINKS + 2; i++) withCandidate(`evil${i}`, `s${i}`)
    await tasks(20)
    expect(manager.pendingCount).toBe(MAX_PENDING_LINKS)
    expect(built.built).toHaveLength(MAX_PENDING_LINKS)
    // The two over the share were declined when their candidate came, before anything was built.
    expect(declined).toEqual(['evil8 busy', 'evil9 busy'])
    // Once quiet for a while, a built attempt gives way to a new one that needs its slot, even if its
    // peer keeps offering again.
    clock.advance(STALE_PENDING_MS)
    withCandidate('evil0', 'again')
    await tasks(20)
    expect(manager.pendingCount).toBe(MAX_PENDING_LINKS)
  })

  it('does not restart the connect timeout for a re-offer, and declines a peer whose attempt failed for a while', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { manager, declined } = victim(network, clock)
    const evil = attacker(network, 'evil')
    const first = evil.offer()
    await tasks()
    expect(evil.accepted(first)).toBe(true)
    clock.advance(10_000)
    const second = evil.offer() // replaces the first attempt, keeping its deadline
    await tasks()
    expect(evil.accepted(second)).toBe(true)
    clock.advance(CONNECT_TIMEOUT_MS - 10_000 - 1)
    expect(manager.waitingCount).toBe(1)
    clock.advance(1)
    expect(manager.waitingCount).toBe(0) // 15 s in all, not 10 + 15
    const third = evil.offer()
    await tasks()
    expect(evil.accepted(third)).toBe(false)
    expect(declined).toEqual(['evil busy'])
    clock.advance(INCOMING_RETRY_MS)
    const fourth = evil.offer()
    await tasks()
    expect(evil.accepted(fourth)).toBe(true)
    // Failing again doubles the wait.
    clock.advance(CONNECT_TIMEOUT_MS)
    clock.advance(INCOMING_RETRY_MS)
    evil.offer()
    await tasks()
    expect(declined).toEqual(['evil busy', 'evil busy'])
  })

  it('builds the answering connection only once the offer has come with a candidate', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { built } = victim(network, clock)
    const peer = network.signaller('peer')
    peer.send('victim', { type: 'knock', sid: 's' })
    peer.send('victim', { type: 'offer', sid: 's', sdp: 'v=0\r\n' })
    await tasks()
    expect(built.built).toHaveLength(0)
    peer.send('victim', {
      type: 'candidate',
      sid: 's',
      candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.9 5000 typ host', sdpMLineIndex: 0 },
    })
    await tasks()
    expect(built.built).toHaveLength(1)
    // An offer that carries its candidates (no trickle) is answered at once.
    const other = network.signaller('other')
    other.send('victim', {
      type: 'offer',
      sid: 't',
      sdp: 'v=0\r\na=candidate:1 1 udp 1 10.0.0.8 5000 typ host\r\n',
    })
    await tasks()
    expect(built.built).toHaveLength(2)
  })

  it('declines a banned peer before building anything, and refuses to dial it', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { manager, built, declined } = victim(network, clock, { refuses: (peerId) => peerId === 'evil' })
    const evil = attacker(network, 'evil')
    evil.offer()
    await tasks()
    expect(declined).toEqual(['evil refused'])
    expect(built.built).toEqual([])
    await expect(manager.connect('evil')).rejects.toMatchObject({ code: 'PEER_BANNED' })
  })

  it('declines an offer whose candidates show a banned address, before building anything', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { built, declined } = victim(network, clock, { refusesAddress: (a) => a === '198.51.100.7' })
    const peer = network.signaller('fresh-id')
    peer.send('victim', { type: 'knock', sid: 's' })
    peer.send('victim', { type: 'offer', sid: 's', sdp: 'v=0\r\n' })
    peer.send('victim', {
      type: 'candidate',
      sid: 's',
      candidate: {
        candidate: 'candidate:1 1 udp 1 198.51.100.7 5000 typ srflx raddr 0.0.0.0 rport 0',
        sdpMLineIndex: 0,
      },
    })
    await tasks()
    expect(declined).toEqual(['fresh-id refused'])
    expect(built.built).toEqual([])
  })

  it('declines other peers while too many links were closed for abuse lately, and takes them again later', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    const { manager, declined } = victim(network, clock)
    for (let i = 0; i < ABUSIVE_LINKS_BURST; i++) manager.noteAbusiveLink()
    const evil = attacker(network, 'fresh-id')
    evil.offer()
    await tasks()
    expect(declined).toEqual(['fresh-id busy'])
    clock.advance(ABUSIVE_LINK_REFILL_MS)
    const sid = evil.offer()
    await tasks()
    expect(evil.accepted(sid)).toBe(true)
  })

  it('declines fresh peer ids from an address whose links were closed for abuse, and takes newcomers from elsewhere', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    // The tab-wide allowance out of the way: what stops the flooder here is its address's.
    const { manager, declined } = victim(network, clock, { abusiveLinksBurst: 1000 })
    const knock = async (id: string, origin?: string) => {
      const peer = attacker(network, id, origin)
      const sid = peer.offer()
      await tasks()
      return peer.accepted(sid)
    }
    // A flooder minting a new id for every link, from one address: each link it gets is closed for abuse.
    for (let i = 0; i < ORIGIN_ABUSIVE_LINKS_BURST; i++) {
      expect(await knock(`flood-${i}`, 'flooder-addr')).toBe(true)
      manager.noteAbusiveLink(`flood-${i}`)
    }
    expect(await knock('flood-next', 'flooder-addr')).toBe(false)
    expect(declined).toEqual(['flood-next busy'])
    // A crowd of honest newcomers meanwhile, from other addresses (and one with no origin: a ring relay),
    // is taken as before.
    for (let i = 0; i < 40; i++) expect(await knock(`newcomer-${i}`, `addr-${i % 20}`)).toBe(true)
    expect(await knock('via-ring')).toBe(true)
    // The flooder's address gets one more link a minute.
    clock.advance(ORIGIN_ABUSIVE_LINK_REFILL_MS)
    expect(await knock('flood-later', 'flooder-addr')).toBe(true)
    manager.noteAbusiveLink('flood-later')
    expect(await knock('flood-again', 'flooder-addr')).toBe(false)
  })

  it('links any number of newcomers from one address until its links are closed for abuse, then only others', async () => {
    const network = new MemoryLinkNetwork()
    const clock = new FakeClock()
    // Many peers behind one NAT join the swarm: each one's link opens; nothing is held against the address.
    const seeder = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'seeder',
      signaller: network.signaller('seeder'),
      createLink: network.createLink,
      clock,
    })
    managers.push(seeder)
    const joined: string[] = []
    seeder.on('link', (link) => joined.push(link.remotePeerId))
    const newcomer = (id: string, origin: string) => {
      const manager = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: id,
        signaller: network.signaller(id, { origin }),
        createLink: network.createLink,
        clock,
      })
      managers.push(manager)
      return manager.connect('seeder')
    }
    for (let i = 0; i < 3 * ORIGIN_ABUSIVE_LINKS_BURST; i++) {
      const link = await newcomer(`office-${i}`, 'office-nat')
      link.destroy() // each leaves again: the cap is not what this is about
    }
    expect(joined).toHaveLength(3 * ORIGIN_ABUSIVE_LINKS_BURST)
    // One of them misbehaves once: its neighbours still join.
    seeder.noteAbusiveLink('office-0')
    await expect(newcomer('office-late', 'office-nat')).resolves.toBeDefined()
    // Links from the office closed for abuse again and again: its next newcomers wait, others do not.
    for (let i = 1; i < ORIGIN_ABUSIVE_LINKS_BURST; i++) seeder.noteAbusiveLink(`office-${i}`)
    await expect(newcomer('office-later', 'office-nat')).rejects.toMatchObject({ code: 'PEER_BUSY' })
    await expect(newcomer('home', 'home-addr')).resolves.toBeDefined()
    expect(joined).toHaveLength(3 * ORIGIN_ABUSIVE_LINKS_BURST + 2)
  })

  it('lets a download close an idle link to make room at the cap; an optional dial is refused', async () => {
    const network = new MemoryLinkNetwork()
    const idle: string[] = []
    const full = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'aaaa',
      signaller: network.signaller('aaaa'),
      createLink: network.createLink,
      maxLinks: 1,
      idleLinks: () => idle,
    })
    managers.push(full)
    for (const id of ['bbbb', 'cccc']) {
      const other = new LinkManager({
        signalAuth: unsignedSignals,
        peerId: id,
        signaller: network.signaller(id),
        createLink: network.createLink,
      })
      managers.push(other)
    }
    const toB = await full.connect('bbbb')
    await expect(full.connect('cccc')).rejects.toMatchObject({ code: 'PEER_BUSY' })
    await expect(full.connect('cccc', { forDownload: true })).rejects.toMatchObject({ code: 'PEER_BUSY' })
    idle.push('bbbb') // the swarm says nobody uses it
    await expect(full.connect('cccc')).rejects.toMatchObject({ code: 'PEER_BUSY' })
    const toC = await full.connect('cccc', { forDownload: true })
    expect(toB.destroyed).toBe(true)
    expect(full.links).toEqual([toC])
  })

  it('counts the RTCPeerConnections it builds: past the reserve only downloads link, and none once spent', async () => {
    const network = new MemoryLinkNetwork()
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5']
    for (const id of ids) {
      managers.push(
        new LinkManager({
          signalAuth: unsignedSignals,
          peerId: id,
          signaller: network.signaller(id),
          createLink: network.createLink,
        }),
      )
    }
    const budgets: string[] = []
    const tab = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'tab',
      signaller: network.signaller('tab'),
      createLink: network.createLink,
      linkBudget: 4,
      linkBudgetReserve: 2,
    })
    managers.push(tab)
    tab.on('budget', ({ built, state }) => budgets.push(`${built} ${state}`))
    const p1 = await tab.connect('p1')
    await tab.connect('p2')
    expect(tab.budget).toEqual({ built: 2, budget: 4, state: 'low' })
    // Within the reserve: other peers' knocks are declined before anything is built, optional dials refused.
    await expect(managers[2]!.connect('tab')).rejects.toMatchObject({ code: 'PEER_BUSY' })
    await expect(tab.connect('p3')).rejects.toMatchObject({ code: 'LINK_BUDGET_LOW' })
    await tab.connect('p3', { forDownload: true })
    await tab.connect('p4', { forDownload: true })
    await expect(tab.connect('p5', { forDownload: true })).rejects.toMatchObject({
      code: 'LINK_BUDGET_SPENT',
    })
    expect(network.createdBy('tab')).toBe(4)
    expect(budgets).toEqual(['2 low', '4 spent'])
    // The links it has go on working.
    expect(await roundTrip(p1, managers[0]!.get('tab')!, 3)).toBe(3)
  })

  it("takes the browser's refusal to build another RTCPeerConnection as the budget spent", async () => {
    const network = new MemoryLinkNetwork()
    managers.push(
      new LinkManager({
        signalAuth: unsignedSignals,
        peerId: 'p1',
        signaller: network.signaller('p1'),
        createLink: network.createLink,
      }),
    )
    // A stubbed RTCPeerConnection that Chromium has stopped building, seen through simple-peer.
    const refusing = simplePeerLinkFactory({ wrtc: refusingWrtc() })
    const tab = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: 'tab',
      signaller: network.signaller('tab'),
      createLink: refusing,
    })
    managers.push(tab)
    const error = await tab.connect('p1', { forDownload: true }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LINK_BUDGET_SPENT' })
    expect(tab.budget.state).toBe('spent')
    await expect(tab.connect('p1', { forDownload: true })).rejects.toMatchObject({
      code: 'LINK_BUDGET_SPENT',
    })
  })
})

/** A WebRTC implementation whose RTCPeerConnection throws as Chromium's does past ~500 in a tab's life. */
function refusingWrtc(): SimplePeerLinkOptions['wrtc'] {
  class RefusingPeerConnection {
    constructor() {
      throw new Error("Failed to construct 'RTCPeerConnection': Cannot create so many PeerConnections")
    }
  }
  return {
    RTCPeerConnection: RefusingPeerConnection,
    RTCSessionDescription: class {},
    RTCIceCandidate: class {},
  } as unknown as SimplePeerLinkOptions['wrtc']
}

describe('SimplePeerLink helpers', () => {
  /** A stats report as browsers give it: a map of id → stats object. */
  function report(local: string, remote: string, style: 'transport' | 'selected-pair' = 'transport') {
    const entries: Record<string, unknown>[] = [
      { id: 'L', type: 'local-candidate', candidateType: local },
      { id: 'R', type: 'remote-candidate', candidateType: remote },
      { id: 'X', type: 'local-candidate', candidateType: 'relay' }, // not selected: never counts
      { id: 'P0', type: 'candidate-pair', localCandidateId: 'X', remoteCandidateId: 'R', state: 'failed' },
      style === 'transport'
        ? {
            id: 'P',
            type: 'candidate-pair',
            localCandidateId: 'L',
            remoteCandidateId: 'R',
            state: 'succeeded',
          }
        : {
            id: 'P',
            type: 'candidate-pair',
            localCandidateId: 'L',
            remoteCandidateId: 'R',
            state: 'succeeded',
            selected: true,
          },
    ]
    if (style === 'transport') entries.push({ id: 'T', type: 'transport', selectedCandidatePairId: 'P' })
    return new Map(entries.map((e) => [e.id as string, e])) as unknown as RTCStatsReport
  }

  it('names the connection type from the selected candidate pair', () => {
    expect(connectionTypeFromStats(report('host', 'host'))).toBe('direct')
    expect(connectionTypeFromStats(report('srflx', 'host'))).toBe('hole-punched')
    expect(connectionTypeFromStats(report('host', 'prflx'))).toBe('hole-punched')
    expect(connectionTypeFromStats(report('srflx', 'relay'))).toBe('relayed')
    expect(connectionTypeFromStats(report('relay', 'host', 'selected-pair'))).toBe('relayed')
    expect(connectionTypeFromStats(new Map() as unknown as RTCStatsReport)).toBe('unknown')
  })

  it("maps simple-peer's error codes to stable codes, keeping the original", () => {
    const ice = Object.assign(new Error('Ice connection failed.'), { code: 'ERR_ICE_CONNECTION_FAILURE' })
    expect(linkError(ice)).toMatchObject({ code: 'PEER_UNREACHABLE', cause: ice })
    expect(linkError(ice).message).toContain('ERR_ICE_CONNECTION_FAILURE')
    for (const code of ['ERR_CONNECTION_FAILURE', 'ERR_DATA_CHANNEL']) {
      expect(linkError(Object.assign(new Error(), { code })).code).toBe('PEER_UNREACHABLE')
    }
    expect(linkError(Object.assign(new Error(), { code: 'ERR_SET_REMOTE_DESCRIPTION' })).code).toBe(
      'BAD_MESSAGE',
    )
    expect(linkError(Object.assign(new Error(), { code: 'ERR_WEBRTC_SUPPORT' })).code).toBe('INTERNAL')
    expect(linkError(new Error('no code')).code).toBe('INTERNAL')
  })
})

// ------------------------------------------------------------------ real WebRTC and the real tracker

interface TrackerPeer {
  peerId: string
  signaller: Signaller
  client: TestClient
}

/** A minimal Signaller over the tracker's WebSocket (`signal` messages), as the tracker client will be. */
async function trackerPeer(url: string): Promise<TrackerPeer> {
  const client = await TestClient.connect(url)
  const listeners = new Set<(from: string, data: Record<string, unknown>) => void>()
  client.socket.on('message', (raw) => {
    const parsed = parseServerMessage(raw.toString())
    if (parsed.ok && parsed.message.type === 'signal') {
      for (const listener of listeners) listener(parsed.message.from, parsed.message.data)
    }
  })
  const signaller: Signaller = {
    send: (to, data) => client.send({ type: 'signal', to, data }),
    onSignal: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  return { peerId: client.peerId, signaller, client }
}

/** SimplePeerLinks over @roamhq/wrtc, counting what it builds (each one an RTCPeerConnection). */
function countingFactory(): LinkFactory & { built: SimplePeerLink[] } {
  const built: SimplePeerLink[] = []
  const factory = (options: LinkOptions) => {
    const link = new SimplePeerLink({ ...options, wrtc: wrtc as SimplePeerLinkOptions['wrtc'] })
    built.push(link)
    return link
  }
  return Object.assign(factory, { built })
}

describe('LinkManager over WebRTC (@roamhq/wrtc) and the real tracker, on loopback', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  const managers: LinkManager[] = []
  const peers: TrackerPeer[] = []

  beforeAll(async () => {
    server = await startTestServer()
  })
  afterEach(() => {
    for (const manager of managers.splice(0)) manager.destroy()
    for (const p of peers.splice(0)) {
      expect(p.client.received.filter((m) => m.type === 'error')).toEqual([])
      p.client.close()
    }
  })
  afterAll(async () => {
    await server?.close()
  })

  async function peer(options: { maxLinks?: number } = {}) {
    const tracker = await trackerPeer(server.url)
    peers.push(tracker)
    const factory = countingFactory()
    const manager = new LinkManager({
      signalAuth: unsignedSignals,
      peerId: tracker.peerId,
      signaller: tracker.signaller,
      iceServers: [],
      createLink: factory,
      ...options,
    })
    managers.push(manager)
    return { manager, factory, peerId: tracker.peerId }
  }

  it('links two peers directly and moves 32 MiB each way at once with bounded buffers', async () => {
    const a = await peer()
    const b = await peer()
    const linkAtB = b.manager.once('link')
    const started = performance.now()
    const atA = (await a.manager.connect(b.peerId)) as SimplePeerLink
    const connectMs = performance.now() - started
    const atB = (await linkAtB) as SimplePeerLink
    expect(atA.remotePeerId).toBe(b.peerId)
    expect(atB.remotePeerId).toBe(a.peerId)
    expect(await atA.connectionType()).toBe('direct')
    expect(await atB.connectionType()).toBe('direct')
    expect(atA.maxFrameBytes).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(atA.maxFrameBytes).toBeGreaterThanOrEqual(16 * 1024)

    const total = 32 * MiB
    const frameBytes = atA.maxFrameBytes
    const frames = Math.ceil(total / frameBytes)

    /** Sends `frames` numbered frames, awaiting each send; returns the most ever queued on the channel. */
    async function pump(link: SimplePeerLink): Promise<number> {
      let maxBuffered = 0
      const frame = new Uint8Array(frameBytes)
      const view = new DataView(frame.buffer)
      for (let i = 0; i < frames; i++) {
        view.setUint32(0, i)
        const sending = link.send(frame)
        maxBuffered = Math.max(maxBuffered, link.bufferedAmount)
        await sending
      }
      return maxBuffered
    }
    /** Counts frames and bytes arriving, checking they come in order. */
    function sink(link: SimplePeerLink) {
      const state = { frames: 0, bytes: 0, outOfOrder: 0 }
      link.on('frame', (frame) => {
        const index = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0)
        if (index !== state.frames) state.outOfOrder++
        state.frames++
        state.bytes += frame.byteLength
      })
      return state
    }

    const intoB = sink(atB)
    const intoA = sink(atA)
    const t0 = performance.now()
    const [maxAtA, maxAtB] = await Promise.all([pump(atA), pump(atB)])
    await until(
      () => intoA.bytes === frames * frameBytes && intoB.bytes === frames * frameBytes,
      'every frame in both directions',
      15_000,
    )
    const seconds = (performance.now() - t0) / 1000
    const mbPerSecondEachWay = (frames * frameBytes) / 1e6 / seconds
    console.log(
      `SimplePeerLink over @roamhq/wrtc, loopback: connected in ${connectMs.toFixed(0)} ms; ` +
        `${((frames * frameBytes) / MiB).toFixed(0)} MiB each way at once in ${seconds.toFixed(2)} s: ` +
        `${mbPerSecondEachWay.toFixed(1)} MB/s each way; most queued ${maxAtA} / ${maxAtB} bytes`,
    )
    expect(intoA).toEqual({ frames, bytes: frames * frameBytes, outOfOrder: 0 })
    expect(intoB).toEqual({ frames, bytes: frames * frameBytes, outOfOrder: 0 })
    expect(maxAtA).toBeLessThanOrEqual(HIGH_WATER_BYTES + frameBytes)
    expect(maxAtB).toBeLessThanOrEqual(HIGH_WATER_BYTES + frameBytes)
    expect([a.factory.built.length, b.factory.built.length]).toEqual([1, 1])
  })

  it("reads the channel's queue depth (a blocking call into @roamhq/wrtc) only when it may be over the high-water mark", async () => {
    // Every data channel made from here on counts its `bufferedAmount` reads (the dialling side makes it).
    let reads = 0
    const prototype = (wrtc as unknown as { RTCPeerConnection: { prototype: RTCPeerConnection } })
      .RTCPeerConnection.prototype
    const createDataChannel = prototype.createDataChannel
    prototype.createDataChannel = function (this: RTCPeerConnection, ...args) {
      const channel = createDataChannel.apply(this, args)
      const native = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(channel), 'bufferedAmount')!
      Object.defineProperty(channel, 'bufferedAmount', {
        get: () => {
          reads++
          return native.get!.call(channel)
        },
      })
      return channel
    }
    let atA: SimplePeerLink
    let atB: SimplePeerLink
    try {
      const a = await peer()
      const b = await peer()
      const linkAtB = b.manager.once('link')
      atA = (await a.manager.connect(b.peerId)) as SimplePeerLink
      atB = (await linkAtB) as SimplePeerLink
    } finally {
      prototype.createDataChannel = createDataChannel
    }
    let arrived = 0
    atB.on('frame', (frame) => {
      arrived += frame.byteLength
    })
    // Up to the high-water mark: whatever the channel did with them, the queue cannot be over it.
    const frame = new Uint8Array(atA.maxFrameBytes)
    const frames = Math.floor(HIGH_WATER_BYTES / frame.byteLength)
    reads = 0
    for (let i = 0; i < frames; i++) await atA.send(frame)
    await until(() => arrived === frames * frame.byteLength, 'every frame', 15_000)
    expect(frames).toBeGreaterThan(1)
    expect(reads).toBe(0) // it was read after every frame
    // Past it, the link reads the queue and waits for it to drain, as it always did.
    for (let i = 0; i < frames; i++) await atA.send(frame)
    expect(reads).toBeGreaterThan(0)
    await until(() => arrived === 2 * frames * frame.byteLength, 'every frame', 15_000)
  })

  it('carries a frame that is a view into a larger buffer as just its bytes', async () => {
    const a = await peer()
    const b = await peer()
    const linkAtB = b.manager.once('link')
    const atA = await a.manager.connect(b.peerId)
    const atB = await linkAtB
    const received = atB.once('frame')
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
    await atA.send(backing.subarray(2, 5))
    expect([...(await received)]).toEqual([1, 2, 3])
  })

  it('resolves glare to exactly one link between the two peers', async () => {
    const a = await peer()
    const b = await peer()
    const [atA, atB] = await Promise.all([a.manager.connect(b.peerId), b.manager.connect(a.peerId)])
    expect(await roundTrip(atA, atB, 5)).toBe(5)
    expect(await roundTrip(atB, atA, 6)).toBe(6)
    expect([a.manager.linkCount, b.manager.linkCount]).toEqual([1, 1])
    // Each side built one RTCPeerConnection: the larger id dropped its knock before building anything.
    expect([a.factory.built.length, b.factory.built.length]).toEqual([1, 1])
  })

  it('declines a third peer over a cap of one before building any RTCPeerConnection', async () => {
    const capped = await peer({ maxLinks: 1 })
    const first = await peer()
    const third = await peer()
    const declined = capped.manager.once('declined')
    await first.manager.connect(capped.peerId)
    expect(capped.factory.built.length).toBe(1)
    const error = await third.manager.connect(capped.peerId).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SwarmError)
    expect((error as SwarmError).code).toBe('PEER_BUSY')
    expect(await declined).toEqual({ peerId: third.peerId, reason: 'busy' })
    expect(capped.factory.built.length).toBe(1)
    // The knock was declined: the third peer built nothing either.
    expect(third.factory.built).toEqual([])
    expect(third.manager.linkCount).toBe(0)
  })

  it('closes everything on destroy, tells the other side, and fires nothing afterwards', async () => {
    const a = await peer()
    const b = await peer()
    const c = await peer()
    const events = record(a.manager)
    const linkToB = await a.manager.connect(b.peerId)
    const linkToC = await a.manager.connect(c.peerId)
    let frames = 0
    let closes = 0
    for (const link of [linkToB, linkToC]) {
      link.on('frame', () => frames++)
      link.on('close', () => closes++)
    }
    await until(() => b.manager.get(a.peerId) !== undefined && c.manager.get(a.peerId) !== undefined)
    const atB = b.manager.get(a.peerId)!
    const closedAtB = b.manager.once('link-closed')
    const closedAtC = c.manager.once('link-closed')
    a.manager.destroy()
    a.manager.destroy()
    expect([linkToB.destroyed, linkToC.destroyed]).toEqual([true, true])
    expect(await closedAtB).toEqual({ peerId: a.peerId })
    expect(await closedAtC).toEqual({ peerId: a.peerId })
    await expect(atB.send(new Uint8Array([1]))).rejects.toMatchObject({ code: 'CANCELLED' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(closes).toBe(2)
    expect(frames).toBe(0)
    expect(events).toEqual([`link ${b.peerId}`, `link ${c.peerId}`])
  })

  it('builds links through the default-style factory helper too', async () => {
    // simplePeerLinkFactory is what the Node peer will pass: the same link, with wrtc.
    const make = simplePeerLinkFactory({ wrtc: wrtc as SimplePeerLinkOptions['wrtc'] })
    const signals: Record<string, unknown>[] = []
    const link = make({
      initiator: true,
      localPeerId: 'me',
      remotePeerId: 'x',
      iceServers: [],
      sendSignal: (s) => signals.push(s),
    })
    await until(() => signals.some((s) => s.type === 'offer'))
    link.destroy()
    expect(link.destroyed).toBe(true)
    await expect(link.opened).rejects.toMatchObject({ code: 'CANCELLED' })
  })
})
