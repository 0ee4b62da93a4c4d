/** Content routing through the tracker and the ring together (combined-routing.ts), with fake sources. */
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import { systemClock } from '../../web/peer/clock.js'
import { CombinedRouting } from '../../web/peer/combined-routing.js'
import type { ContentRouting, NameHit, ProviderHit } from '../../web/peer/content-routing.js'

function source(
  name: 'tracker' | 'ring',
  providers: string[],
  names: [string, string][],
  fail = false,
): ContentRouting & { provided: string[] } {
  const provided: string[] = []
  return {
    provided,
    async findProviders() {
      if (fail) throw new SwarmError('TRACKER_OFFLINE', 'gone')
      return providers.map(
        (peerId): ProviderHit => ({
          peerId,
          source: name,
          sources: [name],
          ...(name === 'ring' ? { chunks: 2 } : {}),
        }),
      )
    },
    async search() {
      if (fail) throw new SwarmError('TRACKER_OFFLINE', 'gone')
      return names.map(
        ([digest, n]): NameHit => ({
          digest,
          names: [n],
          size: 1,
          chunkCount: 1,
          source: name,
          sources: [name],
        }),
      )
    },
    provide: (digest) => void provided.push(digest),
    withdraw: (digest) => void provided.push(`-${digest}`),
  }
}

describe('combined content routing', () => {
  it('merges both answers, one hit per peer or digest, with every source', async () => {
    const routing = new CombinedRouting({
      tracker: source('tracker', ['p1', 'p2'], [['d1', 'a.txt']]),
      ring: source(
        'ring',
        ['p2', 'p3'],
        [
          ['d1', 'a (copy).txt'],
          ['d2', 'b.txt'],
        ],
      ),
      trackerOnline: () => true,
      clock: systemClock,
    })
    expect(await routing.search('a')).toEqual([
      {
        digest: 'd1',
        names: ['a.txt', 'a (copy).txt'],
        size: 1,
        chunkCount: 1,
        source: 'tracker',
        sources: ['tracker', 'ring'],
      },
      { digest: 'd2', names: ['b.txt'], size: 1, chunkCount: 1, source: 'ring', sources: ['ring'] },
    ])
    // Holders: the tracker's at once; the ring's answer joins from the next lookup of that digest on.
    await routing.findProviders('d1')
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(await routing.findProviders('d1')).toEqual([
      { peerId: 'p1', source: 'tracker', sources: ['tracker'] },
      { peerId: 'p2', chunks: 2, source: 'tracker', sources: ['tracker', 'ring'] },
      { peerId: 'p3', chunks: 2, source: 'ring', sources: ['ring'] },
    ])
  })

  it('answers from the ring alone while the tracker is offline or failing, and publishes to both', async () => {
    const tracker = source('tracker', ['p1'], [['d1', 'a.txt']], true)
    const ring = source('ring', ['p3'], [['d2', 'b.txt']])
    let online = false
    const routing = new CombinedRouting({ tracker, ring, trackerOnline: () => online, clock: systemClock })
    expect((await routing.findProviders('d')).map((h) => [h.peerId, h.source])).toEqual([['p3', 'ring']])
    online = true // says online, but its request fails: the ring's answer in full
    expect((await routing.search('b')).map((h) => [h.digest, h.sources])).toEqual([['d2', ['ring']]])
    routing.provide('d9', { chunks: 1 })
    routing.withdraw('d9')
    expect([tracker.provided, ring.provided]).toEqual([
      ['d9', '-d9'],
      ['d9', '-d9'],
    ])
  })
})
