/**
 * What a catalog search costs at 100,000 files (issue 17: ten connections announcing 10,000 each, within
 * the default limits), counted in records the registry touched, never in time. A linear scan touches all
 * 100,000 on every query; the index touches the files under the rarest trigram of the query, and a query
 * repeated while the catalog is unchanged touches only its page.
 */
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { SwarmRegistry } from '../../signal/registry.js'

const FILES = 100_000
const PEERS = 10
const WORDS = [
  'holiday',
  'report',
  'invoice',
  'lecture',
  'backup',
  'photo',
  'mixtape',
  'thesis',
  'scan',
  'draft',
]
const EXTENSIONS = ['jpg', 'pdf', 'zip', 'mp4', 'txt']

/** Names as people give them: a few words, a number, an extension. */
function nameOf(n: number): string {
  const first = WORDS[n % WORDS.length]!
  const second = WORDS[Math.floor(n / WORDS.length) % WORDS.length]!
  return `${first} ${second} ${n}.${EXTENSIONS[n % EXTENSIONS.length]}`
}

const digestOf = (n: number) => createHash('sha256').update(`file ${n}`).digest('hex')

let registry: SwarmRegistry

beforeAll(() => {
  registry = new SwarmRegistry(FILES)
  for (let peer = 0; peer < PEERS; peer++) {
    const peerId = `peer${String(peer).padStart(12, '0')}`
    registry.addPeer(peerId)
    for (let start = peer * (FILES / PEERS); start < (peer + 1) * (FILES / PEERS); start += 1000) {
      const files = Array.from({ length: 1000 }, (_, i) => ({
        digest: digestOf(start + i),
        name: nameOf(start + i),
        size: 1000 + start + i,
        chunkSize: 16_384,
        have: 'all' as const,
      }))
      expect(registry.announce(peerId, files)).toEqual([])
    }
  }
  expect(registry.stats().files).toBe(FILES)
  registry.catalog(undefined, 0, 50) // the catalog order is built once, as the first page anyone asks for
})

/** Runs one catalog request and returns its page and the records it touched. */
function search(query: string | undefined, offset = 0, limit = 50) {
  const before = registry.recordsTouched
  const page = registry.catalog(query, offset, limit)
  return { page, touched: registry.recordsTouched - before }
}

describe(`catalog search at ${FILES.toLocaleString('en')} files`, () => {
  it('touches a handful of records for a query that matches one file, not the catalog', () => {
    const { page, touched } = search(nameOf(12_340)) // "holiday backup 12340.jpg"
    expect(page.total).toBe(1)
    expect(page.files[0]!.names).toEqual([nameOf(12_340)])
    // A linear scan touched 100,000. The rarest trigram here ("234", "340" or "0.j") lists a few hundred.
    expect(touched).toBeLessThan(1000)
  })

  it('touches about as many records as a query matches when it is part of a word', () => {
    const { page, touched } = search('ixtap') // in "mixtape": a tenth of the first words, a tenth of the second
    const expected = 2 * (FILES / WORDS.length) - FILES / WORDS.length ** 2
    expect(page.total).toBe(expected)
    // Candidates under the rarest trigram (exactly the matches here), each once more to order them, and the page.
    expect(touched).toBeLessThanOrEqual(2 * expected + 50 + 10)
  })

  it('touches only the page when the same query comes again and the catalog has not changed', () => {
    search('lecture thesis')
    const again = search('lecture thesis', 50, 50)
    expect(again.page.offset).toBe(50)
    expect(again.touched).toBe(50)
  })

  it('finds a digest by its prefix touching a few records', () => {
    const digest = digestOf(77_777)
    const { page, touched } = search(digest.slice(0, 10))
    expect(page.files.map((f) => f.digest)).toEqual([digest])
    // One of 4,096 buckets by the first three hex digits: about 25 files at 100,000.
    expect(touched).toBeLessThan(80)
  })

  it('touches the page only when listing without a query', () => {
    expect(search(undefined, 1000, 200).touched).toBe(200)
  })

  it('counts the whole catalog for a query of one or two characters: it is charged what it costs', () => {
    const { page, touched } = search('q') // no trigram: every name is checked (and none holds a q)
    expect(page.total).toBe(0)
    expect(touched).toBe(FILES)
  })

  it('rebuilds the order once after files or holders change, charged to the first request, and finds the change', () => {
    registry.addPeer('newcomer00000000')
    registry.announce('newcomer00000000', [
      { digest: 'f'.repeat(64), name: 'Lecture Notes.pdf', size: 10, chunkSize: 16_384, have: 'all' },
    ])
    const first = search('lecture notes')
    expect(first.page.total).toBe(1)
    // The order of 100,000 files is rebuilt (no comparison sort: kept, merged, grouped) and charged.
    expect(first.touched).toBeGreaterThan(FILES)
    expect(first.touched).toBeLessThan(3 * FILES)
    // Every other request at this version finds the order built.
    expect(search('lecture notes').touched).toBe(1)
    expect(search(undefined, 0, 10).touched).toBe(10)
  })

  it('does not rebuild the order when only counts on a page change', () => {
    const digest = digestOf(5)
    registry.addPeer('leecher000000000')
    registry.announce('leecher000000000', [
      { digest, name: nameOf(5), size: 1005, chunkSize: 16_384, have: 'AA==' },
    ])
    search(undefined) // the new holder reorders: rebuilt here
    const revision = registry.revision
    registry.reportChunks('leecher000000000', [{ digest, chunks: [0] }]) // completes: now a seeder
    expect(registry.revision).toBeGreaterThan(revision)
    const { page, touched } = search(nameOf(5))
    expect(page.files[0]).toMatchObject({ seeders: 2, leechers: 0 })
    expect(touched).toBeLessThan(1000)
  })
})
