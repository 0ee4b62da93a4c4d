import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter } from '../../shared/byte-codec.js'
import { fromHex, toHex } from '../../shared/encoding.js'
import { MAX_CHUNK_COUNT, MAX_FILE_BYTES } from '../../shared/limits.js'
import {
  keyInputsOf,
  MAX_TOKENS_PER_NAME,
  type NameRecord,
  nameKeyInput,
  nameTokens,
  type ProviderRecord,
  providerKeyInput,
  readRecord,
  recordBytes,
  recordSignedBytes,
  type SignedRecord,
  writeRecord,
} from '../../shared/ring-records.js'

// RFC 8032 §7.1, test 1: the key every vector here is signed with (docs/PROTOCOL.md, "The ring").
const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const PUBLIC_KEY = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

const PROVIDER: Omit<ProviderRecord, 'signature'> = {
  kind: 'provider',
  publisher: PUBLIC_KEY,
  digest: 'ab'.repeat(32),
  chunks: 7,
  issuedAt: 1767225600,
  expiresAt: 1767226800,
}
const NAME: Omit<NameRecord, 'signature'> = {
  kind: 'name',
  publisher: PUBLIC_KEY,
  digest: 'ab'.repeat(32),
  name: 'Café menu.pdf',
  size: 123456,
  chunkCount: 1,
  issuedAt: 1767225600,
  expiresAt: 1767312000,
}

function encoded(record: SignedRecord): Uint8Array {
  const writer = new ByteWriter()
  writeRecord(writer, record)
  return writer.finish()
}

describe('ring records: test vectors (docs/PROTOCOL.md)', () => {
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI, PUBLIC_KEY]), format: 'der', type: 'spki' })

  it('the RFC 8032 key is the one the vectors name', () => {
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]),
      format: 'der',
      type: 'pkcs8',
    })
    expect(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12)).toEqual(
      Buffer.from(PUBLIC_KEY),
    )
  })

  it('signs a provider record over these exact bytes, under this key', () => {
    const signed = recordSignedBytes(PROVIDER)
    expect(toHex(signed)).toBe(
      '737761726d64726f702f72696e672d7265636f72642f76310001d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a' +
        'abababababababababababababababababababababababababababababababab000000076955b9006955bdb0',
    )
    const signature = fromHex(
      '54a49ce67bf3660912d85effa4153c4c6604a79e6ffc911984fc75298ea70a79beb504b59900999f50a96e627bd5f54242f75e6a0aeba3c930ed07d90c267c0e',
    )
    expect(verify(null, signed, publicKey, signature)).toBe(true)
    expect(sha256(providerKeyInput(PROVIDER.digest))).toBe(
      'f2d81c5742769d58c965a58d2a1b9556379001ec078e683a73983c35775d4f48',
    )
  })

  it('signs a name record over these exact bytes, and keeps it under each token', () => {
    const signed = recordSignedBytes(NAME)
    expect(toHex(signed)).toBe(
      '737761726d64726f702f72696e672d7265636f72642f76310002d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a' +
        'abababababababababababababababababababababababababababababababab000000000001e240000000016955b90069570a80' +
        '000e436166c3a9206d656e752e706466',
    )
    const signature = fromHex(
      'd11cba2056eabfe6fad952a900e1940b1d9f450343a803841be4ffd75a3e4e738927fad919afaa4327a51895566898fe82b3e0f12299e918338a0934e653c400',
    )
    expect(verify(null, signed, publicKey, signature)).toBe(true)
    expect(nameTokens(NAME.name)).toEqual(['café', 'menu', 'pdf'])
    expect(keyInputsOf(NAME).map(sha256)).toEqual([
      'f829c542fad6a033607878a4f5f9764892f115b8ca47f85020d5ed35e48dc0c0',
      '482c5be30b4629c820dbad888ab194d1e44a8f7607657c38f1eb90fa7d79e90a',
      '84c1e3b8fe1d8fef3a80e89ece0f615fa00d338946508dcb2fd105445abbc238',
    ])
  })
})

describe('name tokens', () => {
  it('normalises, lowers, splits at non-letters and drops short tokens and stop words', () => {
    expect(nameTokens('The_Holiday PHOTOS (2025) - of us.zip')).toEqual(['holiday', 'photos', '2025', 'zip'])
    // NFKC: the ligature "ﬁ" and full-width letters fold into plain ones.
    expect(nameTokens('ﬁnal ＲＥＰＯＲＴ')).toEqual(['final', 'report'])
  })

  it('keeps at most eight distinct tokens, each cut to 64 code points', () => {
    const tokens = nameTokens(
      `${'x'.repeat(100)} aaa aaa ${Array.from({ length: 12 }, (_, i) => `word${i}`).join(' ')}`,
    )
    expect(tokens).toHaveLength(MAX_TOKENS_PER_NAME)
    expect(tokens[0]).toBe('x'.repeat(64))
    expect(new Set(tokens).size).toBe(tokens.length)
  })

  it('gives a query the keys a name was published under', () => {
    expect(sha256(nameKeyInput(nameTokens('MENU')[0]!))).toBe(sha256(keyInputsOf(NAME)[1]!))
  })
})

describe('record encoding', () => {
  const signature = new Uint8Array(64).fill(9)

  it('round-trips both kinds and says how long each is', () => {
    for (const record of [
      { ...PROVIDER, signature },
      { ...NAME, signature },
    ] as SignedRecord[]) {
      const bytes = encoded(record)
      expect(bytes.length).toBe(recordBytes(record))
      const reader = new ByteReader(bytes)
      expect(readRecord(reader)).toEqual(record)
      expect(reader.ok && reader.remaining === 0).toBe(true)
    }
  })

  it.each([
    ['no chunks', { ...PROVIDER, chunks: 0 }],
    ['too many chunks', { ...PROVIDER, chunks: MAX_CHUNK_COUNT + 1 }],
    ['expiry before issue', { ...PROVIDER, expiresAt: PROVIDER.issuedAt }],
    ['a file too large', { ...NAME, size: MAX_FILE_BYTES + 1 }],
    ['a name with a control character', { ...NAME, name: 'evil\u202Etxt.exe' }],
    ['an empty name', { ...NAME, name: '' }],
  ])('refuses a record with %s', (_, record) => {
    const reader = new ByteReader(encoded({ ...record, signature } as SignedRecord))
    expect(readRecord(reader)).toBeUndefined()
    expect(reader.ok).toBe(false)
  })

  it('refuses an unknown kind and a name that is not UTF-8', () => {
    const bytes = encoded({ ...NAME, signature })
    expect(readRecord(new ByteReader(Uint8Array.of(3, ...bytes.subarray(1))))).toBeUndefined()
    const broken = bytes.slice()
    broken[1 + 32 + 32 + 8 + 4 + 4 + 4 + 2] = 0xff
    expect(readRecord(new ByteReader(broken))).toBeUndefined()
  })

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const record = readRecord(new ByteReader(bytes))
        if (record) expect(encoded(record)).toEqual(bytes.subarray(0, recordBytes(record)))
      }),
      { numRuns: 2000 },
    )
  })
})
