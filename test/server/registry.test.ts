import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'
import type { ErrorCode } from '../../shared/errors.js'
import { MAX_NAMES_PER_FILE } from '../../shared/limits.js'
import { chunkCountOf, type Manifest } from '../../shared/manifest.js'
import type { AnnouncedFile, CatalogEntry } from '../../shared/tracker-protocol.js'
import { systemClock } from '../../signal/clock.js'
import { RedisCluster } from '../../signal/cluster.js'
import { throttleLogger } from '../../signal/log-throttle.js'
import { silentLogger } from '../../signal/logger.js'
import { MemoryRegistry } from '../../signal/memory-registry.js'
import { SwarmRegistry } from '../../signal/registry.js'
import type { Registry } from '../../signal/registry-contract.js'
import { startRedis, TEST_REDIS_COMMAND_TIMEOUT_MS, type TestRedis } from '../support/redis.js'
import { until } from '../support/until.js'

const CHUNK = 16 * 1024

/** A digest that sorts by `n`: the registry never hashes, so any 64 hex characters will do. */
function digestOf(n: number): string {
  return n.toString(16).padStart(64, '0')
}

const A = digestOf(0xa)
const B = digestOf(0xb)
const C = digestOf(0xc)

function file(digest: string, name: string, fields: Partial<AnnouncedFile> = {}): AnnouncedFile {
  return { digest, name, size: 4 * CHUNK, chunkSize: CHUNK, have: 'all', ...fields }
}

function bitfield(length: number, chunks: readonly number[]): string {
  const field = new Bitfield(length)
  for (const chunk of chunks) field.set(chunk)
  return field.toBase64()
}

function manifestOfShape(size: number, chunkSize: number): Manifest {
  return {
    size,
    chunkSize,
    hashes: Array.from({ length: chunkCountOf(size, chunkSize) }, () => 'f'.repeat(64)),
  }
}

/**
 * The implementations the contract holds for: the memory registry of one process, and the Redis registry
 * of an instance (each test on its own key prefix of one real redis-server, started here).
 */
const KINDS = ['memory', 'redis'] as const
type Kind = (typeof KINDS)[number]

let redis: TestRedis | undefined
const clusters: RedisCluster[] = []
let prefixes = 0

beforeAll(async () => {
  redis = await startRedis()
})

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.close()))
})

afterAll(async () => {
  await redis?.stop()
})

/** A registry with `peers` already connected. */
async function newRegistry(kind: Kind, peers: readonly string[], filesPerPeer = 100): Promise<Registry> {
  let registry: Registry
  if (kind === 'memory') registry = new MemoryRegistry(filesPerPeer)
  else {
    const cluster = new RedisCluster({
      url: redis!.url,
      prefix: `test${++prefixes}:`,
      commandTimeoutMs: TEST_REDIS_COMMAND_TIMEOUT_MS,
      filesPerPeer,
      log: throttleLogger(silentLogger),
      clock: systemClock(),
    })
    clusters.push(cluster)
    await cluster.start()
    await until(() => cluster.redisUp, 'Redis connected')
    registry = cluster.registry
  }
  for (const peer of peers) await registry.addPeer(peer)
  return registry
}

/** One catalog page. */
async function page(registry: Registry, query: string | undefined, offset: number, limit: number) {
  return (await registry.catalog(query, offset, limit)).page
}

function codes(rejections: readonly { digest: string; code: ErrorCode }[]): [string, ErrorCode][] {
  return rejections.map((r) => [r.digest, r.code])
}

async function peerMap(registry: Registry, digest: string, asker: string, limit = 100) {
  const swarm = await registry.peers(digest, asker, limit)
  return swarm && new Map(swarm.peers.map((p) => [p.peerId, p.have]))
}

