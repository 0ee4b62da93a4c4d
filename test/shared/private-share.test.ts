import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../shared/encoding.js'
import { SwarmError } from '../../shared/errors.js'
import { manifestDigest, sha256Hex } from '../../shared/manifest.js'
import {
  decodeHeader,
  encodeHeader,
  fromBase64Url,
  importKey,
  KEY_BYTES,
  keyFromPassword,
  newKey,
  openChunk,
  parsePrivateFragment,
  privateFragment,
  sealBytes,
  sealChunk,
  sealedLayout,
  toBase64Url,
} from '../../shared/private-share.js'

const MiB = 1024 * 1024

// Every expected value below was computed independently of this code base, with Python's hashlib, struct,
// json and the `cryptography` package's AESGCM (the script in docs/PROTOCOL.md, "Private shares"), and
// pasted here; docs/PROTOCOL.md lists the same.
const VECTORS = [
  {
    name: 'abc.txt',
    key: () => Uint8Array.from({ length: 32 }, (_, i) => i),
    mime: 'text/plain',
    bytes: () => new TextEncoder().encode('abc'),
    size: 76,
    chunkSize: MiB,
    hashes: ['99ce972d731a9b6aa2b3911823b0cf662f6fbbfc81f487c9ab885ba39e2b7c48'],
    digest: '5cd9ea5d866714353bb6e0452f848f26be51ce9ebb5848bf9648f3b71cbaedae',
  },
  {
    name: 'empty',
    key: () => new Uint8Array(32),
    mime: '',
    bytes: () => new Uint8Array(0),
    size: 61,
    chunkSize: MiB,
    hashes: ['38d926f2dd2d596dc96721fae91395402da0e6dad9ad617a251a13a741ddb31a'],
    digest: 'b945ca726189d445eed843598862625e2aec25ef2f4952c539c5b98a21056612',
  },
  {
    name: 'pattern.bin',
    key: () => new Uint8Array(32).fill(0x42),
    mime: 'application/octet-stream',
    bytes: () => Uint8Array.from({ length: 2_500_000 }, (_, i) => i % 251),
    size: 2_500_129,
    chunkSize: MiB,
    hashes: [
      '941e451e15e1318f3877a5fc6d1deb52cde8ea1d595efcc1ec05137fe16e60c1',
      '597348b0c80fd714902a981904c6d0ec819cc6c716c3790578dde683c7db9945',
      '0e5202af05476f4af0d69deb32036fdda19f6f0c6b77a4b48348a512a8253c1c',
    ],
    digest: '40853265c2d9bcb57d04466f0568902322509aa91e913ea98f8af6b99fd6393a',
  },
]

