/**
 * Offers and answers signed end to end (signal-auth.ts): a relay that forges or alters one — rewrites its
 * SDP (the DTLS fingerprint is in it), passes one peer's offer to another, or presents it under another peer
 * id — is refused with SIGNAL_FORGED before any connection is built for it; one that replays a true offer
 * (taken before, or signed too long ago) is refused with SIGNAL_REPLAYED.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { SwarmError } from '../../shared/errors.js'
import { LinkManager } from '../../web/peer/link-manager.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import type { Signaller } from '../../web/peer/peer-link.js'
import { SIGNAL_WINDOW_MS, signedSignals } from '../../web/peer/signal-auth.js'
import { type NodeIdentity, nodeIdentity } from '../support/identities.js'
import { until } from '../support/until.js'

type Tamper = (from: string, data: Record<string, unknown>) => [string, Record<string, unknown>] | undefined

/** `inner`, with what it delivers passed through `tamper` first: the relay in the middle. */
function relayedThrough(inner: Signaller, tamper: Tamper): Signaller {
  return {
    send: (to, data) => inner.send(to, data),
    onSignal: (listener) =>
      inner.onSignal((from, data) => {
        const delivered = tamper(from, data)
        if (delivered) listener(...delivered)
      }),
  }
}

const honest: Tamper = (from, data) => [from, data]

describe('signed offers and answers', () => {
  const managers: LinkManager[] = []
  afterEach(() => {
    for (const manager of managers.splice(0)) manager.destroy()
  })

  function peer(network: MemoryLinkNetwork, identity: NodeIdentity, tamper: Tamper = honest) {
    const manager = new LinkManager({
      peerId: identity.peerId,
      signaller: relayedThrough(network.signaller(identity.peerId), tamper),
      signalAuth: signedSignals(identity),
      createLink: network.createLink,
      connectTimeoutMs: 2000,
    })
    managers.push(manager)
    const forged: SwarmError[] = []
    manager.on('forged', ({ error }) => forged.push(error))
    return { manager, forged }
  }

  it('links two peers whose offer and answer carry their keys and signatures', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b] = [nodeIdentity(), nodeIdentity()]
    const seen: Record<string, unknown>[] = []
    const dialler = peer(network, a, (from, data) => {
      seen.push(data)
      return [from, data]
    })
    const answerer = peer(network, b, (from, data) => {
      seen.push(data)
      return [from, data]
    })
    const link = await dialler.manager.connect(b.peerId)
    expect(link.remotePeerId).toBe(b.peerId)
    const signed = seen.filter((data) => data.type === 'offer' || data.type === 'answer')
    expect(signed.map((data) => data.type)).toEqual(['offer', 'answer'])
    expect(signed[0]).toMatchObject({ publicKey: Buffer.from(a.publicKey).toString('hex') })
    expect(signed[1]).toMatchObject({ publicKey: Buffer.from(b.publicKey).toString('hex') })
    expect([...dialler.forged, ...answerer.forged]).toEqual([])
  })

  it('refuses an offer whose SDP the relay rewrote, and builds nothing for it', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b] = [nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a)
    const answerer = peer(network, b, (from, data) =>
      data.type === 'offer'
        ? [from, { ...data, sdp: `${data.sdp}\r\na=fingerprint:sha-256 EV:IL` }]
        : [from, data],
    )
    const dial = dialler.manager.connect(b.peerId)
    await until(() => answerer.forged.length === 1)
    expect(answerer.forged[0]!.code).toBe('SIGNAL_FORGED')
    expect(network.createdBy(b.peerId)).toBe(0)
    await expect(dial).rejects.toMatchObject({ code: expect.any(String) })
  })

  it('fails the dial at once when the answer was rewritten: SIGNAL_FORGED', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b] = [nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a, (from, data) =>
      data.type === 'answer' ? [from, { ...data, sdp: `${data.sdp}x` }] : [from, data],
    )
    peer(network, b)
    await expect(dialler.manager.connect(b.peerId)).rejects.toMatchObject({ code: 'SIGNAL_FORGED' })
    expect(dialler.forged.map((error) => error.code)).toEqual(['SIGNAL_FORGED'])
  })

  it("refuses another peer's signal relayed under a different id", async () => {
    const network = new MemoryLinkNetwork()
    const [a, b, mallory] = [nodeIdentity(), nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a)
    // The relay presents A's offer to B as Mallory's: A's key does not derive to Mallory's id.
    const answerer = peer(network, b, (from, data) => [data.type === 'offer' ? mallory.peerId : from, data])
    void dialler.manager.connect(b.peerId).catch(() => {})
    await until(() => answerer.forged.length === 1)
    expect(network.createdBy(b.peerId)).toBe(0)
  })

  it('refuses an offer signed for another peer, relayed to this one under its true sender', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b, c] = [nodeIdentity(), nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a)
    const offers: Record<string, unknown>[] = []
    peer(network, b, (from, data) => {
      if (data.type === 'offer') offers.push(data)
      return data.type === 'offer' ? undefined : [from, data] // B never sees the offer
    })
    const other = peer(network, c)
    void dialler.manager.connect(b.peerId).catch(() => {})
    await until(() => offers.length === 1)
    const relay = network.signaller(a.peerId)
    relay.send(c.peerId, { type: 'knock', sid: offers[0]!.sid })
    relay.send(c.peerId, offers[0]!)
    await until(() => other.forged.length === 1)
    expect(network.createdBy(c.peerId)).toBe(0)
  })

  it('refuses an offer that carries no signature at all', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b] = [nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a)
    const answerer = peer(network, b, (from, data) => {
      if (data.type !== 'offer') return [from, data]
      const { publicKey: _key, signature: _signature, ...unsigned } = data
      return [from, unsigned]
    })
    void dialler.manager.connect(b.peerId).catch(() => {})
    await until(() => answerer.forged.length === 1)
    expect(network.createdBy(b.peerId)).toBe(0)
  })

  it('refuses a true offer the relay replays in a later attempt: SIGNAL_REPLAYED, nothing built', async () => {
    const network = new MemoryLinkNetwork()
    const [a, b] = [nodeIdentity(), nodeIdentity()]
    const dialler = peer(network, a)
    const kept: Record<string, unknown>[] = []
    const answerer = peer(network, b, (from, data) => {
      if (data.type === 'knock' || data.type === 'offer') kept.push(data)
      return [from, data]
    })
    const link = await dialler.manager.connect(b.peerId)
    const built = network.createdBy(b.peerId)
    expect(built).toBe(1)
    link.destroy()
    await until(() => answerer.manager.links.length === 0)
    // The relay sends the same knock and signed offer again, as if A dialled once more.
    const relay = network.signaller(a.peerId)
    for (const data of kept) relay.send(b.peerId, data)
    await until(() => answerer.forged.length === 1)
    expect(answerer.forged[0]!.code).toBe('SIGNAL_REPLAYED')
    expect(network.createdBy(b.peerId)).toBe(built)
  })
})