describe.each(KINDS)('the registry contract (%s)', (kind) => {
  const registryWith = (peers: readonly string[], filesPerPeer = 100) =>
    newRegistry(kind, peers, filesPerPeer)

  describe('unlisted files (private shares, collection members)', () => {
    const unlisted = (digest: string, fields: Partial<AnnouncedFile> = {}): AnnouncedFile => {
      const { name: _name, ...rest } = file(digest, 'unused', fields)
      return { ...rest, unlisted: true }
    }

    it('tracks the holders of an unlisted file without listing it or knowing a name', async () => {
      const registry = await registryWith(['p1', 'p2'])
      expect(await registry.announce('p1', [unlisted(A), file(B, 'b.txt')])).toEqual([])
      expect(await registry.announce('p2', [unlisted(A, { have: bitfield(4, [0]) })])).toEqual([])
      const all = await page(registry, undefined, 0, 10)
      expect(all.total).toBe(1)
      expect(all.files.map((f) => f.digest)).toEqual([B])
      expect((await page(registry, A, 0, 10)).total).toBe(0)
      expect(await registry.entry(A)).toBeUndefined()
      expect(await registry.hasFile(A)).toBe(true)
      expect(await registry.hasFile(C)).toBe(false)
      expect(await peerMap(registry, A, 'p2')).toEqual(new Map([['p1', 'all']]))
      expect(await registry.stats()).toMatchObject({ files: 2, swarms: 1, holdings: 3 })
    })

    it('lists the file once someone announces it with a name, with that announce’s type', async () => {
      const registry = await registryWith(['p1', 'p2'])
      await registry.announce('p1', [unlisted(A)])
      await registry.announce('p2', [file(A, 'now-public.txt', { mime: 'text/plain' })])
      expect(await registry.entry(A)).toMatchObject({
        names: ['now-public.txt'],
        mime: 'text/plain',
        seeders: 2,
      })
      expect((await page(registry, 'now-public', 0, 10)).files.map((f) => f.digest)).toEqual([A])
      await registry.leave('p2', [A])
      expect((await registry.entry(A))?.names).toEqual(['now-public.txt'])
    })

    it('keeps unlisted files out of the name index, the catalog order and the revision', async () => {
      const registry = await registryWith(['p1', 'p2'], 1_001)
      await registry.announce('p1', [file(B, 'b.txt')])
      const hidden = Array.from({ length: 1_000 }, (_, i) => `e${digestOf(i).slice(1)}`)
      const revision = registry.revision
      expect(
        await registry.announce(
          'p1',
          hidden.slice(1).map((digest) => unlisted(digest)),
        ),
      ).toEqual([])
      expect(await registry.announce('p1', [unlisted(hidden[0]!)])).toEqual([])
      await registry.announce('p2', [unlisted(hidden[0]!, { have: bitfield(4, [1]) })])
      await registry.reportChunks('p2', [{ digest: hidden[0]!, chunks: [0, 2, 3] }])
      await registry.leave('p2', [hidden[0]!])
      await registry.leave('p1', [hidden[1]!])
      expect(registry.revision).toBe(revision) // watchers are not woken by what no page shows

      const before = registry.recordsTouched
      expect((await page(registry, undefined, 0, 10)).files.map((f) => f.digest)).toEqual([B])
      // by digest prefix (the index's buckets) and by the whole digest: nothing unlisted is found
      expect((await page(registry, hidden[0]!.slice(0, 8), 0, 10)).total).toBe(0)
      expect((await page(registry, hidden[0]!, 0, 10)).total).toBe(0)
      // the order was built over the one listed file, not the thousand unlisted ones
      expect(registry.recordsTouched - before).toBeLessThan(20)

      await registry.announce('p2', [file(hidden[0]!, 'listed later.txt')])
      expect(registry.revision).toBeGreaterThan(revision)
      expect((await page(registry, hidden[0]!.slice(0, 8), 0, 10)).files.map((f) => f.names)).toEqual([
        ['listed later.txt'],
      ])
      const listed = await page(registry, undefined, 0, 10)
      expect(listed.total).toBe(2)
      // ranked by its holders like any listed file: p1 (unlisted) and p2 (listed) both count
      expect(listed.files.map((f) => [f.digest, f.seeders])).toEqual([
        [hidden[0]!, 2],
        [B, 1],
      ])
    })

    it('says in peers that a file is a private share once a holder announced it sealed', async () => {
      const registry = await registryWith(['p1', 'p2'])
      await registry.announce('p1', [unlisted(A)])
      expect(await registry.peers(A, 'p2', 10)).not.toHaveProperty('sealed')
      await registry.announce('p1', [unlisted(A, { sealed: true })])
      expect(await registry.peers(A, 'p2', 10)).toMatchObject({ sealed: true })
      expect((await registry.peers(A, 'p2', 10))?.peers).toEqual([{ peerId: 'p1', have: 'all' }])
    })

    it('checks an unlisted file’s shape against the catalog and its cached manifest like any other', async () => {
      const registry = await registryWith(['p1', 'p2'])
      await registry.announce('p1', [unlisted(A)])
      expect(codes(await registry.announce('p2', [unlisted(A, { size: CHUNK })]))).toEqual([
        [A, 'FILE_CONFLICT'],
      ])
    })

    it('lets a manifest be given for an unlisted file, and drops the holders of a false shape', async () => {
      const registry = await registryWith(['p1'])
      await registry.announce('p1', [unlisted(A, { size: 9 * CHUNK })])
      const revision = registry.revision
      expect(await registry.putManifest(A, manifestOfShape(4 * CHUNK, CHUNK))).toEqual(['p1'])
      expect(await registry.hasFile(A)).toBe(false)
      expect(registry.revision).toBe(revision)
    })

    it('shows a collection’s file count and bytes from its first listed announce', async () => {
      const registry = await registryWith(['p1', 'p2'])
      await registry.announce('p1', [file(A, 'album', { collection: { files: 20, bytes: 12_345 } })])
      await registry.announce('p2', [file(A, 'album copy', { collection: { files: 1, bytes: 1 } })])
      expect((await page(registry, undefined, 0, 10)).files[0]).toMatchObject({
        names: ['album', 'album copy'],
        collection: { files: 20, bytes: 12_345 },
      })
      expect(await registry.entry(A)).toMatchObject({ collection: { files: 20, bytes: 12_345 } })
      expect((await page(registry, 'album', 0, 10)).files[0]?.collection).toEqual({
        files: 20,
        bytes: 12_345,
      })
    })
  })

  it('creates a catalog entry on the first announce, with its shape, chunk count and mime type', async () => {
    const registry = await registryWith(['p1'])
    expect(
      await registry.announce('p1', [file(A, 'a.txt', { size: 3 * CHUNK + 1, mime: 'text/plain' })]),
    ).toEqual([])
    expect(await registry.entry(A)).toEqual({
      digest: A,
      names: ['a.txt'],
      mime: 'text/plain',
      size: 3 * CHUNK + 1,
      chunkSize: CHUNK,
      chunkCount: 4,
      seeders: 1,
      leechers: 0,
    })
    expect(await registry.holds('p1', A)).toBe(true)
    expect(await registry.filesOf('p1')).toBe(1)
    expect(await registry.stats()).toEqual({ peers: 1, files: 1, swarms: 0, holdings: 1, cachedManifests: 0 })
  })

  it('keeps the mime type of the first announce, and leaves it out when the first announce had none', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'a', { mime: 'image/png' }), file(B, 'b')])
    await registry.announce('p2', [
      file(A, 'a', { mime: 'text/plain' }),
      file(B, 'b', { mime: 'text/plain' }),
    ])
    expect((await registry.entry(A))?.mime).toBe('image/png')
    expect(await registry.entry(B)).not.toHaveProperty('mime')
  })

  it('accumulates distinct names of a file in the order first announced, up to MAX_NAMES_PER_FILE', async () => {
    const peers = Array.from({ length: MAX_NAMES_PER_FILE + 3 }, (_, i) => `p${i}`)
    const registry = await registryWith(peers)
    await registry.announce('p0', [file(A, 'name-0')])
    await registry.announce('p0', [file(A, 'name-0')])
    expect((await registry.entry(A))?.names).toEqual(['name-0'])
    for (const [i, peer] of peers.entries()) await registry.announce(peer, [file(A, `name-${i}`)])
    await registry.announce('p1', [file(A, 'name-0')])
    expect((await registry.entry(A))?.names).toEqual(
      Array.from({ length: MAX_NAMES_PER_FILE }, (_, i) => `name-${i}`),
    )
    expect(await registry.entry(A)).toMatchObject({ seeders: peers.length })
  })

  it('replaces the chunk set a peer held when it announces the file again', async () => {
    const registry = await registryWith(['leecher', 'asker'])
    await registry.announce('leecher', [file(A, 'a', { have: bitfield(4, [0, 1]) })])
    expect((await peerMap(registry, A, 'asker'))?.get('leecher')).toBe(bitfield(4, [0, 1]))
    await registry.announce('leecher', [file(A, 'a', { have: bitfield(4, [3]) })])
    expect((await peerMap(registry, A, 'asker'))?.get('leecher')).toBe(bitfield(4, [3]))
    expect(await registry.entry(A)).toMatchObject({ seeders: 0, leechers: 1 })

    await registry.announce('leecher', [file(A, 'a')])
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 0 })
    // a seeder that re-announces a partial set (it lost chunks) is a leecher again
    await registry.announce('leecher', [file(A, 'a', { have: bitfield(4, [2]) })])
    expect(await registry.entry(A)).toMatchObject({ seeders: 0, leechers: 1 })
    expect((await peerMap(registry, A, 'asker'))?.get('leecher')).toBe(bitfield(4, [2]))
    expect(await registry.stats()).toMatchObject({ files: 1, swarms: 1, holdings: 1 })
  })

  it('counts a peer whose announced bitfield is full as a seeder, and reports it as "all"', async () => {
    const registry = await registryWith(['p1', 'asker'])
    await registry.announce('p1', [file(A, 'a', { have: bitfield(4, [0, 1, 2, 3]) })])
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 0 })
    expect(await peerMap(registry, A, 'asker')).toEqual(new Map([['p1', 'all']]))
    expect((await registry.stats()).swarms).toBe(0)
  })

  it('counts the holder of an empty file as a seeder, whatever it announced', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'empty', { size: 0, have: '' })])
    await registry.announce('p2', [file(A, 'empty', { size: 0 })])
    expect(await registry.entry(A)).toMatchObject({ chunkCount: 0, seeders: 2, leechers: 0 })
  })

  it('turns a leecher into a seeder once its chunk reports complete the file', async () => {
    const registry = await registryWith(['seeder', 'leecher', 'asker'])
    await registry.announce('seeder', [file(A, 'a')])
    await registry.announce('leecher', [file(A, 'a', { have: bitfield(4, []) })])
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 1 })
    expect((await registry.stats()).swarms).toBe(1)

    expect(await registry.reportChunks('leecher', [{ digest: A, chunks: [0, 2, 2] }])).toEqual([])
    expect((await peerMap(registry, A, 'asker'))?.get('leecher')).toBe(bitfield(4, [0, 2]))
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 1 })

    expect(await registry.reportChunks('leecher', [{ digest: A, chunks: [3] }])).toEqual([])
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 1 })
    expect(await registry.reportChunks('leecher', [{ digest: A, chunks: [1] }])).toEqual([])
    expect((await peerMap(registry, A, 'asker'))?.get('leecher')).toBe('all')
    expect(await registry.entry(A)).toMatchObject({ seeders: 2, leechers: 0 })
    expect((await registry.stats()).swarms).toBe(0)
    // a seeder's reports change nothing
    expect(await registry.reportChunks('seeder', [{ digest: A, chunks: [1] }])).toEqual([])
    expect(await registry.entry(A)).toMatchObject({ seeders: 2, leechers: 0 })
  })

  it('treats leaving a file the peer does not hold as a no-op', async () => {
    const registry = await registryWith(['holder', 'other'])
    await registry.announce('holder', [file(A, 'a')])
    const revision = registry.revision
    await registry.leave('other', [A, B])
    await registry.leave('stranger', [A])
    expect(registry.revision).toBe(revision)
    expect(await registry.entry(A)).toMatchObject({ seeders: 1 })
    expect(await registry.holds('holder', A)).toBe(true)
    expect(await registry.filesOf('other')).toBe(0)
  })

  it('removes a file from the catalog when its last holder leaves or goes', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'a'), file(B, 'b', { have: bitfield(4, [1]) })])
    await registry.announce('p2', [file(A, 'a', { have: bitfield(4, [1]) })])
    expect(await registry.stats()).toEqual({ peers: 2, files: 2, swarms: 2, holdings: 3, cachedManifests: 0 })

    await registry.removePeer('p1')
    expect(await registry.hasPeer('p1')).toBe(false)
    expect(await registry.entry(B)).toBeUndefined()
    expect(await registry.entry(A)).toMatchObject({ seeders: 0, leechers: 1 })
    expect(await registry.stats()).toEqual({ peers: 1, files: 1, swarms: 1, holdings: 1, cachedManifests: 0 })

    await registry.leave('p2', [A])
    expect(await registry.entry(A)).toBeUndefined()
    expect(await page(registry, undefined, 0, 10)).toMatchObject({ total: 0, files: [] })
    expect(await registry.stats()).toEqual({ peers: 1, files: 0, swarms: 0, holdings: 0, cachedManifests: 0 })
    expect(await registry.peers(A, 'p2', 10)).toBeUndefined()
    // removing a peer twice, or one never seen, is harmless
    await registry.removePeer('p1')
    await registry.removePeer('nobody')
    expect((await registry.stats()).peers).toBe(1)
  })

  it('refuses with FILE_CONFLICT an announce whose size or chunk size differs from the catalog, and keeps the entry', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'a')])
    const before = await registry.entry(A)
    const rejections = await registry.announce('p2', [
      file(A, 'bigger', { size: 5 * CHUNK }),
      file(A, 'coarser', { chunkSize: 2 * CHUNK }),
      file(B, 'b'),
    ])
    expect(codes(rejections)).toEqual([
      [A, 'FILE_CONFLICT'],
      [A, 'FILE_CONFLICT'],
    ])
    expect(await registry.entry(A)).toEqual(before)
    expect(await registry.holds('p2', A)).toBe(false)
    expect(await registry.holds('p2', B)).toBe(true)
  })

  it('refuses with TOO_MANY_FILES beyond filesPerPeer, but lets a peer at the limit re-announce what it holds', async () => {
    const registry = await registryWith(['p1'], 2)
    expect(codes(await registry.announce('p1', [file(A, 'a'), file(B, 'b'), file(C, 'c')]))).toEqual([
      [C, 'TOO_MANY_FILES'],
    ])
    expect(await registry.filesOf('p1')).toBe(2)
    expect(await registry.entry(C)).toBeUndefined()
    expect(await registry.announce('p1', [file(B, 'b', { have: bitfield(4, [0]) }), file(A, 'a2')])).toEqual(
      [],
    )
    expect(await registry.entry(B)).toMatchObject({ seeders: 0, leechers: 1 })
    expect((await registry.entry(A))?.names).toEqual(['a', 'a2'])

    await registry.leave('p1', [A])
    expect(await registry.announce('p1', [file(C, 'c')])).toEqual([])
    expect(await registry.filesOf('p1')).toBe(2)
  })

  it('refuses with CHUNK_OUT_OF_RANGE a bitfield of the wrong length or with bits set past the last chunk', async () => {
    const registry = await registryWith(['p1'])
    const rejections = await registry.announce('p1', [
      file(A, 'a', { have: bitfield(9, [0]) }), // two bytes for a four-chunk file
      file(B, 'b', { have: bitfield(8, [5]) }), // right byte count, but chunk 5 of 4
      file(C, 'c', { have: 'AA' }), // not canonical base64
    ])
    expect(codes(rejections)).toEqual([
      [A, 'CHUNK_OUT_OF_RANGE'],
      [B, 'CHUNK_OUT_OF_RANGE'],
      [C, 'CHUNK_OUT_OF_RANGE'],
    ])
    expect(await registry.stats()).toMatchObject({ files: 0, holdings: 0 })
    expect(await registry.filesOf('p1')).toBe(0)
  })

  it('refuses with CHUNK_OUT_OF_RANGE a report of an index at or past the chunk count, applying none of that update', async () => {
    const registry = await registryWith(['p1', 'asker'])
    await registry.announce('p1', [
      file(A, 'a', { have: bitfield(4, []) }),
      file(B, 'b', { have: bitfield(4, []) }),
    ])
    const rejections = await registry.reportChunks('p1', [
      { digest: A, chunks: [0, 4] },
      { digest: B, chunks: [3] },
    ])
    expect(codes(rejections)).toEqual([[A, 'CHUNK_OUT_OF_RANGE']])
    expect((await peerMap(registry, A, 'asker'))?.get('p1')).toBe(bitfield(4, []))
    expect((await peerMap(registry, B, 'asker'))?.get('p1')).toBe(bitfield(4, [3]))
    // a seeder is checked too
    await registry.announce('p1', [file(A, 'a')])
    expect(codes(await registry.reportChunks('p1', [{ digest: A, chunks: [1000] }]))).toEqual([
      [A, 'CHUNK_OUT_OF_RANGE'],
    ])
  })

  it('refuses with NOT_ANNOUNCED a report for a file the peer does not hold', async () => {
    const registry = await registryWith(['holder', 'other'])
    await registry.announce('holder', [file(A, 'a', { have: bitfield(4, []) })])
    const rejections = await registry.reportChunks('other', [
      { digest: A, chunks: [0] },
      { digest: B, chunks: [0] },
    ])
    expect(codes(rejections)).toEqual([
      [A, 'NOT_ANNOUNCED'],
      [B, 'NOT_ANNOUNCED'],
    ])
    expect(await registry.holds('other', A)).toBe(false)
    expect(await registry.entry(A)).toMatchObject({ seeders: 0, leechers: 1 })
    await registry.leave('holder', [A])
    expect(codes(await registry.reportChunks('holder', [{ digest: A, chunks: [0] }]))).toEqual([
      [A, 'NOT_ANNOUNCED'],
    ])
  })

  it('orders the catalog by holders, most first, then by first name, then by digest', async () => {
    const registry = await registryWith(['p1', 'p2', 'p3'])
    const [d1, d2, d3, d4, d5] = [1, 2, 3, 4, 5].map(digestOf) as [string, string, string, string, string]
    await registry.announce('p1', [file(d5, 'zeta'), file(d4, 'beta'), file(d2, 'alpha'), file(d1, 'alpha')])
    await registry.announce('p2', [file(d3, 'omega'), file(d5, 'zeta')])
    await registry.announce('p3', [file(d3, 'omega'), file(d5, 'aaa-second-name')])
    const order = (await page(registry, undefined, 0, 10)).files.map((f) => f.digest)
    // d5 and d3 have three and two holders; among one-holder files 'alpha' < 'beta', and d1 < d2
    expect(order).toEqual([d5, d3, d1, d2, d4])

    // with p1 gone, d3 and d5 both have two holders: d3's first name 'omega' sorts before d5's 'zeta'
    await registry.removePeer('p1')
    expect((await page(registry, undefined, 0, 10)).files.map((f) => f.digest)).toEqual([d3, d5])
  })

  it('pages the catalog with offset and limit, reporting the total of all matches', async () => {
    const registry = await registryWith(['p1'])
    const digests = Array.from({ length: 7 }, (_, i) => digestOf(i + 1))
    await registry.announce(
      'p1',
      digests.map((d, i) => file(d, `file-${i}`)),
    )
    const all = (await page(registry, undefined, 0, 100)).files.map((f) => f.digest)
    expect(all).toEqual(digests)
    const pages = await Promise.all([0, 3, 6].map((offset) => page(registry, undefined, offset, 3)))
    expect(pages.map((p) => [p.offset, p.total, p.files.length])).toEqual([
      [0, 7, 3],
      [3, 7, 3],
      [6, 7, 1],
    ])
    expect(pages.flatMap((p) => p.files.map((f) => f.digest))).toEqual(all)
    expect(await page(registry, undefined, 50, 3)).toMatchObject({ total: 7, offset: 50, files: [] })
    expect((await page(registry, undefined, 0, 0)).files).toEqual([])
  })

  it('searches names by case-insensitive substring and digests by a prefix of at least four hex characters', async () => {
    const registry = await registryWith(['p1', 'p2'])
    const holiday = `abcd${'1'.repeat(60)}`
    const report = `abce${'2'.repeat(60)}`
    const cafe = `ffff${'3'.repeat(60)}`
    await registry.announce('p1', [
      file(holiday, 'Holiday Photo.JPG'),
      file(report, 'report.pdf'),
      file(cafe, 'Café'),
    ])
    await registry.announce('p2', [file(report, 'Quarterly FACE report.pdf')])
    const found = async (query: string) =>
      (await page(registry, query, 0, 10)).files.map((f) => f.digest).sort()

    expect(await found('photo')).toEqual([holiday])
    expect(await found('  HOLIDAY ')).toEqual([holiday])
    expect(await found('REPORT')).toEqual([report])
    expect(await found('face')).toEqual([report]) // a later name matches too
    expect(await found('café')).toEqual([cafe])
    expect(await found('abcd')).toEqual([holiday])
    expect(await found('ABCE2')).toEqual([report])
    expect(await found(holiday)).toEqual([holiday])
    expect(await found('abc')).toEqual([]) // three hex characters are too few for a digest prefix
    expect(await found('bcd1')).toEqual([]) // a digest matches by prefix only
    expect(await found('abcz')).toEqual([])
    expect(await found('')).toEqual([cafe, holiday, report].sort())
    expect((await page(registry, 'report', 0, 10)).total).toBe(1)
  })

  it('keeps any name the protocol allows exactly, lone surrogates and astral characters included, and finds it', async () => {
    const registry = await registryWith(['p1', 'p2'])
    const names = ['\ud800 half', 'ᴜӍꯕ𘡸ꞝ𐦲𓆕 astral', 'nul\u0000inside', 'quote " and \\ slash /']
    const digests = names.map((_, i) => digestOf(0x100 + i))
    expect(
      await registry.announce(
        'p1',
        names.map((name, i) => file(digests[i]!, name)),
      ),
    ).toEqual([])
    expect(await registry.announce('p2', [file(digests[0]!, '\udfff other half')])).toEqual([])
    expect((await registry.entry(digests[0]!))?.names).toEqual(['\ud800 half', '\udfff other half'])
    for (const [i, name] of names.entries()) {
      expect((await registry.entry(digests[i]!))?.names[0]).toBe(name)
      const found = (await page(registry, name.slice(-6), 0, 10)).files.map((f) => f.digest)
      expect(found).toContain(digests[i])
    }
    expect((await page(registry, '𘡸ꞝ𐦲', 0, 10)).files.map((f) => f.digest)).toEqual([digests[1]])
  })

  it('grows the revision on every visible change, and not on reads or changes nobody sees', async () => {
    const registry = await registryWith(['p1', 'p2'])
    let last = registry.revision
    const grew = () => {
      const grown = registry.revision > last
      last = registry.revision
      return grown
    }
    await registry.announce('p1', [file(A, 'a')])
    expect(grew()).toBe(true)
    await registry.announce('p2', [file(A, 'a', { have: bitfield(4, []) })])
    expect(grew()).toBe(true)
    await registry.announce('p2', [file(A, 'second name', { have: bitfield(4, []) })])
    expect(grew()).toBe(true)

    await page(registry, undefined, 0, 10)
    await page(registry, 'a', 0, 10)
    await registry.peers(A, 'p1', 10)
    await registry.entry(A)
    await registry.stats()
    await registry.holds('p1', A)
    await registry.filesOf('p1')
    await registry.manifest(A)
    expect(grew()).toBe(false)

    await registry.reportChunks('p2', [{ digest: A, chunks: [0, 1] }]) // still a leecher: the catalog is the same
    expect(grew()).toBe(false)
    await registry.reportChunks('p2', [{ digest: B, chunks: [0] }]) // rejected
    await registry.announce('p2', [file(A, 'a', { size: 1 })]) // rejected
    await registry.leave('p2', [B])
    await registry.removePeer('nobody')
    await registry.addPeer('p3')
    expect(await registry.putManifest(A, manifestOfShape(4 * CHUNK, CHUNK))).toEqual([])
    expect(grew()).toBe(false)

    await registry.reportChunks('p2', [{ digest: A, chunks: [2, 3] }])
    expect(grew()).toBe(true)
    await registry.leave('p2', [A])
    expect(grew()).toBe(true)
    await registry.removePeer('p1')
    expect(grew()).toBe(true)
  })

  it('returns the holders of a file except the asker, "all" for seeders and the bitfield for leechers', async () => {
    const registry = await registryWith(['seeder', 'leecher', 'asker'])
    await registry.announce('seeder', [file(A, 'a')])
    await registry.announce('leecher', [file(A, 'a', { have: bitfield(4, [1, 3]) })])
    await registry.announce('asker', [file(A, 'a', { have: bitfield(4, []) })])
    expect((await registry.peers(A, 'asker', 10))?.chunkCount).toBe(4)
    expect(await peerMap(registry, A, 'asker')).toEqual(
      new Map([
        ['seeder', 'all'],
        ['leecher', bitfield(4, [1, 3])],
      ]),
    )
    expect((await peerMap(registry, A, 'seeder'))?.has('seeder')).toBe(false)
    expect((await peerMap(registry, A, 'stranger'))?.size).toBe(3)
    expect(await registry.peers(B, 'asker', 10)).toBeUndefined()
    expect((await registry.peers(A, 'asker', 0))?.peers).toEqual([])
  })

  it('caps the holders it returns at the limit with a random sample, so every holder is returned over many calls', async () => {
    const holders = Array.from({ length: 20 }, (_, i) => `h${i}`)
    const registry = await registryWith([...holders, 'asker'])
    for (const holder of holders) await registry.announce(holder, [file(A, 'a')])
    await registry.announce('asker', [file(A, 'a')])
    const seen = new Map<string, number>()
    const calls = 400
    for (let call = 0; call < calls; call++) {
      const { peers } = (await registry.peers(A, 'asker', 5))!
      expect(peers).toHaveLength(5)
      expect(new Set(peers.map((p) => p.peerId)).size).toBe(5)
      for (const { peerId } of peers) {
        expect(holders).toContain(peerId)
        seen.set(peerId, (seen.get(peerId) ?? 0) + 1)
      }
    }
    expect([...seen.keys()].sort()).toEqual([...holders].sort())
    // each holder is expected 100 times (400 calls × 5 of 20); far from 0 or 400 if the sample is fair
    for (const count of seen.values()) expect(count).toBeGreaterThan(40)
  })

  it('caches a manifest whose shape matches the catalog, dropping nobody', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'a', { size: 3 * CHUNK + 5 })])
    await registry.announce('p2', [file(A, 'a', { size: 3 * CHUNK + 5, have: bitfield(4, [0]) })])
    const revision = registry.revision
    const manifest = manifestOfShape(3 * CHUNK + 5, CHUNK)
    expect(await registry.putManifest(A, manifest)).toEqual([])
    expect(await registry.manifest(A)).toEqual(manifest)
    expect(await registry.entry(A)).toMatchObject({ seeders: 1, leechers: 1 })
    expect((await registry.stats()).cachedManifests).toBe(1)
    expect(registry.revision).toBe(revision)
    expect(await registry.manifest(B)).toBeUndefined()
  })

  it('keeps a verified manifest apart from the catalog: it outlives its holders and fixes the shape for later announces', async () => {
    const registry = await registryWith(['p1', 'p2'])
    await registry.announce('p1', [file(A, 'a')])
    const manifest = manifestOfShape(4 * CHUNK, CHUNK)
    await registry.putManifest(A, manifest)
    await registry.removePeer('p1')
    expect(await registry.entry(A)).toBeUndefined()
    expect(await registry.manifest(A)).toEqual(manifest)
    expect(await registry.stats()).toMatchObject({ files: 0, cachedManifests: 1 })
    // with nobody holding the file, the manifest still decides its shape
    expect(codes(await registry.announce('p2', [file(A, 'a', { size: 5 * CHUNK })]))).toEqual([
      [A, 'FILE_CONFLICT'],
    ])
    expect(await registry.announce('p2', [file(A, 'a')])).toEqual([])
    expect(await registry.entry(A)).toMatchObject({ size: 4 * CHUNK, seeders: 1 })
  })

  it('drops every holder of a file and returns their ids when its manifest shows a different shape', async () => {
    const registry = await registryWith(['liar', 'follower', 'bystander'])
    await registry.announce('liar', [file(A, 'fake', { size: 9 * CHUNK }), file(B, 'b')])
    await registry.announce('follower', [file(A, 'fake', { size: 9 * CHUNK, have: bitfield(9, [0]) })])
    await registry.announce('bystander', [file(B, 'b')])
    const revision = registry.revision
    const dropped = await registry.putManifest(A, manifestOfShape(2 * CHUNK, CHUNK))
    expect(dropped.sort()).toEqual(['follower', 'liar'])
    expect(registry.revision).toBeGreaterThan(revision)
    expect(await registry.entry(A)).toBeUndefined()
    expect(await registry.holds('liar', A)).toBe(false)
    expect(await registry.filesOf('liar')).toBe(1)
    expect(await registry.filesOf('follower')).toBe(0)
    expect(await registry.stats()).toMatchObject({ files: 1, swarms: 0, holdings: 2, cachedManifests: 1 })
    expect(await registry.entry(B)).toMatchObject({ seeders: 2 })
    // the false shape cannot come back; the true one is accepted from anyone
    expect(codes(await registry.announce('liar', [file(A, 'fake', { size: 9 * CHUNK })]))).toEqual([
      [A, 'FILE_CONFLICT'],
    ])
    expect(await registry.announce('follower', [file(A, 'real', { size: 2 * CHUNK })])).toEqual([])
    expect(await registry.entry(A)).toMatchObject({ size: 2 * CHUNK, chunkCount: 2, names: ['real'] })
  })

  it('throws when a peer it does not know announces', async () => {
    const registry = await registryWith([])
    await expect(async () => registry.announce('ghost', [file(A, 'a')])).rejects.toThrow(/unknown peer/)
  })
})