describe('private shares: the sealed format', () => {
  for (const vector of VECTORS) {
    it(`seals ${vector.name} to the chunks and digest computed independently`, async () => {
      const sealed = await sealBytes(vector.key(), { name: vector.name, mime: vector.mime }, vector.bytes())
      expect(sealed.sealedSize).toBe(vector.size)
      expect(sealed.chunkSize).toBe(vector.chunkSize)
      expect(await Promise.all(sealed.chunks.map((c) => sha256Hex(c)))).toEqual(vector.hashes)
      const manifest = { size: sealed.sealedSize, chunkSize: sealed.chunkSize, hashes: vector.hashes }
      expect(await manifestDigest(manifest)).toBe(vector.digest)
    })
  }

  it('opens what it sealed: the header names the file and the rest is its bytes', async () => {
    const vector = VECTORS[2]!
    const key = await importKey(vector.key())
    const sealed = await sealBytes(vector.key(), { name: vector.name, mime: vector.mime }, vector.bytes())
    const pieces = await Promise.all(sealed.chunks.map((chunk, i) => openChunk(key, i, chunk)))
    const { header, offset } = decodeHeader(pieces[0]!)
    expect(header).toEqual({ name: 'pattern.bin', mime: 'application/octet-stream', size: 2_500_000 })
    const joined = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const piece of pieces) {
      joined.set(piece, at)
      at += piece.length
    }
    expect(await sha256Hex(joined.subarray(offset))).toBe(await sha256Hex(vector.bytes()))
  })

  it('refuses to open a chunk with another key, or at another index, with WRONG_KEY', async () => {
    const sealed = await sealBytes(VECTORS[0]!.key(), { name: 'abc.txt', mime: '' }, new Uint8Array([1, 2]))
    const other = await importKey(newKey())
    await expect(openChunk(other, 0, sealed.chunks[0]!)).rejects.toMatchObject({ code: 'WRONG_KEY' })
    const right = await importKey(VECTORS[0]!.key())
    await expect(openChunk(right, 1, sealed.chunks[0]!)).rejects.toBeInstanceOf(SwarmError)
  })

  it('keeps every chunk but the last exactly chunkSize long, tag included', () => {
    for (const size of [0, 1, MiB - 16, MiB - 15, 3 * MiB, 4096 * (MiB - 16), 4096 * (MiB - 16) + 1]) {
      const layout = sealedLayout(size)
      expect(layout.chunkCount).toBe(Math.max(1, Math.ceil(size / layout.pieceSize)))
      expect(layout.chunkCount).toBeLessThanOrEqual(4096)
      expect(Math.ceil(layout.sealedSize / layout.chunkSize)).toBe(layout.chunkCount)
    }
    expect(sealedLayout(4096 * (MiB - 16) + 1).chunkSize).toBe(2 * MiB)
  })

  it('derives a password link key with PBKDF2-HMAC-SHA-256 and 600,000 iterations', async () => {
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i)
    const key = await keyFromPassword('correct horse battery staple', salt)
    expect(toHex(key)).toBe('ef177144eec9420cbc1093d2a8b344a92bc506d0d4ec9c028dd19f8324d8c1e6')
  })

  it('refuses a header that is not one', () => {
    for (const bytes of [
      new Uint8Array(2),
      fromHex('000010007b7d'),
      encodeHeader({ name: 'a', mime: '', size: 1 }).slice(0, 10),
    ]) {
      expect(() => decodeHeader(bytes)).toThrow(SwarmError)
    }
  })
})

describe('private links', () => {
  const digest = VECTORS[0]!.digest

  it('round-trips a key link and a password link', () => {
    const key = VECTORS[0]!.key()
    const fragment = privateFragment({ digest, secret: { kind: 'key', key } })
    expect(fragment).toBe(`${digest}.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8`)
    expect(parsePrivateFragment(`#${fragment}`)).toEqual({ digest, secret: { kind: 'key', key } })
    const salt = new Uint8Array(16).fill(255)
    const password = privateFragment({ digest, secret: { kind: 'password', salt } })
    expect(password).toBe(`${digest}.p._____________________w`)
    expect(parsePrivateFragment(password)).toEqual({ digest, secret: { kind: 'password', salt } })
  })

  it('is not fooled by a public link, a short key, padding or another alphabet', () => {
    const key = toBase64Url(new Uint8Array(KEY_BYTES))
    for (const fragment of [
      digest,
      `${digest}.`,
      `${digest}.${key.slice(1)}`,
      `${digest}.${key}=`,
      `${digest}.${key.slice(0, -1)}+`,
      `${digest}.x.${key}`,
      `${digest.slice(1)}.${key}`,
      `${digest}.${key}.extra`,
    ]) {
      expect(parsePrivateFragment(fragment), fragment).toBeUndefined()
    }
  })

  it('parses any string without throwing', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        parsePrivateFragment(text)
        parsePrivateFragment(`${digest}.${text}`)
        fromBase64Url(text, 32)
      }),
    )
  })

  it('seals chunk by chunk the same as in one go', async () => {
    const raw = newKey()
    const key = await importKey(raw)
    const piece = new Uint8Array(100).fill(7)
    expect(await sealChunk(key, 5, piece)).toEqual(await sealChunk(key, 5, piece))
    expect(await sealChunk(key, 5, piece)).not.toEqual(await sealChunk(key, 6, piece))
  })
})
