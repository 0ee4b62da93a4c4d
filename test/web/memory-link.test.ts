/** The in-memory PeerLink pair that the swarm's fast tests run on: it must behave like a data channel. */
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import { createMemoryLinkPair, type MemoryLink, MemoryLinkNetwork } from '../../web/peer/memory-link.js'

const KiB = 1024

/** Resolves after `n` macrotasks (a memory link delivers one frame per task). */
async function tasks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Resolves once nothing is in flight on these ends any more. */
async function drained(...links: MemoryLink[]): Promise<void> {
  while (links.some((link) => link.bufferedAmount > 0)) await tasks(1)
  await tasks(1)
}

function frameOf(size: number, tag: number): Uint8Array {
  return new Uint8Array(size).fill(tag & 255)
}

function collect(link: MemoryLink): Uint8Array[] {
  const frames: Uint8Array[] = []
  link.on('frame', (frame) => frames.push(frame))
  return frames
}

/** Settles-state of a promise, without awaiting it. */
function track<T>(promise: Promise<T>): { settled: boolean; error?: unknown } {
  const state: { settled: boolean; error?: unknown } = { settled: false }
  promise.then(
    () => {
      state.settled = true
    },
    (error) => {
      state.settled = true
      state.error = error
    },
  )
  return state
}

describe('createMemoryLinkPair', () => {
  it('gives each end the other peer as its remote, open at once', async () => {
    const [atA, atB] = createMemoryLinkPair('peer-a', 'peer-b')
    expect(atA.remotePeerId).toBe('peer-b')
    expect(atB.remotePeerId).toBe('peer-a')
    await Promise.all([atA.opened, atB.opened])
    expect(await atA.connectionType()).toBe('direct')
    expect(atA.maxFrameBytes).toBe(256 * KiB)
  })

  it('delivers frames in order, asynchronously, as copies', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b')
    const received = collect(atB)
    const buffer = frameOf(100, 1)
    const sends = [atA.send(buffer), atA.send(frameOf(200, 2)), atA.send(frameOf(300, 3))]
    buffer.fill(9) // a channel copies on send: reusing the buffer changes nothing in flight
    expect(received).toHaveLength(0)
    await Promise.all(sends)
    await drained(atA)
    expect(received.map((f) => [f.length, f[0]])).toEqual([
      [100, 1],
      [200, 2],
      [300, 3],
    ])
    expect(atA.bufferedAmount).toBe(0)
  })

  it('carries frames both ways at once', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b')
    const atAReceived = collect(atA)
    const atBReceived = collect(atB)
    for (let i = 0; i < 50; i++) {
      await Promise.all([atA.send(frameOf(1000, i)), atB.send(frameOf(2000, i))])
    }
    await drained(atA, atB)
    expect(atBReceived.map((f) => f[0])).toEqual([...Array(50).keys()])
    expect(atAReceived.map((f) => f.length)).toEqual(Array(50).fill(2000))
  })

  it('makes send() wait while more than the high-water mark is undelivered, until the queue drains', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b', { highWaterBytes: 64 * KiB })
    const received = collect(atB)
    atA.setFaults({ paused: true })
    // 64 KiB fits under the high-water mark: those sends resolve though nothing is delivered.
    await atA.send(frameOf(32 * KiB, 1))
    await atA.send(frameOf(32 * KiB, 2))
    const over = track(atA.send(frameOf(16 * KiB, 3)))
    await tasks(10)
    expect(atA.bufferedAmount).toBe(80 * KiB)
    expect(over.settled).toBe(false)
    expect(received).toHaveLength(0)

    atA.setFaults({})
    await drained(atA)
    expect(over).toEqual({ settled: true })
    expect(received.map((f) => f[0])).toEqual([1, 2, 3])
    expect(atA.bufferedAmount).toBe(0)
  })

  it('keeps bufferedAmount within the high-water mark plus one frame for a sender that awaits each send', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b', { highWaterBytes: 256 * KiB })
    let bytes = 0
    atB.on('frame', (f) => {
      bytes += f.length
    })
    let maxBuffered = 0
    for (let i = 0; i < 256; i++) {
      const sending = atA.send(frameOf(64 * KiB, i))
      maxBuffered = Math.max(maxBuffered, atA.bufferedAmount)
      await sending
    }
    await drained(atA)
    expect(bytes).toBe(256 * 64 * KiB)
    expect(maxBuffered).toBeGreaterThan(256 * KiB)
    expect(maxBuffered).toBeLessThanOrEqual(256 * KiB + 64 * KiB)
  })

  it('refuses a frame larger than maxFrameBytes and stays open', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b', { maxFrameBytes: 16 * KiB })
    const received = collect(atB)
    await expect(atA.send(frameOf(16 * KiB + 1, 1))).rejects.toBeInstanceOf(RangeError)
    await atA.send(frameOf(16 * KiB, 2))
    await drained(atA)
    expect(received.map((f) => f[0])).toEqual([2])
    expect(atA.open).toBe(true)
  })

  it('closes both ends, once each, when one is destroyed; the error goes to the end that failed', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b')
    const closesA: { error?: Error }[] = []
    const closesB: { error?: Error }[] = []
    atA.on('close', (c) => closesA.push(c))
    atB.on('close', (c) => closesB.push(c))
    const failure = new SwarmError('CHUNK_CORRUPT', 'test')
    atA.destroy(failure)
    atA.destroy()
    expect(closesA).toEqual([{ error: failure }])
    expect(atA.destroyed).toBe(true)
    await tasks()
    expect(closesB).toEqual([{}])
    expect(atB.destroyed).toBe(true)
    atB.destroy()
    await tasks()
    expect(closesA).toHaveLength(1)
    expect(closesB).toHaveLength(1)
  })

  it('rejects pending and later sends, and delivers nothing after destroy', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b', { highWaterBytes: 16 * KiB })
    const atBReceived = collect(atB)
    const atAReceived = collect(atA)
    atA.setFaults({ paused: true })
    await atA.send(frameOf(16 * KiB, 1))
    const waiting = atA.send(frameOf(16 * KiB, 2))
    const backwards = atB.send(frameOf(1000, 3)) // in flight towards atA when it is destroyed
    atA.destroy()
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' })
    await expect(atA.send(frameOf(10, 4))).rejects.toMatchObject({ code: 'CANCELLED' })
    await backwards
    await tasks()
    await expect(atB.send(frameOf(10, 5))).rejects.toMatchObject({ code: 'CANCELLED' })
    await tasks()
    expect(atBReceived).toHaveLength(0)
    expect(atAReceived).toHaveLength(0)
    expect(await atA.connectionType()).toBe('unknown')
  })

  it('drops the frames a fault selects, keeping the order of the rest', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b')
    const received = collect(atB)
    atA.setFaults({ drop: (frame) => frame[0]! % 2 === 0 })
    for (let i = 0; i < 10; i++) await atA.send(frameOf(10, i))
    await drained(atA)
    expect(received.map((f) => f[0])).toEqual([1, 3, 5, 7, 9])
    expect(atA.bufferedAmount).toBe(0)
  })

  it('delays delivery by the latency a fault adds, keeping order', async () => {
    const [atA, atB] = createMemoryLinkPair('a', 'b')
    const received = collect(atB)
    atA.setFaults({ delayMs: 50 })
    const start = performance.now()
    await atA.send(frameOf(10, 1))
    atA.setFaults({})
    await atA.send(frameOf(10, 2)) // not delayed itself, but never overtakes the first
    await tasks()
    expect(received).toHaveLength(0)
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(performance.now() - start).toBeGreaterThanOrEqual(45)
    expect(received.map((f) => f[0])).toEqual([1, 2])
  })
})

