import { afterEach, describe, expect, it } from 'vitest'
import { encodeTabMessage, MAX_TAB_MESSAGE_BYTES, TAB_CHANNEL } from '../../shared/tab-protocol.js'
import { GONE_AFTER_MS, HEARTBEAT_MS, TabEntryPoint } from '../../web/app/tab-entry-point.js'
import { FakeClock } from '../support/fake-clock.js'
import { until } from '../support/until.js'

const A = 'AAAAAAAAAAAAAAAA'
const B = 'BBBBBBBBBBBBBBBB'
const C = 'CCCCCCCCCCCCCCCC'

// Node's own BroadcastChannel: messages go between instances of one name, asynchronously, as in browsers.
const open: { close(): void }[] = []
function channel(name = TAB_CHANNEL): BroadcastChannel {
  const made = new BroadcastChannel(name)
  open.push(made)
  return made
}
function tab(peerId: string, clock = new FakeClock(), name?: string): TabEntryPoint {
  const made = new TabEntryPoint({ peerId, channel: channel(name), clock })
  open.push({ close: () => made.destroy() })
  return made
}
afterEach(() => {
  for (const each of open.splice(0)) each.close()
})

describe('sibling tabs as an entry point', () => {
  it('hear each other, the later tab at once through its asking `here`', async () => {
    const a = tab(A)
    const b = tab(B)
    await until(() => a.peers().includes(B) && b.peers().includes(A))
    expect(a.peers()).toEqual([B])
    expect(b.peers()).toEqual([A])
    expect(a.kind).toBe('tab')
  })

  it('relays a signal to the tab it is for, with its sender, and to no other', async () => {
    const a = tab(A)
    const b = tab(B)
    const c = tab(C)
    await until(() => a.peers().length === 2 && b.peers().length === 2 && c.peers().length === 2)
    const atB: [string, Record<string, unknown>][] = []
    const atC: unknown[] = []
    b.signaller.onSignal((from, data) => atB.push([from, data]))
    c.signaller.onSignal((from) => atC.push(from))
    a.signaller.send(B, { type: 'offer', sdp: 'v=0' })
    await until(() => atB.length === 1)
    expect(atB).toEqual([[A, { type: 'offer', sdp: 'v=0' }]])
    expect(atC).toEqual([])
  })

  it('says PEER_NOT_FOUND at once for a peer that is no tab here, and posts nothing for it', async () => {
    const clock = new FakeClock()
    const a = tab(A, clock)
    const spy = channel()
    const heard: string[] = []
    spy.addEventListener('message', (event) => heard.push(String((event as MessageEvent).data)))
    const undeliverable: [string, string][] = []
    a.signaller.onUndeliverable?.((to, code) => undeliverable.push([to, code]))
    a.signaller.send(C, { type: 'offer', sdp: 'v=0' })
    clock.advance(0)
    expect(undeliverable).toEqual([[C, 'PEER_NOT_FOUND']])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(heard.filter((m) => m.includes('"signal"'))).toEqual([])
  })

  it('counts and ignores what does not parse, and still takes the next good message', async () => {
    const a = tab(A)
    const other = channel()
    other.postMessage({ type: 'here', peerId: B }) // not JSON text
    other.postMessage('{"type":"here","peerId":"too short"}')
    other.postMessage(`{"type":"here","peerId":"${B}","x":"${'x'.repeat(MAX_TAB_MESSAGE_BYTES)}"}`)
    other.postMessage('{"type":"order-pizza"}')
    other.postMessage(encodeTabMessage({ type: 'here', peerId: B }))
    await until(() => a.peers().includes(B))
    expect(a.malformed).toBe(4)
    expect(a.peers()).toEqual([B])
  })

  it('forgets a sibling that says `gone`, and one not heard for GONE_AFTER_MS (closed or frozen)', async () => {
    const clock = new FakeClock()
    const a = tab(A, clock)
    const other = channel()
    other.postMessage(encodeTabMessage({ type: 'here', peerId: B }))
    other.postMessage(encodeTabMessage({ type: 'here', peerId: C }))
    await until(() => a.peers().length === 2)
    const told: (readonly string[])[] = []
    a.onPeers((peers) => told.push(peers))
    other.postMessage(encodeTabMessage({ type: 'gone', peerId: B }))
    await until(() => a.peers().length === 1)
    // C says nothing more: after three heartbeats missed, it is gone.
    clock.advance(GONE_AFTER_MS - HEARTBEAT_MS)
    expect(a.peers()).toEqual([C])
    clock.advance(HEARTBEAT_MS)
    expect(a.peers()).toEqual([])
    expect(told).toEqual([[C], []])
  })

  it('says `gone` when about to be frozen and `here` again on resume; a sibling follows', async () => {
    const a = tab(A)
    const b = tab(B)
    await until(() => b.peers().includes(A))
    a.setAway(true)
    await until(() => b.peers().length === 0)
    a.setAway(false)
    await until(() => b.peers().includes(A))
  })

  it('stops for good on destroy: says `gone`, relays nothing, and destroying again does nothing', async () => {
    const a = tab(A)
    const b = tab(B)
    await until(() => a.peers().includes(B) && b.peers().includes(A))
    const signals: unknown[] = []
    a.signaller.onSignal((from) => signals.push(from))
    a.destroy()
    a.destroy()
    await until(() => b.peers().length === 0)
    b.signaller.send(A, { type: 'offer' })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(signals).toEqual([])
    expect(a.peers()).toEqual([])
  })
})
