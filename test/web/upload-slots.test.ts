/**
 * The tab's upload slots on their own, with a fake clock: fair shares, round robin, cancels that free a
 * slot at once without multiplying one peer's reads, and abusive peers served last.
 */
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import {
  ABUSE_HALF_LIFE_MS,
  REQUESTS_PER_PEER,
  SLOTS_PER_PEER,
  UPLOAD_SLOTS,
  UploadSlots,
  type UploadTicket,
} from '../../web/peer/upload-slots.js'
import { FakeClock } from '../support/fake-clock.js'

const cancelled = new SwarmError('CANCELLED', 'cancelled by the peer')

/** Lets granted tickets' promises settle. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

/** Queues `count` requests of `peerId`, recording the order in which they are granted. */
function ask(
  slots: UploadSlots,
  peerId: string,
  count: number,
  granted: string[],
  firstId = 1,
): UploadTicket[] {
  const tickets: UploadTicket[] = []
  for (let id = firstId; id < firstId + count; id++) {
    const ticket = slots.enqueue(peerId, id)
    if (!ticket) continue
    ticket.granted.then(
      () => granted.push(`${peerId}#${id}`),
      () => {},
    )
    tickets.push(ticket)
  }
  return tickets
}

describe('upload slots', () => {
  it('gives a lone peer its share at once and queues the rest up to what it may have outstanding', async () => {
    const slots = new UploadSlots(new FakeClock())
    const granted: string[] = []
    const tickets = ask(slots, 'a', REQUESTS_PER_PEER + 1, granted)
    await flush()
    expect(tickets).toHaveLength(REQUESTS_PER_PEER)
    expect(granted).toHaveLength(SLOTS_PER_PEER)
    tickets[0]!.release()
    await flush()
    expect(granted).toHaveLength(SLOTS_PER_PEER + 1)
  })

  it('shares the slots across waiting peers, fewest held first, in turn among equals', async () => {
    const slots = new UploadSlots(new FakeClock())
    const granted: string[] = []
    const a = ask(slots, 'a', REQUESTS_PER_PEER, granted)
    const b = ask(slots, 'b', REQUESTS_PER_PEER, granted)
    const c = ask(slots, 'c', REQUESTS_PER_PEER, granted)
    await flush()
    // 8 slots: a and b took their share before c asked; c waits.
    expect(granted.filter((g) => g.startsWith('a'))).toHaveLength(SLOTS_PER_PEER)
    expect(granted.filter((g) => g.startsWith('b'))).toHaveLength(UPLOAD_SLOTS - SLOTS_PER_PEER)
    granted.length = 0
    // Slots that free go to c (who holds none) while it holds fewest; then, among equals, in turn.
    a[0]!.release()
    b[0]!.release()
    a[1]!.release()
    await flush()
    expect(granted).toEqual(['c#1', 'c#2', 'a#5'])
    expect(slots.inUse).toBe(UPLOAD_SLOTS)
    void c
  })

  it("frees a running upload's slot at once on cancel, while the peer's own allowance waits for its read", async () => {
    const slots = new UploadSlots(new FakeClock(), 1)
    const granted: string[] = []
    const [greedy] = ask(slots, 'greedy', 1, granted)
    await flush()
    ask(slots, 'greedy', 1, granted, 2)
    ask(slots, 'honest', 1, granted)
    slots.cancel('greedy', 1, cancelled)
    await flush()
    expect(greedy!.cancelled).toBe(true)
    // The slot went to the other peer, not to greedy's next request, although greedy's read still runs.
    expect(granted).toEqual(['greedy#1', 'honest#1'])
    greedy!.release()
    await flush()
    expect(granted).toEqual(['greedy#1', 'honest#1'])
  })

  it('drops a waiting request on cancel: it is never granted, and nothing is read for it', async () => {
    const slots = new UploadSlots(new FakeClock(), 1)
    const granted: string[] = []
    ask(slots, 'a', 1, granted)
    const [waiting] = ask(slots, 'a', 1, granted, 2)
    slots.cancel('a', 2, cancelled)
    await expect(waiting!.granted).rejects.toBe(cancelled)
    expect(slots.outstanding('a')).toBe(1)
  })

  it('serves a peer whose requests are mostly cancelled last, one slot at most, until its record decays', async () => {
    const clock = new FakeClock()
    const slots = new UploadSlots(clock)
    // Request and cancel at once, again and again: reads nobody wants.
    for (let id = 1; id <= 20; id++) {
      const ticket = slots.enqueue('flooder', id)!
      slots.cancel('flooder', id, cancelled)
      ticket.release() // its read ended
    }
    expect(slots.isAbusive('flooder')).toBe(true)
    const granted: string[] = []
    const flooder = ask(slots, 'flooder', 4, granted, 100)
    const honest = ask(slots, 'honest', 4, granted)
    await flush()
    // Slots to spare, yet the flooder gets one; the honest peer its full share.
    expect(granted.filter((g) => g.startsWith('flooder'))).toHaveLength(1)
    expect(granted.filter((g) => g.startsWith('honest'))).toHaveLength(SLOTS_PER_PEER)
    for (const ticket of [...flooder, ...honest]) ticket.release()
    clock.advance(ABUSE_HALF_LIFE_MS * 6)
    expect(slots.isAbusive('flooder')).toBe(false)
  })

  it('counts a peer that keeps asking past its allowance as abusive', () => {
    const slots = new UploadSlots(new FakeClock())
    for (let id = 1; id <= REQUESTS_PER_PEER + 16; id++) slots.enqueue('pusher', id)
    expect(slots.isAbusive('pusher')).toBe(true)
  })

  it('drops everything of a peer whose session closed', async () => {
    const slots = new UploadSlots(new FakeClock())
    const granted: string[] = []
    const tickets = ask(slots, 'gone', REQUESTS_PER_PEER, granted)
    await flush()
    slots.dropPeer('gone', new SwarmError('SESSION_CLOSED', 'closed'))
    expect(slots.inUse).toBe(0)
    await expect(tickets.at(-1)!.granted).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    for (const ticket of tickets) ticket.release()
    expect(slots.outstanding('gone')).toBe(0)
  })
})
