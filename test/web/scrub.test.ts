/**
 * The background scrub (web/peer/scrub.ts) over memory stores and a fake clock: it hashes chunks verified
 * once again, going round every file, and drops one damaged at rest.
 */
import { describe, expect, it } from 'vitest'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { LocalFiles } from '../../web/peer/local-files.js'
import { SCRUB_INTERVAL_MS, Scrub } from '../../web/peer/scrub.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { isVerified } from '../../web/storage/verified-chunks.js'
import { FakeClock } from '../support/fake-clock.js'

const CHUNK = 16 * 1024
const bytesOf = (size: number, seed: number) => new Uint8Array(size).map((_, i) => (i * 7 + seed) & 255)

/** A file of `chunks` chunks, written through LocalFiles (so verified as stored). */
async function held(local: LocalFiles, chunks: number, seed: number) {
  const bytes = bytesOf(chunks * CHUNK, seed)
  const manifest = await manifestOf(bytes, CHUNK)
  const digest = await manifestDigest(manifest)
  local.add({ digest, name: `f${seed}`, mime: '', manifest, origin: 'downloaded', addedAtMs: 0 })
  for (let index = 0; index < chunks; index++)
    await local.write(digest, index, bytes.subarray(index * CHUNK, (index + 1) * CHUNK))
  return digest
}

describe('scrub', () => {
  it('hashes every held chunk again in turn, and drops one damaged at rest though it was verified', async () => {
    const chunks = new MemoryChunkStore()
    const local = new LocalFiles(chunks, new MemoryFileStore())
    const clock = new FakeClock()
    const scrub = new Scrub(local, clock)
    const a = await held(local, 2, 1)
    const b = await held(local, 3, 2)
    const lost: string[] = []
    local.on('chunk-lost', ({ digest, index }) => lost.push(`${digest === a ? 'a' : 'b'}${index}`))

    const visited: string[] = []
    for (let step = 0; step < 6; step++) {
      const checked = await scrub.step()
      visited.push(`${checked!.digest === a ? 'a' : 'b'}${checked!.index}`)
    }
    expect(visited).toEqual(['a0', 'a1', 'b0', 'b1', 'b2', 'a0'])

    // Damaged behind the store's back: reads trust it (verified once), the scrub does not.
    chunks.corrupt(b, 1, bytesOf(CHUNK, 9))
    expect(isVerified(chunks, b, 1)).toBe(true)
    for (let i = 0; i < 4; i++) await scrub.step() // a1, b0, b1, b2
    expect(lost).toEqual(['b1'])
    expect(local.get(b)!.have.has(1)).toBe(false)
    expect(await chunks.indices(b)).toEqual([0, 2])

    // On its own clock, one chunk every SCRUB_INTERVAL_MS.
    const reads: number[] = []
    const get = chunks.get.bind(chunks)
    chunks.get = (digest, index) => {
      reads.push(index)
      return get(digest, index)
    }
    clock.advance(SCRUB_INTERVAL_MS - 1)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(reads).toHaveLength(0)
    clock.advance(1)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(reads).toHaveLength(1)
    scrub.destroy()
  })
})