describe('SwarmRegistry (the memory engine)', () => {
  it('evicts the least recently used manifests beyond its memory budget', () => {
    const registry = new SwarmRegistry(100, 10_000)
    const manifest = manifestOfShape(4 * CHUNK, CHUNK)
    // fill the cache to find how many four-chunk manifests the budget holds
    let capacity = 0
    while (registry.stats().cachedManifests === capacity) {
      registry.putManifest(digestOf(0x1000 + capacity), manifest)
      capacity++
      if (capacity > 1000) throw new Error('the budget does not bound the cache')
    }
    capacity = registry.stats().cachedManifests
    expect(capacity).toBeGreaterThan(2)
    // the first one in was evicted by the last one in
    expect(registry.manifest(digestOf(0x1000))).toBeUndefined()
    const cached = Array.from({ length: capacity }, (_, i) => digestOf(0x1000 + 1 + i))
    expect(cached.every((d) => registry.manifest(d) !== undefined)).toBe(true)

    // reading one makes it the most recently used: the next put evicts the one after it
    registry.manifest(cached[0]!)
    registry.putManifest(digestOf(0x2000), manifest)
    expect(registry.manifest(cached[0]!)).toEqual(manifest)
    expect(registry.manifest(cached[1]!)).toBeUndefined()
    expect(registry.stats().cachedManifests).toBe(capacity)
  })
})