describe('the replay window of signed signals', () => {
  const [a, b] = [nodeIdentity(), nodeIdentity()]
  const fields = { from: a.peerId, to: b.peerId, sid: 'attempt-1', type: 'offer' as const, sdp: 'v=0\r\n' }

  it('takes a signature once, and refuses it again within the window', async () => {
    let now = 1_796_083_200_000
    const sender = signedSignals(a, { now: () => now })
    const receiver = signedSignals(b, { now: () => now })
    const proof = await sender.sign(fields)
    expect(proof.at).toBe(now)
    expect(await receiver.check(fields, proof)).toBe('valid')
    now += 60_000
    expect(await receiver.check(fields, proof)).toBe('replayed')
    // A new offer of the same attempt, signed later, is another signature: taken.
    expect(await receiver.check(fields, await sender.sign(fields))).toBe('valid')
  })

  it('refuses a signature made further from its clock than the window, either way', async () => {
    const signedAt = 1_796_083_200_000
    const proof = await signedSignals(a, { now: () => signedAt }).sign(fields)
    for (const offset of [SIGNAL_WINDOW_MS + 1, -SIGNAL_WINDOW_MS - 1]) {
      const receiver = signedSignals(b, { now: () => signedAt + offset })
      expect(await receiver.check(fields, proof)).toBe('replayed')
    }
    expect(await signedSignals(b, { now: () => signedAt + SIGNAL_WINDOW_MS }).check(fields, proof)).toBe(
      'valid',
    )
  })

  it('calls a changed time forged (the signature covers it), and a missing one too', async () => {
    const now = 1_796_083_200_000
    const proof = await signedSignals(a, { now: () => now }).sign(fields)
    const receiver = signedSignals(b, { now: () => now })
    expect(await receiver.check(fields, { ...proof, at: now + 1 })).toBe('forged')
    expect(await receiver.check(fields, { publicKey: proof.publicKey, signature: proof.signature })).toBe(
      'forged',
    )
    for (const at of [-1, 0.5, '1796083200000'] as unknown[])
      expect(await receiver.check(fields, { ...proof, at } as never)).toBe('forged')
    // A forgery is not remembered: the true proof is still taken afterwards.
    expect(await receiver.check(fields, proof)).toBe('valid')
  })

  it('forgets signatures once they leave the window, and the oldest first past its cap', async () => {
    let now = 1_796_083_200_000
    const sender = signedSignals(a, { now: () => now })
    const receiver = signedSignals(b, { now: () => now, maxSeen: 2 })
    const first = await sender.sign(fields)
    expect(await receiver.check(fields, first)).toBe('valid')
    now += 1
    const second = await sender.sign(fields)
    now += 1
    const third = await sender.sign(fields)
    expect(await receiver.check(fields, second)).toBe('valid')
    expect(await receiver.check(fields, third)).toBe('valid')
    // The cap is 2: the first was forgotten (a replay of it within the window is the cap's known gap).
    expect(await receiver.check(fields, third)).toBe('replayed')
    expect(await receiver.check(fields, first)).toBe('valid')
  })
})
