/** The ring's routed `signal` op (issue 13): its wire form, its limits, and the key it is routed to. */
import { describe, expect, it } from 'vitest'
import { peerIdOf } from '../../shared/identity-proof.js'
import {
  encodeRingMessage,
  MAX_RING_SIGNAL_BYTES,
  parseRingMessage,
  peerIdOfSignalKey,
  type RingMessage,
  signalKey,
} from '../../shared/ring-protocol.js'

const nodeId = 'ab'.repeat(32)

function route(data: string): RingMessage {
  return {
    type: 'route',
    req: 7,
    origin: nodeId,
    key: signalKey(peerIdOf('cd'.repeat(32)))!,
    hops: 1,
    hopLimit: 32,
    attempt: 0,
    deliver: false,
    clockwise: false,
    request: { op: 'signal', data },
  }
}

describe('routed signals', () => {
  it('carry the signal text there and "delivered" back', () => {
    const message = route('{"type":"offer","sdp":"v=0 ✓"}')
    expect(parseRingMessage(encodeRingMessage(message))).toEqual({ ok: true, message })
    const reply: RingMessage = {
      type: 'route-reply',
      req: 7,
      hops: 3,
      from: nodeId,
      result: { op: 'delivered' },
    }
    expect(parseRingMessage(encodeRingMessage(reply))).toEqual({ ok: true, message: reply })
  })

  it('refuse an empty signal and one over the limit', () => {
    expect(parseRingMessage(encodeRingMessage(route(''))).ok).toBe(false)
    expect(parseRingMessage(encodeRingMessage(route('x'.repeat(MAX_RING_SIGNAL_BYTES + 1)))).ok).toBe(false)
    expect(parseRingMessage(encodeRingMessage(route('x'.repeat(MAX_RING_SIGNAL_BYTES)))).ok).toBe(true)
  })

  it("route to a key just before the peer's node id, which names the peer back", () => {
    for (const id of [nodeId, 'ff'.repeat(32), `${'00'.repeat(31)}01`, '7c'.repeat(32)]) {
      const peerId = peerIdOf(id)
      const key = signalKey(peerId)!
      expect(key).toHaveLength(64)
      expect(key <= id).toBe(true)
      expect(id.startsWith(key.slice(0, 24))).toBe(true)
      expect(peerIdOfSignalKey(key)).toBe(peerId)
    }
    expect(signalKey('not a peer id')).toBeNull()
    expect(signalKey('')).toBeNull()
  })
})