// ---------------------------------------------------------------- model-based

/**
 * Two shapes per file, so announces can conflict; one of them has no chunks at all. The first is the
 * true one: a verified manifest hashes to its digest, so only the true shape ever comes as a manifest.
 */
const SHAPES: readonly (readonly { size: number; chunkSize: number }[])[] = [
  [
    { size: 3 * CHUNK, chunkSize: CHUNK },
    { size: 3 * CHUNK, chunkSize: 2 * CHUNK },
  ],
  [
    { size: 5 * CHUNK - 1, chunkSize: CHUNK },
    { size: 10 * CHUNK, chunkSize: CHUNK },
  ],
  [
    { size: 9 * CHUNK, chunkSize: CHUNK },
    { size: 0, chunkSize: CHUNK },
  ],
]
const MODEL_DIGESTS = SHAPES.map((_, i) => digestOf(0x100 + i))
const MODEL_NAMES = Array.from({ length: MAX_NAMES_PER_FILE + 3 }, (_, i) => `name ${i}`)
const MODEL_MIMES = [undefined, 'text/plain', 'image/png'] as const
/** Small, so TOO_MANY_FILES is reached with three files. */
const MODEL_FILES_PER_PEER = 2

type Operation =
  | {
      op: 'announce'
      peer: number
      file: number
      shape: number
      name: number
      mime: number
      /** 'all', or the bits of a bitfield: cut or padded to the shape's chunk count when `fit`. */
      have: 'all' | { bits: boolean[]; fit: boolean }
    }
  | {
      op: 'report'
      peer: number
      file: number
      chunks: number[]
      /**
       * Aim at a leecher: `peer` and `file` pick one of the model's leechers and `chunks` pick among the
       * chunks it is missing, so that reports complete files often. Otherwise the report is sent as it is.
       */
      aim: boolean
    }
  | { op: 'leave'; peer: number; file: number }
  | { op: 'disconnect'; peer: number }
  | { op: 'connect'; peer: number }
  | { op: 'manifest'; file: number }

