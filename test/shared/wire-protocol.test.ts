import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  canonicalManifestBytes,
  manifestDigest,
  manifestOf,
  parseCanonicalManifest,
  sha256Hex,
} from '../../shared/manifest.js'
import {
  type ControlMessage,
  encodeChunkFrames,
  encodeControl,
  encodeManifestFrames,
  FIRST_EXTENSION_KIND,
  MAX_FRAME_BYTES,
  parseFrame,
} from '../../shared/wire-protocol.js'

const digest = 'ab'.repeat(32)

const EVERY_CONTROL_MESSAGE: ControlMessage[] = [
  { type: 'hello', version: 1, maxFrameBytes: 262_144 },
  { type: 'hello', version: 1, maxFrameBytes: 262_144, protocols: [0x10, 0xff] },
  { type: 'interested', digest },
  { type: 'not-interested', digest },
  { type: 'have', digest, chunkCount: 10, have: 'all' },
  { type: 'have', digest, chunkCount: 10, have: 'gEA=' },
  { type: 'have-chunk', digest, index: 9 },
  { type: 'request', id: 4_294_967_295, digest, index: 0 },
  { type: 'get-manifest', id: 7, digest },
  { type: 'cancel', id: 7 },
  { type: 'reject', id: 7, reason: 'busy' },
  { type: 'error', code: 'CHUNK_CORRUPT', message: 'three bad chunks' },
]

describe('wire protocol', () => {
  it.each(EVERY_CONTROL_MESSAGE.map((m) => [m.type, m] as const))('round-trips %s', (_, message) => {
    expect(parseFrame(encodeControl(message))).toEqual({ ok: true, frame: { kind: 'control', message } })
  })

  it('splits a chunk into frames no larger than the limit, and they reassemble', () => {
    const chunk = new Uint8Array(1024 * 1024 + 17).map((_, i) => i & 255)
    const frames = encodeChunkFrames(42, chunk, 64 * 1024)
    expect(frames.every((f) => f.length <= 64 * 1024)).toBe(true)
    const rebuilt = new Uint8Array(chunk.length)
    for (const frame of frames) {
      const parsed = parseFrame(frame)
      if (!parsed.ok || parsed.frame.kind !== 'chunk') throw new Error('not a chunk frame')
      expect(parsed.frame.requestId).toBe(42)
      rebuilt.set(parsed.frame.bytes, parsed.frame.offset)
    }
    expect(Buffer.from(rebuilt).equals(Buffer.from(chunk))).toBe(true)
  })

  it('carries canonical manifest bytes that parse back to the manifest and hash to its digest', async () => {
    const manifest = await manifestOf(
      new Uint8Array(100_000).map((_, i) => i % 251),
      16 * 1024,
    )
    const canonical = canonicalManifestBytes(manifest)
    const frames = encodeManifestFrames(3, canonical, 16 * 1024 + 13)
    expect(frames.length).toBeGreaterThan(0)
    const rebuilt = new Uint8Array(canonical.length)
    for (const frame of frames) {
      const parsed = parseFrame(frame)
      if (!parsed.ok || parsed.frame.kind !== 'manifest') throw new Error('not a manifest frame')
      expect(parsed.frame.total).toBe(canonical.length)
      rebuilt.set(parsed.frame.bytes, parsed.frame.offset)
    }
    expect(parseCanonicalManifest(rebuilt)).toEqual(manifest)
    expect(await sha256Hex(rebuilt)).toBe(await manifestDigest(manifest))
  })

  it('refuses canonical manifest bytes that are cut, padded or from another format', async () => {
    const canonical = canonicalManifestBytes(await manifestOf(new Uint8Array(40_000), 16 * 1024))
    expect(() => parseCanonicalManifest(canonical.subarray(0, canonical.length - 1))).toThrow(RangeError)
    expect(() => parseCanonicalManifest(new Uint8Array([...canonical, 0]))).toThrow(RangeError)
    const wrongMagic = canonical.slice()
    wrongMagic[0] = 0
    expect(() => parseCanonicalManifest(wrongMagic)).toThrow(RangeError)
    const wrongCount = canonical.slice()
    wrongCount[37] = 9 // chunk count no longer fits the size and chunk size
    expect(() => parseCanonicalManifest(wrongCount)).toThrow(RangeError)
  })

  it.each([
    ['an empty frame', new Uint8Array(0)],
    ['a truncated chunk header', new Uint8Array([1, 0, 0])],
    ['a chunk frame without bytes', new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 0])],
    ['a manifest frame past its total', new Uint8Array([2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5, 5])],
    ['an unknown frame kind', new Uint8Array([7, 1, 2])],
    ['control bytes that are not UTF-8', new Uint8Array([0, 0xff, 0xfe])],
    [
      'control JSON of an unknown type',
      new Uint8Array([0, ...new TextEncoder().encode('{"type":"teleport"}')]),
    ],
    ['a frame over the largest size', new Uint8Array(MAX_FRAME_BYTES + 1)],
  ])('refuses %s with a reason', (_, frame) => {
    const parsed = parseFrame(frame)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0)
  })

  it('takes a hello with fields it does not know (a later version), and refuses protocols outside 0x10–0xff', () => {
    const later = new TextEncoder().encode(
      JSON.stringify({
        type: 'hello',
        version: 1,
        maxFrameBytes: 65_536,
        protocols: [16],
        transports: ['x'],
      }),
    )
    const frame = new Uint8Array(later.length + 1)
    frame.set(later, 1)
    expect(parseFrame(frame)).toEqual({
      ok: true,
      frame: {
        kind: 'control',
        message: { type: 'hello', version: 1, maxFrameBytes: 65_536, protocols: [16] },
      },
    })
    const bad = encodeControl({ type: 'hello', version: 1, maxFrameBytes: 65_536, protocols: [2] })
    expect(parseFrame(bad).ok).toBe(false)
  })

  it('hands frames of other protocols to their handlers untouched', () => {
    expect(parseFrame(new Uint8Array([FIRST_EXTENSION_KIND, 1, 2]))).toMatchObject({
      ok: true,
      frame: { kind: 'extension', protocol: FIRST_EXTENSION_KIND },
    })
  })

  it('never throws on arbitrary bytes or mutated frames', () => {
    const valid = EVERY_CONTROL_MESSAGE.map(encodeControl).concat(
      encodeChunkFrames(1, new Uint8Array(300), 16_384),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const parsed = parseFrame(bytes)
        expect(typeof parsed.ok).toBe('boolean')
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (frame, position, value) => {
          const mutated = frame.slice()
          mutated[position % mutated.length] = value
          const parsed = parseFrame(mutated)
          if (parsed.ok && parsed.frame.kind === 'control') {
            expect(parseFrame(encodeControl(parsed.frame.message)).ok).toBe(true)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
