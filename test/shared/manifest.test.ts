import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../shared/encoding.js'
import { MAX_CHUNK_BYTES, MAX_CHUNK_COUNT, MAX_FILE_BYTES, MIN_CHUNK_BYTES } from '../../shared/limits.js'
import {
  canonicalManifestBytes,
  chunkCountOf,
  chunkLength,
  chunkSizeFor,
  type Manifest,
  ManifestSchema,
  manifestDigest,
  manifestMatchesDigest,
  manifestOf,
} from '../../shared/manifest.js'
import { manifestDigestSync } from '../../signal/manifest-digest.js'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** Hex of "swarmdrop-manifest-v1\0", the 22-byte magic every canonical encoding starts with. */
const MAGIC_HEX = '737761726d64726f702d6d616e69666573742d763100'

interface Vector {
  name: string
  file: () => Uint8Array
  chunkSize: number
  hashes: string[]
  canonicalLength: number
  canonicalHex: string
  digest: string
}

// Every expected value below was computed independently of this code base, with Python's hashlib and
// struct (the layout of docs/PROTOCOL.md, "Digest"), and pasted here; docs/PROTOCOL.md lists the same.
const VECTORS: Vector[] = [
  {
    name: 'the empty file',
    file: () => new Uint8Array(0),
    chunkSize: 1048576,
    hashes: [],
    canonicalLength: 38,
    canonicalHex: '737761726d64726f702d6d616e69666573742d76310000000000000000000010000000000000',
    digest: 'd63d0f4add109ccb442c744522d16bd03f2670f2432fa4eae7a14ba89c051fc2',
  },
  {
    name: 'the 3-byte file "abc"',
    file: () => new TextEncoder().encode('abc'),
    chunkSize: 1048576,
    hashes: ['ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    canonicalLength: 70,
    canonicalHex:
      '737761726d64726f702d6d616e69666573742d76310000000000000000030010000000000001' +
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    digest: 'f520e2a982bc326fab04349d09dde2c7b310699092535529ce9407b39bab6c16',
  },
  {
    name: 'exactly one chunk: 16384 bytes of 0x61 in chunks of 16384',
    file: () => new Uint8Array(16384).fill(0x61),
    chunkSize: 16384,
    hashes: ['f3336bea752b5a28743033dd2c844a4a63fba08871aaee2586a2bf2d69be83a2'],
    canonicalLength: 70,
    canonicalHex:
      '737761726d64726f702d6d616e69666573742d76310000000000000040000000400000000001' +
      'f3336bea752b5a28743033dd2c844a4a63fba08871aaee2586a2bf2d69be83a2',
    digest: '71255a2a5e0ec53b4e96e0552e4ddda53ae2add9006f6b918dbbda0dc335fccf',
  },
  {
    name: 'one chunk and one byte: 16385 bytes of 0x61 in chunks of 16384',
    file: () => new Uint8Array(16385).fill(0x61),
    chunkSize: 16384,
    hashes: [
      'f3336bea752b5a28743033dd2c844a4a63fba08871aaee2586a2bf2d69be83a2',
      'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
    ],
    canonicalLength: 102,
    canonicalHex:
      '737761726d64726f702d6d616e69666573742d76310000000000000040010000400000000002' +
      'f3336bea752b5a28743033dd2c844a4a63fba08871aaee2586a2bf2d69be83a2' +
      'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
    digest: '7ae973b96d01bf504c3b0ad44b6768f9b0d3d5b72dd1cd51e57b2f902ff4c830',
  },
  {
    name: 'three chunks: 40000 bytes, byte i = i mod 251, in chunks of 16384',
    file: () => Uint8Array.from({ length: 40000 }, (_, i) => i % 251),
    chunkSize: 16384,
    hashes: [
      '4348e3b98e8a327b34ced39c1da9e67cdb4cd5e48e4d7960607a3ae403d35f0c',
      'f7c9045c2a79a8a2a587efbf5b310652685b292e6fbb0b08c1df857500da2699',
      '8ec99c0fa906ccb81a4c7b869839283e273b596b824b31007f6649d31281db63',
    ],
    canonicalLength: 134,
    canonicalHex:
      '737761726d64726f702d6d616e69666573742d7631000000000000009c400000400000000003' +
      '4348e3b98e8a327b34ced39c1da9e67cdb4cd5e48e4d7960607a3ae403d35f0c' +
      'f7c9045c2a79a8a2a587efbf5b310652685b292e6fbb0b08c1df857500da2699' +
      '8ec99c0fa906ccb81a4c7b869839283e273b596b824b31007f6649d31281db63',
    digest: '8fb31e05fe5145e643849eea3de6d854ed61f571c2eac61e3ef463c5534ef5e4',
  },
]

/**
 * A manifest no real file is needed for: 4 GiB + 1 bytes in 2 MiB chunks (2049 of them), hash i being 32
 * bytes of value i mod 256. Checks the size is written as a full 64-bit integer.
 */
const LARGE_VECTOR = {
  manifest: (): Manifest => ({
    size: 4294967297,
    chunkSize: 2097152,
    hashes: Array.from({ length: 2049 }, (_, i) => (i % 256).toString(16).padStart(2, '0').repeat(32)),
  }),
  canonicalLength: 65606,
  headerHex: '737761726d64726f702d6d616e69666573742d76310000000001000000010020000000000801',
  digest: '133cb068d65ef69c5cdb0ca1ad1d65e6c2ce1e54a1f0c37e17f139197693847c',
}

/** A valid manifest with at most `maxChunks` chunks and arbitrary hashes. */
function manifestArbitrary(maxChunks = 40): fc.Arbitrary<Manifest> {
  return fc
    .record({
      log2: fc.integer({ min: 14, max: 26 }),
      count: fc.integer({ min: 0, max: maxChunks }),
      last: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .chain(({ log2, count, last }) => {
      const chunkSize = 2 ** log2
      const lastLength = Math.max(1, Math.ceil(last * chunkSize))
      const size = count === 0 ? 0 : (count - 1) * chunkSize + lastLength
      return fc
        .array(fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex), {
          minLength: count,
          maxLength: count,
        })
        .map((hashes) => ({ size, chunkSize, hashes }))
    })
}

describe('manifest digest test vectors', () => {
  for (const vector of VECTORS) {
    describe(vector.name, () => {
      it('has the expected chunk hashes', async () => {
        const file = vector.file()
        const manifest = await manifestOf(file, vector.chunkSize)
        expect(manifest).toEqual({ size: file.length, chunkSize: vector.chunkSize, hashes: vector.hashes })
      })

      it('has the expected canonical bytes', () => {
        const bytes = canonicalManifestBytes({
          size: vector.file().length,
          chunkSize: vector.chunkSize,
          hashes: vector.hashes,
        })
        expect(bytes.length).toBe(vector.canonicalLength)
        expect(toHex(bytes)).toBe(vector.canonicalHex)
        expect(toHex(bytes).startsWith(MAGIC_HEX)).toBe(true)
      })

      it('has the expected digest, with WebCrypto and with node:crypto', async () => {
        const manifest = { size: vector.file().length, chunkSize: vector.chunkSize, hashes: vector.hashes }
        expect(await manifestDigest(manifest)).toBe(vector.digest)
        expect(manifestDigestSync(manifest)).toBe(vector.digest)
        expect(await manifestMatchesDigest(vector.digest, manifest)).toBe(true)
      })
    })
  }

  it('uses the default chunk size for the small files', () => {
    expect(chunkSizeFor(0)).toBe(VECTORS[0]!.chunkSize)
    expect(chunkSizeFor(3)).toBe(VECTORS[1]!.chunkSize)
  })

  it('writes the size of a file over 4 GiB as a 64-bit big-endian integer', async () => {
    const manifest = LARGE_VECTOR.manifest()
    expect(ManifestSchema.safeParse(manifest).success).toBe(true)
    const bytes = canonicalManifestBytes(manifest)
    expect(bytes.length).toBe(LARGE_VECTOR.canonicalLength)
    expect(toHex(bytes.subarray(0, 38))).toBe(LARGE_VECTOR.headerHex)
    expect(toHex(bytes.subarray(38 + 32, 38 + 64))).toBe('01'.repeat(32))
    expect(await manifestDigest(manifest)).toBe(LARGE_VECTOR.digest)
    expect(manifestDigestSync(manifest)).toBe(LARGE_VECTOR.digest)
  })
})

describe('manifestDigest', () => {
  it('equals the node:crypto digest the server computes, for any manifest', async () => {
    await fc.assert(
      fc.asyncProperty(manifestArbitrary(), async (manifest) => {
        expect(await manifestDigest(manifest)).toBe(manifestDigestSync(manifest))
      }),
      { numRuns: 500 },
    )
  })

  it('is 64 lowercase hex characters and changes with any field', async () => {
    await fc.assert(
      fc.asyncProperty(manifestArbitrary(10), async (manifest) => {
        const digest = await manifestDigest(manifest)
        expect(digest).toMatch(/^[0-9a-f]{64}$/)
        const doubled = { ...manifest, chunkSize: manifest.chunkSize * 2 }
        if (ManifestSchema.safeParse(doubled).success) expect(await manifestDigest(doubled)).not.toBe(digest)
      }),
      { numRuns: 200 },
    )
  })

  it('refuses to hash an invalid manifest', async () => {
    await expect(manifestDigest({ size: 3, chunkSize: MiB, hashes: [] })).rejects.toThrow()
    expect(() => manifestDigestSync({ size: 3, chunkSize: MiB, hashes: [] })).toThrow()
  })
})

describe('chunkSizeFor', () => {
  it('keeps 1 MiB chunks up to exactly 4 GiB (4096 chunks)', () => {
    expect(chunkSizeFor(0)).toBe(MiB)
    expect(chunkSizeFor(1)).toBe(MiB)
    expect(chunkSizeFor(MiB)).toBe(MiB)
    expect(chunkSizeFor(4 * GiB)).toBe(MiB)
    expect(chunkCountOf(4 * GiB, MiB)).toBe(MAX_CHUNK_COUNT)
  })

  it('doubles the chunk size just past each boundary', () => {
    expect(chunkSizeFor(4 * GiB + 1)).toBe(2 * MiB)
    expect(chunkSizeFor(8 * GiB)).toBe(2 * MiB)
    expect(chunkSizeFor(8 * GiB + 1)).toBe(4 * MiB)
  })

  it('reaches 64 MiB chunks at the largest file', () => {
    expect(MAX_FILE_BYTES).toBe(256 * GiB)
    expect(chunkSizeFor(MAX_FILE_BYTES)).toBe(MAX_CHUNK_BYTES)
    expect(chunkCountOf(MAX_FILE_BYTES, MAX_CHUNK_BYTES)).toBe(MAX_CHUNK_COUNT)
  })

  it('rejects sizes past the largest file, negative and non-integer sizes', () => {
    for (const size of [MAX_FILE_BYTES + 1, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => chunkSizeFor(size), String(size)).toThrow(RangeError)
    }
  })

  it('always gives a valid manifest shape of at most 4096 chunks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FILE_BYTES }), (size) => {
        const chunkSize = chunkSizeFor(size)
        expect(chunkCountOf(size, chunkSize)).toBeLessThanOrEqual(MAX_CHUNK_COUNT)
        expect(chunkSize).toBeGreaterThanOrEqual(MiB)
        // The smallest such power of two: half of it would need more than 4096 chunks.
        if (chunkSize > MiB) expect(chunkCountOf(size, chunkSize / 2)).toBeGreaterThan(MAX_CHUNK_COUNT)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('chunkLength', () => {
  it('is the chunk size except for a short last chunk', () => {
    const manifest = { size: 40000, chunkSize: 16384 }
    expect(chunkLength(manifest, 0)).toBe(16384)
    expect(chunkLength(manifest, 1)).toBe(16384)
    expect(chunkLength(manifest, 2)).toBe(40000 - 2 * 16384)
    expect(chunkLength(manifest, 3)).toBe(0)
  })

  it('is the full chunk size when the file is a whole number of chunks', () => {
    expect(chunkLength({ size: 32768, chunkSize: 16384 }, 1)).toBe(16384)
    expect(chunkLength({ size: 16385, chunkSize: 16384 }, 1)).toBe(1)
    expect(chunkLength({ size: 3, chunkSize: MiB }, 0)).toBe(3)
  })

  it('adds up to the file size', () => {
    fc.assert(
      fc.property(manifestArbitrary(), (manifest) => {
        let total = 0
        for (let i = 0; i < manifest.hashes.length; i++) total += chunkLength(manifest, i)
        expect(total).toBe(manifest.size)
      }),
      { numRuns: 300 },
    )
  })
})

describe('ManifestSchema', () => {
  const hash = 'ab'.repeat(32)
  const valid = { size: 40000, chunkSize: 16384, hashes: [hash, hash, hash] }

  it('accepts a valid manifest', () => {
    expect(ManifestSchema.safeParse(valid).success).toBe(true)
    expect(ManifestSchema.safeParse({ size: 0, chunkSize: MiB, hashes: [] }).success).toBe(true)
  })

  it('rejects a wrong number of hashes', () => {
    expect(ManifestSchema.safeParse({ ...valid, hashes: [hash, hash] }).success).toBe(false)
    expect(ManifestSchema.safeParse({ ...valid, hashes: [hash, hash, hash, hash] }).success).toBe(false)
    expect(ManifestSchema.safeParse({ size: 0, chunkSize: MiB, hashes: [hash] }).success).toBe(false)
  })

  it('rejects a chunk size that is not a power of two, or out of bounds', () => {
    for (const chunkSize of [
      24576,
      MIN_CHUNK_BYTES / 2,
      MAX_CHUNK_BYTES * 2,
      MIN_CHUNK_BYTES + 1,
      0,
      -16384,
      16384.5,
    ]) {
      const hashes = Array.from(
        { length: Math.max(0, chunkCountOf(40000, Math.abs(chunkSize) || 1)) },
        () => hash,
      )
      expect(ManifestSchema.safeParse({ ...valid, chunkSize, hashes }).success, String(chunkSize)).toBe(false)
    }
  })

  it('rejects uppercase or short hashes', () => {
    expect(ManifestSchema.safeParse({ ...valid, hashes: [hash, hash, 'AB'.repeat(32)] }).success).toBe(false)
    expect(ManifestSchema.safeParse({ ...valid, hashes: [hash, hash, 'ab'.repeat(31)] }).success).toBe(false)
  })

  it('rejects unknown fields, missing fields and sizes past the largest file', () => {
    expect(ManifestSchema.safeParse({ ...valid, name: 'x' }).success).toBe(false)
    expect(ManifestSchema.safeParse({ size: 40000, chunkSize: 16384 }).success).toBe(false)
    expect(ManifestSchema.safeParse({ ...valid, size: -1 }).success).toBe(false)
    expect(ManifestSchema.safeParse({ ...valid, size: '40000' }).success).toBe(false)
    const tooBig = { size: MAX_FILE_BYTES + 1, chunkSize: MAX_CHUNK_BYTES, hashes: [] }
    expect(ManifestSchema.safeParse(tooBig).success).toBe(false)
  })

  it('rejects more than 4096 chunks', () => {
    const size = (MAX_CHUNK_COUNT + 1) * MIN_CHUNK_BYTES
    const hashes = Array.from({ length: MAX_CHUNK_COUNT + 1 }, () => hash)
    expect(ManifestSchema.safeParse({ size, chunkSize: MIN_CHUNK_BYTES, hashes }).success).toBe(false)
  })
})

describe('manifestMatchesDigest', () => {
  const vector = VECTORS[4]!
  const manifest = { size: 40000, chunkSize: 16384, hashes: vector.hashes }

  it('is true for the manifest of the digest', async () => {
    expect(await manifestMatchesDigest(vector.digest, manifest)).toBe(true)
  })

  it('is false for a tampered hash, size or chunk size', async () => {
    const tampered = [...vector.hashes]
    tampered[1] = `${tampered[1]!.slice(0, 63)}${tampered[1]!.endsWith('0') ? '1' : '0'}`
    expect(await manifestMatchesDigest(vector.digest, { ...manifest, hashes: tampered })).toBe(false)
    expect(await manifestMatchesDigest(vector.digest, { ...manifest, size: 39999 })).toBe(false)
    const reordered = [vector.hashes[1]!, vector.hashes[0]!, vector.hashes[2]!]
    expect(await manifestMatchesDigest(vector.digest, { ...manifest, hashes: reordered })).toBe(false)
  })

  it('is false for a digest that is not lowercase hex', async () => {
    expect(await manifestMatchesDigest(vector.digest.toUpperCase(), manifest)).toBe(false)
    expect(await manifestMatchesDigest(vector.digest.slice(1), manifest)).toBe(false)
  })

  it('never throws on garbage, and is false for it', async () => {
    const digest = fc.oneof(fc.constant(vector.digest), fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/))
    await fc.assert(
      fc.asyncProperty(digest, fc.anything(), async (d, garbage) => {
        expect(await manifestMatchesDigest(d, garbage)).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  it('is true exactly when the digest is the manifest’s own', async () => {
    await fc.assert(
      fc.asyncProperty(manifestArbitrary(8), fc.boolean(), async (m, own) => {
        const digest = own ? manifestDigestSync(m) : toHex(new Uint8Array(32).fill(7))
        expect(await manifestMatchesDigest(digest, m)).toBe(own)
      }),
      { numRuns: 300 },
    )
  })
})