interface ModelFile {
  shape: number
  names: string[]
  mime: string | undefined
  /** peer → chunks held; null for a seeder. */
  holders: Map<string, Set<number> | null>
}

/** The shape index of every file's verified manifest, which is the true shape. */
const TRUE_SHAPE = 0

/** The reference: the registry's rules restated as plainly as possible. */
class Model {
  readonly connected = new Set<string>()
  readonly files = new Map<string, ModelFile>()
  /** Digests whose manifest was verified; the cache's budget is far above what these tests put in it. */
  readonly manifests = new Set<string>()

  constructor(peers: readonly string[]) {
    for (const peer of peers) this.connected.add(peer)
  }

  held(peer: string): number {
    return [...this.files.values()].filter((f) => f.holders.has(peer)).length
  }

  announce(
    peer: string,
    digest: string,
    shapeIndex: number,
    name: string,
    mime: string | undefined,
    have: 'all' | boolean[],
  ): ErrorCode | undefined {
    const shape = SHAPES[MODEL_DIGESTS.indexOf(digest)]![shapeIndex]!
    const count = chunkCountOf(shape.size, shape.chunkSize)
    let chunks: Set<number> | null = null
    if (have !== 'all') {
      // a bitfield of `have.length` bits fits when it has as many bytes and no bit past the last chunk
      const fits =
        Math.ceil(have.length / 8) === Math.ceil(count / 8) && have.every((bit, i) => !bit || i < count)
      // the registry checks the bitfield before the shape and the shape before the per-peer limit
      if (!fits) return 'CHUNK_OUT_OF_RANGE'
      chunks = new Set(have.flatMap((bit, i) => (bit ? [i] : [])))
      if (chunks.size === count) chunks = null
    }
    const existing = this.files.get(digest)
    const known = this.manifests.has(digest) ? TRUE_SHAPE : existing?.shape
    if (known !== undefined && known !== shapeIndex) return 'FILE_CONFLICT'
    if (!existing?.holders.has(peer) && this.held(peer) >= MODEL_FILES_PER_PEER) return 'TOO_MANY_FILES'
    const record: ModelFile = existing ?? {
      shape: shapeIndex,
      names: [],
      mime,
      holders: new Map(),
    }
    this.files.set(digest, record)
    if (!record.names.includes(name) && record.names.length < MAX_NAMES_PER_FILE) record.names.push(name)
    record.holders.set(peer, chunks)
    return undefined
  }

