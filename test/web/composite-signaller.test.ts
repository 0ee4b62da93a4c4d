/** The composite signaller (web/peer/composite-signaller.ts): which way a signal goes, and each heard once. */
import { describe, expect, it } from 'vitest'
import { CompositeSignaller } from '../../web/peer/composite-signaller.js'
import type { Signaller, SignalMeta } from '../../web/peer/peer-link.js'
import { FakeClock } from '../support/fake-clock.js'

type Listener = (from: string, data: Record<string, unknown>, meta?: SignalMeta) => void

/** An in-memory signaller: what was sent, and a way to deliver a signal to its listeners. */
class TwinSignaller implements Signaller {
  readonly sent: { to: string; data: Record<string, unknown> }[] = []
  readonly #listeners = new Set<Listener>()
  send(to: string, data: Record<string, unknown>): void {
    this.sent.push({ to, data })
  }
  onSignal(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
  deliver(from: string, data: Record<string, unknown>, meta?: SignalMeta): void {
    for (const listener of this.#listeners) listener(from, data, meta)
  }
}

describe('CompositeSignaller', () => {
  it('hears each signal once when the tracker also stands in for the ring (an engine without one)', () => {
    const tracker = new TwinSignaller()
    const composite = new CompositeSignaller({
      tracker,
      trackerOnline: () => true,
      ring: tracker,
      clock: new FakeClock(),
    })
    const heard: [string, Record<string, unknown>, SignalMeta | undefined][] = []
    composite.onSignal((from, data, meta) => heard.push([from, data, meta]))
    tracker.deliver('peer-a', { type: 'offer' }, { origin: 'tag-1' })
    expect(heard).toEqual([['peer-a', { type: 'offer' }, { origin: 'tag-1' }]])
  })

  it('sends through the tracker while it is online, else through the ring, and answers the way a signal came', () => {
    const tracker = new TwinSignaller()
    const ring = new TwinSignaller()
    let online = true
    const composite = new CompositeSignaller({
      tracker,
      trackerOnline: () => online,
      ring,
      clock: new FakeClock(),
    })
    composite.send('peer-a', { n: 1 })
    online = false
    composite.send('peer-a', { n: 2 })
    online = true
    ring.deliver('peer-b', { type: 'offer' })
    composite.send('peer-b', { n: 3 })
    expect(tracker.sent).toEqual([{ to: 'peer-a', data: { n: 1 } }])
    expect(ring.sent).toEqual([
      { to: 'peer-a', data: { n: 2 } },
      { to: 'peer-b', data: { n: 3 } },
    ])
  })
})
