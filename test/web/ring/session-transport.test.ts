/** The ring's adapter onto the frame router (session-transport.ts), against a fake registrar and sessions. */
import { describe, expect, it } from 'vitest'
import { RING_FRAME_KIND } from '../../../shared/ring-protocol.js'
import type { LinkProtocol, RouterSession } from '../../../web/peer/protocol-registrar.js'
import { RING_LINK_BUDGET } from '../../../web/peer/ring/ring-options.js'
import { SessionRingTransport } from '../../../web/peer/ring/session-transport.js'

function fakeSession(peerId: string, speaksRing = true) {
  const claims = new Set<symbol>()
  const sent: Uint8Array[] = []
  const session: RouterSession & { claims: Set<symbol>; sent: Uint8Array[] } = {
    peerId,
    destroyed: false,
    maxFrameBytes: 64,
    speaks: (kind) => speaksRing && kind === RING_FRAME_KIND,
    claims,
    sent,
    sendFrame: async (kind, payload) => {
      expect(kind).toBe(RING_FRAME_KIND)
      sent.push(payload)
    },
    claim: () => {
      const token = Symbol('claim')
      claims.add(token)
      return () => claims.delete(token)
    },
    fail: () => {},
    destroy: () => {},
  }
  return session
}

function setUp(maxClaims = 2) {
  let protocol: LinkProtocol | undefined
  const sessions = new Map<string, ReturnType<typeof fakeSession>>()
  const transport = new SessionRingTransport(
    {
      handle: (p) => {
        protocol = p
        return () => {
          protocol = undefined
        }
      },
      openSession: async (peerId) => {
        const session = sessions.get(peerId) ?? fakeSession(peerId)
        if (!sessions.has(peerId)) {
          sessions.set(peerId, session)
          protocol?.onSession?.(session)
        }
        return session
      },
    },
    maxClaims,
  )
  const events: string[] = []
  const detach = transport.attach({
    onFrame: (peerId, payload) => events.push(`frame ${peerId} ${payload.length}`),
    onLinkOpen: (peerId) => events.push(`open ${peerId}`),
    onLinkClose: (peerId) => events.push(`close ${peerId}`),
  })
  return { transport, events, sessions, detach, protocol: () => protocol }
}

describe('SessionRingTransport', () => {
  it('registers the ring kind with its budget, and passes frames of open sessions both ways', async () => {
    const t = setUp()
    expect(t.protocol()).toMatchObject({ kind: RING_FRAME_KIND, name: 'ring', budget: RING_LINK_BUDGET })
    await t.transport.dial('p1')
    const session = t.sessions.get('p1')!
    t.protocol()!.onFrame(session, new Uint8Array(3))
    t.transport.send('p1', new Uint8Array(5))
    t.transport.send('p1', new Uint8Array(64)) // over the link's frame size with its kind byte: dropped
    t.transport.send('nobody', new Uint8Array(5))
    expect(session.sent.map((payload) => payload.length)).toEqual([5])
    expect(t.events).toEqual(['open p1', 'frame p1 3'])
  })

  it('claims the links it dials, at most its share, and refuses a dial past it with RING_FULL', async () => {
    const t = setUp(2)
    await t.transport.dial('p1')
    await t.transport.dial('p2')
    await expect(t.transport.dial('p3')).rejects.toMatchObject({ code: 'RING_FULL' })
    expect(t.transport.claimedCount).toBe(2)
    expect(t.sessions.get('p1')!.claims.size).toBe(1)
    t.transport.release('p1')
    t.transport.release('p1')
    expect(t.sessions.get('p1')!.claims.size).toBe(0)
    await t.transport.dial('p3')
    expect(t.transport.claimedCount).toBe(2)
  })

  it('refuses to dial a linked peer whose hello did not list the ring, and leaves its link alone', async () => {
    const t = setUp(2)
    t.sessions.set('old', fakeSession('old', false))
    await expect(t.transport.dial('old')).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' })
    expect(t.sessions.get('old')!.claims.size).toBe(0)
    expect(t.transport.claimedCount).toBe(0)
  })

  it('lets a link go on close (claim released, the ring told once), and takes it back on a dial', async () => {
    const t = setUp()
    await t.transport.dial('p1')
    const session = t.sessions.get('p1')!
    t.transport.close('p1')
    t.transport.close('p1')
    expect(session.claims.size).toBe(0)
    t.protocol()!.onFrame(session, new Uint8Array(1)) // dropped: the ring let this link go
    await t.transport.dial('p1')
    t.protocol()!.onSessionClosed?.('p1')
    t.protocol()!.onSessionClosed?.('p1')
    expect(t.events).toEqual(['open p1', 'close p1', 'open p1', 'close p1'])
  })

  it('unregisters and drops its claims when detached', async () => {
    const t = setUp()
    await t.transport.dial('p1')
    t.detach()
    expect(t.protocol()).toBeUndefined()
    expect(t.sessions.get('p1')!.claims.size).toBe(0)
    t.transport.send('p1', new Uint8Array(1))
    expect(t.sessions.get('p1')!.sent).toEqual([])
  })
})