  report(peer: string, digest: string, chunks: readonly number[]): ErrorCode | undefined {
    const record = this.files.get(digest)
    if (!record?.holders.has(peer)) return 'NOT_ANNOUNCED'
    const count = this.chunkCount(digest)!
    if (chunks.some((c) => c >= count)) return 'CHUNK_OUT_OF_RANGE'
    const held = record.holders.get(peer)
    if (held) {
      for (const chunk of chunks) held.add(chunk)
      if (held.size === count) record.holders.set(peer, null)
    }
    return undefined
  }

  /** Every leecher of every file, with the chunks it is missing. */
  leechers(): { peer: string; digest: string; missing: number[] }[] {
    return [...this.files].flatMap(([digest, record]) =>
      [...record.holders].flatMap(([peer, held]) => {
        if (held === null) return []
        const all = Array.from({ length: this.chunkCount(digest)! }, (_, i) => i)
        return [{ peer, digest, missing: all.filter((i) => !held.has(i)) }]
      }),
    )
  }

  drop(peer: string, digest: string): void {
    const record = this.files.get(digest)
    if (!record?.holders.delete(peer)) return
    if (record.holders.size === 0) this.files.delete(digest)
  }

  disconnect(peer: string): void {
    for (const digest of [...this.files.keys()]) this.drop(peer, digest)
    this.connected.delete(peer)
  }

