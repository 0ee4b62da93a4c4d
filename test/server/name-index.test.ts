import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type IndexedFile, NameIndex } from '../../signal/name-index.js'

const digestOf = (n: number) => n.toString(16).padStart(64, '0')

/** What a search must return: every file with a name containing the query, or a digest starting with it. */
function bruteForce(files: Map<string, string[]>, query: string): string[] {
  const needle = query.toLowerCase()
  const digestPrefix = needle.length >= 4 && /^[0-9a-f]+$/.test(needle)
  return [...files]
    .filter(
      ([digest, names]) =>
        (digestPrefix && digest.startsWith(needle)) ||
        names.some((name) => name.toLowerCase().includes(needle)),
    )
    .map(([digest]) => digest)
    .sort()
}

/** An index of files known by digest, so that results read as digests. */
function digestIndex() {
  const index = new NameIndex<IndexedFile>()
  const files = new Map<string, IndexedFile>()
  return {
    get size() {
      return index.size
    },
    add: (digest: string, name: string) => {
      let file = files.get(digest)
      if (!file) {
        file = { digest, indexId: -1 }
        files.set(digest, file)
      }
      index.add(file, name)
    },
    remove: (digest: string) => {
      const file = files.get(digest)
      if (!file) return
      files.delete(digest) // a file added again later is a new one, as in the registry
      index.remove(file)
    },
    search: (query: string) => {
      const { matches, touched } = index.search(query)
      return { digests: matches.map((file) => file.digest), touched }
    },
  }
}

describe('name index', () => {
  it('finds a query that is part of a word, whatever its case, in any of the names of a file', () => {
    const index = digestIndex()
    index.add(digestOf(1), 'Holiday photo 1.JPG')
    index.add(digestOf(2), 'report.pdf')
    index.add(digestOf(2), 'Quarterly holidays.pdf')
    index.add(digestOf(3), 'ho')
    expect(index.search('olid').digests.sort()).toEqual([digestOf(1), digestOf(2)])
    expect(index.search('PHOTO 1.j').digests).toEqual([digestOf(1)])
    expect(index.search('ho').digests.sort()).toEqual([digestOf(1), digestOf(2), digestOf(3)])
    expect(index.search('xyz').digests).toEqual([])
  })

  it('finds a digest by a prefix of four hex digits or more', () => {
    const index = digestIndex()
    const digest = `abcd12${'0'.repeat(58)}`
    index.add(digest, 'a.bin')
    index.add(`abcd99${'0'.repeat(58)}`, 'b.bin')
    expect(index.search('abcd12').digests).toEqual([digest])
    expect(index.search('abcd').digests).toHaveLength(2)
    expect(index.search('abc').digests).toEqual([]) // too short for a digest, and no name holds it
  })

  it('forgets a removed file, and a file added again is found once', () => {
    const index = digestIndex()
    index.add(digestOf(1), 'same name.txt')
    index.add(digestOf(2), 'same name.txt')
    index.remove(digestOf(1))
    expect(index.search('name').digests).toEqual([digestOf(2)])
    index.add(digestOf(1), 'same name.txt')
    expect(index.search('name').digests.sort()).toEqual([digestOf(1), digestOf(2)])
    expect(index.size).toBe(2)
  })

  it('looks only at the files under the rarest trigram of a query', () => {
    const index = digestIndex()
    for (let i = 0; i < 1000; i++) index.add(digestOf(i), `common name ${i}.bin`)
    index.add(digestOf(5000), 'common name zebra.bin')
    const { digests, touched } = index.search('name zebra')
    expect(digests).toEqual([digestOf(5000)])
    // The trigrams looked up, plus the one file under "zeb", "ebr" or "bra".
    expect(touched).toBeLessThanOrEqual('name zebra'.length + 1)
  })

  it('compacts what removed files leave behind, so work follows the files that are there', () => {
    const index = digestIndex()
    for (let i = 0; i < 1000; i++) index.add(digestOf(i), `churn ${i}.bin`)
    for (let i = 0; i < 990; i++) index.remove(digestOf(i))
    const { digests, touched } = index.search('churn')
    expect(digests).toHaveLength(10)
    // Postings are compacted once half of them are stale: at most twice the live entries remain.
    expect(touched).toBeLessThanOrEqual('churn'.length + 2 * 10 + 1)
  })

  it('returns what a scan of every name would, through adds, renames and removals', () => {
    const alphabet = fc.constantFrom(...'abcAB .-01é'.split(''))
    const name = fc.string({ unit: alphabet, minLength: 1, maxLength: 12 })
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), file: fc.nat(30), name }),
      fc.record({ kind: fc.constant('remove' as const), file: fc.nat(30) }),
      fc.record({ kind: fc.constant('search' as const), query: fc.string({ unit: alphabet, maxLength: 5 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const index = digestIndex()
        const files = new Map<string, string[]>()
        for (const o of ops) {
          if (o.kind === 'add') {
            const digest = digestOf(o.file)
            const names = files.get(digest) ?? []
            if (!names.includes(o.name.toLowerCase())) names.push(o.name.toLowerCase())
            files.set(digest, names)
            index.add(digest, o.name)
          } else if (o.kind === 'remove') {
            files.delete(digestOf(o.file))
            index.remove(digestOf(o.file))
          } else if (o.query.length > 0) {
            expect(index.search(o.query).digests.sort()).toEqual(bruteForce(files, o.query))
          }
        }
        expect(index.size).toBe(files.size)
      }),
      { numRuns: 500 },
    )
  })
})
