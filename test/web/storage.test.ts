/** The storage logic that needs no browser, with the in-memory stores (the IndexedDB ones run in test/browser). */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { toBase64Url } from '../../shared/private-share.js'
import { chunkKey, indexOfKey } from '../../web/storage/chunk-store.js'
import { sanitizeFileName, shareableMime, shareableName } from '../../web/storage/file-name.js'
import type { StoredFile } from '../../web/storage/file-store.js'
import { assembleFile, readSealedHeader, writeFileTo } from '../../web/storage/give-back.js'
import { ingest } from '../../web/storage/ingest.js'
import { scanInventory } from '../../web/storage/inventory.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { ensureRoom } from '../../web/storage/quota.js'
import {
  forgetVerified,
  isVerified,
  readVerifiedChunk,
  writeVerifiedChunk,
} from '../../web/storage/verified-chunks.js'

const MiB = 1024 * 1024

function bytesOf(size: number, seed = 0): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 7 + 3 + seed) & 255)
}

/** Byte comparison without vitest's element-by-element diffing, which takes seconds on a MiB. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

function stores() {
  return { chunks: new MemoryChunkStore(), files: new MemoryFileStore(), now: () => 1_700_000_000_000 }
}

async function expectCode(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toSatisfy((error) => error instanceof SwarmError && error.code === code)
}

describe('ingest', () => {
  it.each([
    ['an empty file', 0],
    ['one byte', 1],
    ['exactly one chunk', MiB],
    ['one chunk and one byte', MiB + 1],
    ['several chunks', 3 * MiB + 12_345],
  ])('stores %s under the digest the shared function gives for its bytes', async (_, size) => {
    const bytes = bytesOf(size)
    const deps = stores()
    const progress: string[] = []
    let ready: StoredFile | undefined
    const result = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'file.bin',
      mime: 'application/octet-stream',
      onProgress: (p) => progress.push(p.phase),
      onManifest: (record) => {
        ready = record
      },
    })
    const expected = await manifestOf(bytes)
    expect(result.record.manifest).toEqual(expected)
    expect(result.record.digest).toBe(await manifestDigest(expected))
    expect(result.record.plainSha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(ready?.digest).toBe(result.record.digest)
    expect(result.chunksWritten).toBe(expected.hashes.length)
    expect(await deps.chunks.indices(result.record.digest)).toEqual(expected.hashes.map((_, i) => i))
    expect(await deps.files.get(result.record.digest)).toEqual(result.record)
    if (size > 0) expect(progress.at(0)).toBe('hashing')
    if (size > 0) expect(progress.at(-1)).toBe('storing')
    const assembled = new Uint8Array(await (await assembleFile(deps.chunks, result.record)).arrayBuffer())
    expect(sameBytes(assembled, bytes)).toBe(true)
  })

  it('costs no second copy when the same bytes are dropped again, under any name', async () => {
    const deps = stores()
    const bytes = bytesOf(2 * MiB + 5)
    const first = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'a.bin',
      mime: '',
    })
    const again = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'b.bin',
      mime: '',
    })
    expect(again).toMatchObject({ duplicate: true, chunksWritten: 0 })
    expect(again.record).toEqual(first.record)
    expect(deps.chunks.bytesStored).toBe(bytes.length)
  })

  it('completes a partly stored file by writing only the missing chunks', async () => {
    const deps = stores()
    const bytes = bytesOf(3 * MiB)
    const { record } = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'a.bin',
      mime: '',
    })
    await deps.chunks.delete(record.digest, 1)
    await deps.files.put({ ...record, plainSha256: undefined })
    const again = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'a.bin',
      mime: '',
    })
    expect(again).toMatchObject({ duplicate: false, chunksWritten: 1 })
    expect(await deps.chunks.indices(record.digest)).toEqual([0, 1, 2])
  })

  it('leaves nothing behind when cancelled, whether hashing or storing', async () => {
    for (const phase of ['hashing', 'storing'] as const) {
      const deps = stores()
      const controller = new AbortController()
      const work = ingest(new Blob([bytesOf(4 * MiB)]), deps, {
        name: 'x',
        mime: '',
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === phase && p.bytesDone >= MiB) controller.abort()
        },
      })
      await expectCode(work, 'CANCELLED')
      expect(deps.chunks.bytesStored).toBe(0)
      expect((await deps.files.list()).files).toEqual([])
    }
  })

  it('stops with QUOTA_EXCEEDED when storage fills mid-way, and every chunk stored stays readable', async () => {
    const deps = stores()
    deps.chunks.quotaBytes = 2.5 * MiB
    const bytes = bytesOf(4 * MiB)
    await expectCode(
      ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, { name: 'big.bin', mime: '' }),
      'QUOTA_EXCEEDED',
    )
    const { files } = await scanInventory(deps.files, deps.chunks)
    expect(files).toHaveLength(1)
    const [entry] = files
    expect(entry!.have.count).toBe(2)
    for (const index of [0, 1]) {
      const chunk = await readVerifiedChunk(deps.chunks, entry!.record.manifest, entry!.record.digest, index)
      expect(sameBytes(chunk!.bytes, bytes.subarray(index * MiB, (index + 1) * MiB))).toBe(true)
    }
  })

  it('refuses a file that changes between hashing and storing', async () => {
    const deps = stores()
    const original = bytesOf(2 * MiB)
    let reads = 0
    // A Blob whose second chunk reads differently the second time, as a file edited on disk would.
    class ChangingBlob extends Blob {
      override slice(start?: number, end?: number): Blob {
        if (start === MiB && ++reads > 1) return new Blob([bytesOf(MiB, 99)])
        return new Blob([original as Uint8Array<ArrayBuffer>]).slice(start, end)
      }
    }
    const changing = new ChangingBlob([original])
    await expectCode(ingest(changing, deps, { name: 'x', mime: '' }), 'SOURCE_CHANGED')
  })
})

describe('private shares: sealed ingest and give-back', () => {
  const KEY = new Uint8Array(32).fill(0x42)
  const pattern = () => Uint8Array.from({ length: 2_500_000 }, (_, i) => i % 251)

  it('stores the sealed chunks of the independent vector, and gives the clear file back', async () => {
    const deps = stores()
    const { record } = await ingest(new Blob([pattern()]), deps, {
      name: 'pattern.bin',
      mime: 'application/octet-stream',
      sealed: { key: KEY },
    })
    // The digest of test/shared/private-share.test.ts's third vector: the same bytes, key, name and type.
    expect(record.digest).toBe('40853265c2d9bcb57d04466f0568902322509aa91e913ea98f8af6b99fd6393a')
    expect(record.sealed).toEqual({ key: toBase64Url(KEY) })
    expect(record.plainSha256).toBe(createHash('sha256').update(pattern()).digest('hex'))
    const stored = await deps.chunks.get(record.digest, 0)
    expect(
      sameBytes(
        new Uint8Array(await stored!.arrayBuffer()).subarray(0, 11),
        new TextEncoder().encode('pattern.bin'),
      ),
    ).toBe(false)
    const blob = await assembleFile(deps.chunks, record)
    expect(blob.size).toBe(2_500_000)
    expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), pattern())).toBe(true)
    expect(await readSealedHeader(deps.chunks, record)).toEqual({
      name: 'pattern.bin',
      mime: 'application/octet-stream',
      size: 2_500_000,
    })
  })

  it('gives back nothing without the key, or with another one: WRONG_KEY, never garbage', async () => {
    const deps = stores()
    const { record } = await ingest(new Blob([bytesOf(1000)]), deps, {
      name: 'a',
      mime: '',
      sealed: { key: KEY },
    })
    const { key: _key, ...keyless } = record.sealed!
    await expectCode(assembleFile(deps.chunks, { ...record, sealed: keyless }), 'WRONG_KEY')
    const other = { ...record, sealed: { key: toBase64Url(new Uint8Array(32)) } }
    await expectCode(assembleFile(deps.chunks, other), 'WRONG_KEY')
    await expectCode(readSealedHeader(deps.chunks, other), 'WRONG_KEY')
  })

  it('seals an empty file too, and a fresh key gives a fresh digest for the same bytes', async () => {
    const deps = stores()
    const zeros = new Uint8Array(32)
    const first = await ingest(new Blob([]), deps, { name: 'empty', mime: '', sealed: { key: zeros } })
    // The second vector of test/shared/private-share.test.ts.
    expect(first.record.digest).toBe('b945ca726189d445eed843598862625e2aec25ef2f4952c539c5b98a21056612')
    const again = await ingest(new Blob([]), deps, {
      name: 'empty',
      mime: '',
      sealed: { key: new Uint8Array(32).fill(1) },
    })
    expect(again.record.digest).not.toBe(first.record.digest)
    expect((await assembleFile(deps.chunks, again.record)).size).toBe(0)
  })
})

describe('verified chunks', () => {
  it('deletes a chunk that fails its hash on read and reports it missing', async () => {
    const deps = stores()
    const { record } = await ingest(new Blob([bytesOf(2 * MiB)]), deps, { name: 'x', mime: '' })
    deps.chunks.corrupt(record.digest, 1, bytesOf(MiB, 1))
    expect(await readVerifiedChunk(deps.chunks, record.manifest, record.digest, 1)).toBeUndefined()
    expect(await deps.chunks.indices(record.digest)).toEqual([0])
    await expectCode(assembleFile(deps.chunks, record), 'CHUNK_CORRUPT')
  })

  it('hashes a chunk once per page load: when it is stored or first read, then checks only its length', async () => {
    const bytes = bytesOf(2 * MiB + 10)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    const store = new MemoryChunkStore()
    await writeVerifiedChunk(store, manifest, digest, 0, bytes.subarray(0, MiB))
    await store.put(digest, 1, bytes.subarray(MiB, 2 * MiB)) // stored by another context (the ingest worker)
    expect(isVerified(store, digest, 0)).toBe(true)
    expect(isVerified(store, digest, 1)).toBe(false)
    // Chunk 1 is hashed on its first read: damage at rest is caught there, whatever this page did before.
    store.corrupt(digest, 1, bytesOf(MiB, 7))
    expect(await readVerifiedChunk(store, manifest, digest, 1)).toBeUndefined()
    // Chunk 0 was checked as it was stored: a read trusts its bytes (same length) without hashing them…
    store.corrupt(digest, 0, bytesOf(MiB, 8))
    expect(await readVerifiedChunk(store, manifest, digest, 0)).toBeDefined()
    // …but not a chunk of another length, and not once the page has forgotten (as a reload does).
    forgetVerified(store, digest)
    expect(await readVerifiedChunk(store, manifest, digest, 0)).toBeUndefined()
    await writeVerifiedChunk(store, manifest, digest, 2, bytes.subarray(2 * MiB))
    store.corrupt(digest, 2, bytesOf(9, 1))
    expect(await readVerifiedChunk(store, manifest, digest, 2)).toBeUndefined()
    expect(await store.indices(digest)).toEqual([])
  })

  it("reads a store's bytes without a Blob where it can give them (getBytes), and checks them the same", async () => {
    const bytes = bytesOf(MiB + 10)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    // Files on disk, as the CLI's store: reading through a Blob would copy each chunk twice.
    class BytesStore extends MemoryChunkStore {
      override get(): Promise<Blob | undefined> {
        throw new Error('read through a Blob')
      }
      async getBytes(digest: string, index: number): Promise<Uint8Array | undefined> {
        const blob = await super.get(digest, index)
        return blob && new Uint8Array(await blob.arrayBuffer())
      }
    }
    const store = new BytesStore()
    await store.put(digest, 0, bytes.subarray(0, MiB))
    await store.put(digest, 1, bytesOf(10, 4)) // damaged at rest
    const chunk = await readVerifiedChunk(store, manifest, digest, 0)
    expect(chunk && sameBytes(chunk.bytes, bytes.subarray(0, MiB))).toBe(true)
    expect(sameBytes(new Uint8Array(await chunk!.blob.arrayBuffer()), bytes.subarray(0, MiB))).toBe(true)
    expect(await readVerifiedChunk(store, manifest, digest, 1)).toBeUndefined()
    expect(await store.indices(digest)).toEqual([0])
  })

  it('refuses to store a chunk that does not match the manifest', async () => {
    const bytes = bytesOf(MiB + 10)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    const store = new MemoryChunkStore()
    await expectCode(writeVerifiedChunk(store, manifest, digest, 0, bytesOf(MiB, 5)), 'CHUNK_CORRUPT')
    await expectCode(
      writeVerifiedChunk(store, manifest, digest, 1, bytes.subarray(MiB, MiB + 9)),
      'CHUNK_CORRUPT',
    )
    await writeVerifiedChunk(store, manifest, digest, 1, bytes.subarray(MiB))
    expect(await store.indices(digest)).toEqual([1])
  })

  it('reads keys of one file only, and ignores keys that are not chunk keys', () => {
    const digest = 'a'.repeat(64)
    expect(chunkKey(digest, 7)).toBe(`${digest}.7`)
    expect(indexOfKey(digest, `${digest}.7`)).toBe(7)
    expect(indexOfKey(digest, `${digest}.07`)).toBeUndefined()
    expect(indexOfKey(digest, `${digest}.-1`)).toBeUndefined()
    expect(indexOfKey(digest, `${'b'.repeat(64)}.7`)).toBeUndefined()
    expect(indexOfKey(digest, 42)).toBeUndefined()
  })
})

describe('inventory', () => {
  it('reports complete and partial files with the chunks each holds, and drops records that do not parse', async () => {
    const deps = stores()
    await ingest(new Blob([bytesOf(2 * MiB, 1)]), deps, { name: 'whole', mime: '' })
    const part = await ingest(new Blob([bytesOf(3 * MiB, 2)]), deps, { name: 'part', mime: '' })
    await deps.chunks.delete(part.record.digest, 0)
    const garbageDigest = 'c'.repeat(64)
    deps.files.putRaw(garbageDigest, { digest: garbageDigest, name: 'x', manifest: 'not a manifest' })
    await deps.chunks.put(garbageDigest, 0, bytesOf(10))

    const inventory = await scanInventory(deps.files, deps.chunks)
    expect(inventory.discarded).toEqual([garbageDigest])
    expect(inventory.files.map((f) => [f.record.name, f.have.count, f.have.complete])).toEqual([
      ['whole', 2, true],
      ['part', 2, false],
    ])
    expect(await deps.chunks.indices(garbageDigest)).toEqual([])
  })
})

describe('give back', () => {
  it('streams a file to a writable chunk by chunk, and aborts it when a chunk is bad', async () => {
    const deps = stores()
    const bytes = bytesOf(2 * MiB + 3)
    const { record } = await ingest(new Blob([bytes as Uint8Array<ArrayBuffer>]), deps, {
      name: 'x',
      mime: '',
    })
    const written: Blob[] = []
    const events: string[] = []
    const target = {
      write: async (data: Blob) => {
        written.push(data)
      },
      close: async () => {
        events.push('close')
      },
      abort: async () => {
        events.push('abort')
      },
    }
    await writeFileTo(deps.chunks, record, target)
    expect(events).toEqual(['close'])
    expect(sameBytes(new Uint8Array(await new Blob(written).arrayBuffer()), bytes)).toBe(true)

    // Cut short: read and checked once already this load, its length is still checked on every read.
    deps.chunks.corrupt(record.digest, 2, bytesOf(2, 9))
    events.length = 0
    await expectCode(writeFileTo(deps.chunks, record, target), 'CHUNK_CORRUPT')
    expect(events).toEqual(['abort'])
  })

  it.each([
    ['<img src=x onerror=alert(1)>../../evil.sh', '_img src=x onerror=alert(1)_.._.._evil.sh'],
    ['..', 'download'],
    ['.bashrc', '_bashrc'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['a/b\\c', 'a_b_c'],
    ['report\u202Etxt.exe', 'report_txt.exe'],
    ['tab\tand\nnewline', 'tab_and_newline'],
    ['trailing dots...', 'trailing dots'],
    ['', 'download'],
    ['ok name.pdf', 'ok name.pdf'],
  ])('sanitises %j to %j', (name, safe) => {
    expect(sanitizeFileName(name)).toBe(safe)
  })

  it('keeps the extension when it shortens a long name to 255 bytes', () => {
    const safe = sanitizeFileName(`${'é'.repeat(300)}.tar.gz`)
    expect(new TextEncoder().encode(safe).length).toBeLessThanOrEqual(255)
    expect(safe.endsWith('é.gz')).toBe(true)
  })
})

describe('names and types shared', () => {
  it('uses the path inside a dropped folder, without control characters, within 255 code units', () => {
    expect(shareableName({ name: 'a.txt', webkitRelativePath: 'photos/2024/a.txt' })).toBe(
      'photos/2024/a.txt',
    )
    expect(shareableName({ name: 'bad\u0000name\u202e.txt' })).toBe('bad_name_.txt')
    expect(shareableName({ name: '' })).toBe('unnamed')
    const long = shareableName({ name: `${'x'.repeat(400)}.mp4` })
    expect(long).toHaveLength(255)
    expect(long.endsWith('.mp4')).toBe(true)
    expect(shareableMime('video/mp4')).toBe('video/mp4')
    expect(shareableMime('text/plain; charset=utf-8')).toBe('')
  })
})

describe('quota', () => {
  it('refuses up front a file that will not fit, and asks for persistence', async () => {
    let persistAsked = 0
    const storage = {
      estimate: async () => ({ quota: 100 * MiB, usage: 60 * MiB }),
      persist: async () => {
        persistAsked++
        return true
      },
    }
    await expect(ensureRoom(storage, 10 * MiB)).resolves.toBeUndefined()
    await expectCode(ensureRoom(storage, 30 * MiB), 'QUOTA_EXCEEDED')
    expect(persistAsked).toBeLessThanOrEqual(1)
    await expect(ensureRoom(undefined, 10 ** 12)).resolves.toBeUndefined()
  })
})