  putManifest(digest: string): string[] {
    this.manifests.add(digest)
    const record = this.files.get(digest)
    if (!record || record.shape === TRUE_SHAPE) return []
    const holders = [...record.holders.keys()]
    this.files.delete(digest)
    return holders
  }

  chunkCount(digest: string): number | undefined {
    const record = this.files.get(digest)
    if (!record) return undefined
    const shape = SHAPES[MODEL_DIGESTS.indexOf(digest)]![record.shape]!
    return chunkCountOf(shape.size, shape.chunkSize)
  }

  entry(digest: string): CatalogEntry | undefined {
    const record = this.files.get(digest)
    if (!record) return undefined
    const shape = SHAPES[MODEL_DIGESTS.indexOf(digest)]![record.shape]!
    const seeders = [...record.holders.values()].filter((h) => h === null).length
    const entry: CatalogEntry = {
      digest,
      names: [...record.names],
      size: shape.size,
      chunkSize: shape.chunkSize,
      chunkCount: this.chunkCount(digest)!,
      seeders,
      leechers: record.holders.size - seeders,
    }
    if (record.mime !== undefined) entry.mime = record.mime
    return entry
  }

  catalog(): CatalogEntry[] {
    const entries = [...this.files.keys()].map((digest) => this.entry(digest)!)
    const holders = (e: CatalogEntry) => e.seeders + e.leechers
    const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
    return entries.sort(
      (a, b) => holders(b) - holders(a) || text(a.names[0]!, b.names[0]!) || text(a.digest, b.digest),
    )
  }

  peers(digest: string, asker: string): Map<string, string> | undefined {
    const record = this.files.get(digest)
    if (!record) return undefined
    const count = this.chunkCount(digest)!
    const peers = new Map<string, string>()
    for (const [peer, chunks] of record.holders) {
      if (peer !== asker) peers.set(peer, chunks === null ? 'all' : bitfield(count, [...chunks]))
    }
    return peers
  }

  stats() {
    const files = [...this.files.values()]
    return {
      peers: this.connected.size,
      files: files.length,
      swarms: files.filter((f) => [...f.holders.values()].some((h) => h !== null)).length,
      holdings: files.reduce((sum, f) => sum + f.holders.size, 0),
      cachedManifests: this.manifests.size,
    }
  }
}

