/**
 * Origin tags (signal/origin-tag.ts): the tracker stamps each relayed signal with a keyed hash of the
 * sender's address, so that a peer can budget abuse per address while peer ids cost nothing to mint.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { OriginTagSchema } from '../../shared/tracker-protocol.js'
import { originOf, originTagger } from '../../signal/origin-tag.js'
import type { RunningServer } from '../../signal/server.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'

const servers: RunningServer[] = []
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function connect(url: string, localAddress: string) {
  const client = await TestClient.connect(url, { localAddress })
  clients.push(client)
  return client
}

describe('origin tags', () => {
  it('counts an IPv4 address as itself, an IPv4-mapped one as its IPv4, and IPv6 by its /64', () => {
    expect(originOf('198.51.100.7')).toBe('198.51.100.7')
    expect(originOf('::ffff:198.51.100.7')).toBe('198.51.100.7')
    expect(originOf('::FFFF:198.51.100.7')).toBe('198.51.100.7')
    expect(originOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(originOf('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64')
    expect(originOf('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(originOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(originOf('64:ff9b:1:2::198.51.100.7')).toBe('64:ff9b:1:2::/64')
    expect(originOf('unknown')).toBe('unknown')
  })

  it('tags one origin alike and others apart, with a key, and never shows the address', () => {
    const tag = originTagger(new Uint8Array(32).fill(7))
    const a = tag('2001:db8:1:2:aaaa::1')
    expect(OriginTagSchema.safeParse(a).success).toBe(true)
    expect(tag('2001:db8:1:2:bbbb::2')).toBe(a) // the same /64
    expect(tag('2001:db8:1:3::1')).not.toBe(a)
    expect(tag('198.51.100.7')).toBe(tag('::ffff:198.51.100.7'))
    expect(tag('198.51.100.7')).not.toBe(tag('198.51.100.8'))
    // Another key (another process) tags the same address differently: the tag is no address in disguise.
    expect(originTagger(new Uint8Array(32).fill(8))('198.51.100.7')).not.toBe(tag('198.51.100.7'))
    expect(tag('198.51.100.7')).not.toContain('198')
  })

  it('stamps every relayed signal with the origin of the connection that sent it', async () => {
    const server = await startTestServer()
    servers.push(server)
    const target = await connect(server.url, '127.0.0.1')
    const first = await connect(server.url, '127.0.0.2')
    const second = await connect(server.url, '127.0.0.2') // another peer id, the same address
    const elsewhere = await connect(server.url, '127.0.0.3')
    const origins: (string | undefined)[] = []
    for (const sender of [first, second, elsewhere]) {
      // A sender cannot choose its origin: a field of its own is not part of a signal.
      sender.send({ type: 'signal', to: target.peerId, data: { type: 'knock', sid: 's' } })
      const relayed = await target.next('signal')
      expect(relayed).toMatchObject({ from: sender.peerId, data: { type: 'knock', sid: 's' } })
      origins.push(relayed.origin)
    }
    expect(OriginTagSchema.safeParse(origins[0]).success).toBe(true)
    expect(origins[1]).toBe(origins[0])
    expect(origins[2]).not.toBe(origins[0])
    const forged = await first.request({
      type: 'signal',
      to: target.peerId,
      origin: 'AAAAAAAAAAAAAAAA',
      data: { type: 'knock', sid: 't' },
    } as never)
    expect(forged).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' })
  })
})