describe('MemoryLinkNetwork', () => {
  /** Builds `local`'s end of a link to `remote`, keeping the signals it sends. */
  function end(network: MemoryLinkNetwork, local: string, remote: string, initiator: boolean) {
    const sent: Record<string, unknown>[] = []
    const link = network.createLink({
      initiator,
      localPeerId: local,
      remotePeerId: remote,
      iceServers: [],
      sendSignal: (data) => sent.push(data),
    }) as MemoryLink
    return { link, sent }
  }

  it('answers an offer whose offerer closed since and never opens, as WebRTC does; refuses one it never made', async () => {
    const network = new MemoryLinkNetwork()
    // A peer that shut down (or restarted) mid-attempt: its offer still reaches the other side.
    const offerer = end(network, 'a', 'b', true)
    await tasks()
    const offer = offerer.sent.find((signal) => signal.type === 'offer')!
    offerer.link.destroy()
    const answerer = end(network, 'b', 'a', false)
    answerer.link.signal(offer)
    await tasks()
    expect(answerer.link.destroyed).toBe(false)
    expect(answerer.link.open).toBe(false)
    expect(answerer.sent).toEqual([{ type: 'answer', sdp: offer.sdp }])

    const forged = end(network, 'c', 'a', false)
    const closed = new Promise<{ error?: Error }>((resolve) => forged.link.on('close', resolve))
    forged.link.signal({ type: 'offer', sdp: 'memory:a>c#999' })
    expect((await closed).error).toMatchObject({ code: 'BAD_MESSAGE' })
  })
})