function operationArbitrary(peerCount: number): fc.Arbitrary<Operation> {
  const peer = fc.nat(peerCount - 1)
  const fileIndex = fc.nat(SHAPES.length - 1)
  const shape = fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.constant(1), weight: 1 })
  const have = fc.oneof(
    { weight: 1, arbitrary: fc.constant('all' as const) },
    {
      weight: 3,
      arbitrary: fc.record({
        // mostly set, so that a report or two completes the file
        bits: fc.array(fc.oneof(fc.constant(true), fc.boolean()), { maxLength: 12 }),
        fit: fc.oneof(
          { weight: 4, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
      }),
    },
  )
  // mostly the first chunks, which every shape but the empty one has
  const chunk = fc.oneof({ weight: 3, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.nat(10) })
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('announce' as const),
        peer,
        file: fileIndex,
        shape,
        name: fc.nat(MODEL_NAMES.length - 1),
        mime: fc.nat(MODEL_MIMES.length - 1),
        have,
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('report' as const),
        peer,
        file: fileIndex,
        chunks: fc.array(chunk, { minLength: 1, maxLength: 3 }),
        aim: fc.oneof(
          { weight: 3, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), peer, file: fileIndex }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('disconnect' as const), peer }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('connect' as const), peer }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('manifest' as const), file: fileIndex }) },
  )
}

/** The bits an operation announces for a file of `count` chunks. */
function bitsOf(have: Extract<Operation, { op: 'announce' }>['have'], count: number): 'all' | boolean[] {
  if (have === 'all') return 'all'
  if (!have.fit) return have.bits
  return Array.from({ length: count }, (_, i) => have.bits[i] ?? false)
}

function haveText(have: 'all' | boolean[]): string {
  if (have === 'all') return 'all'
  return bitfield(
    have.length,
    have.flatMap((bit, i) => (bit ? [i] : [])),
  )
}

describe.each(KINDS)('the registry (%s) against a reference model', (kind) => {
  it('keeps entries, seeders, leechers, peers and stats in step through any order of announce, report, leave, disconnect and manifest', async () => {
    const scenario = fc
      .integer({ min: 3, max: 5 })
      .chain((peerCount) =>
        fc.tuple(
          fc.constant(peerCount),
          fc.array(operationArbitrary(peerCount), { minLength: 1, maxLength: 50, size: 'max' }),
        ),
      )
    await fc.assert(
      fc.asyncProperty(scenario, async ([peerCount, operations]) => {
        const peers = Array.from({ length: peerCount }, (_, i) => `peer-${i}`)
        const registry = await newRegistry(kind, peers, MODEL_FILES_PER_PEER)
        const model = new Model(peers)

        for (const operation of operations) {
          const revisionBefore = registry.revision
          const catalogBefore = JSON.stringify((await page(registry, undefined, 0, 100)).files)
          switch (operation.op) {
            case 'announce': {
              const peer = peers[operation.peer]!
              const digest = MODEL_DIGESTS[operation.file]!
              const shape = SHAPES[operation.file]![operation.shape]!
              const bits = bitsOf(operation.have, chunkCountOf(shape.size, shape.chunkSize))
              const announced: AnnouncedFile = {
                digest,
                name: MODEL_NAMES[operation.name]!,
                ...shape,
                have: haveText(bits),
              }
              const mime = MODEL_MIMES[operation.mime]
              if (mime !== undefined) announced.mime = mime
              if (!model.connected.has(peer)) {
                await expect(async () => await registry.announce(peer, [announced])).rejects.toThrow()
                break
              }
              const expected = model.announce(peer, digest, operation.shape, announced.name!, mime, bits)
              expect((await registry.announce(peer, [announced])).map((r) => r.code)).toEqual(
                expected ? [expected] : [],
              )
              break
            }
            case 'report': {
              let peer = peers[operation.peer]!
              let digest = MODEL_DIGESTS[operation.file]!
              let chunks = operation.chunks
              const leechers = operation.aim ? model.leechers() : []
              if (leechers.length > 0) {
                const aimed = leechers[(operation.peer * SHAPES.length + operation.file) % leechers.length]!
                ;[peer, digest] = [aimed.peer, aimed.digest]
                chunks = chunks.map((c) => aimed.missing[c % aimed.missing.length]!)
              }
              const expected = model.report(peer, digest, chunks)
              expect((await registry.reportChunks(peer, [{ digest, chunks }])).map((r) => r.code)).toEqual(
                expected ? [expected] : [],
              )
              break
            }
            case 'leave': {
              const peer = peers[operation.peer]!
              const digest = MODEL_DIGESTS[operation.file]!
              model.drop(peer, digest)
              await registry.leave(peer, [digest])
              break
            }
            case 'disconnect':
              model.disconnect(peers[operation.peer]!)
              await registry.removePeer(peers[operation.peer]!)
              break
            case 'connect':
              // a connection with an id already connected takes it over: what the earlier one held is gone
              model.disconnect(peers[operation.peer]!)
              model.connected.add(peers[operation.peer]!)
              await registry.addPeer(peers[operation.peer]!)
              break
            case 'manifest': {
              const digest = MODEL_DIGESTS[operation.file]!
              const shape = SHAPES[operation.file]![TRUE_SHAPE]!
              const expected = model.putManifest(digest)
              const dropped = await registry.putManifest(digest, manifestOfShape(shape.size, shape.chunkSize))
              expect([...dropped].sort()).toEqual(expected.sort())
              break
            }
          }

          // after every step, everything a client can read agrees with the model
          const revision = registry.revision
          const catalog = await page(registry, undefined, 0, 100)
          expect(catalog.files).toEqual(model.catalog())
          expect(catalog.total).toBe(model.files.size)
          for (const digest of MODEL_DIGESTS) {
            expect(await registry.entry(digest)).toEqual(model.entry(digest))
            for (const asker of [...peers, 'stranger']) {
              expect(await peerMap(registry, digest, asker)).toEqual(model.peers(digest, asker))
            }
          }
          for (const peer of peers) {
            expect(await registry.hasPeer(peer)).toBe(model.connected.has(peer))
            expect(await registry.filesOf(peer)).toBe(model.held(peer))
          }
          expect(await registry.stats()).toEqual(model.stats())
          expect(registry.revision).toBe(revision) // reading changed nothing
          expect(revision).toBeGreaterThanOrEqual(revisionBefore)
          if (JSON.stringify(catalog.files) !== catalogBefore)
            expect(revision).toBeGreaterThan(revisionBefore)
        }
      }),
      // Redis: fewer runs, each a few hundred round trips; the memory engine gets the many.
      { numRuns: kind === 'memory' ? 200 : 25 },
    )
  })
})
