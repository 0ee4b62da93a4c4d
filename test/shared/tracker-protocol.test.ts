import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toBase64, toHex } from '../../shared/encoding.js'
import { ERROR_CODES, type ErrorCode, SwarmError } from '../../shared/errors.js'
import {
  DEFAULT_TRACKER_LIMITS,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MAX_MIME_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NAMES_PER_FILE,
  MAX_QUERY_LENGTH,
} from '../../shared/limits.js'
import type { Manifest } from '../../shared/manifest.js'
import {
  type ClientMessage,
  type ClientMessageOf,
  ClientMessageSchemas,
  type ClientMessageType,
  encodeClientMessage,
  encodeServerMessage,
  type ParseResult,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
  type ServerMessageOf,
  ServerMessageSchemas,
  type ServerMessageType,
} from '../../shared/tracker-protocol.js'

// ---------------------------------------------------------------- fixtures

const DIGEST = 'ab'.repeat(32)
const OTHER_DIGEST = '0123456789abcdef'.repeat(4)
const PEER = 'AbCdEfGhIjKlMn_-'
const OTHER_PEER = 'zyxwvutsrq012345'
const HASH = 'cd'.repeat(32)
/** 40000 bytes in chunks of 16384: three chunks. */
const MANIFEST: Manifest = { size: 40000, chunkSize: 16384, hashes: [HASH, HASH, HASH] }

type Examples<T extends string, M> = {
  [K in T]: {
    /** Every field, optional ones included. */
    full: Extract<M, { type: K }>
    /** Required fields only. */
    minimal: Extract<M, { type: K }>
    /** Paths (`*` for any array index) whose field may be left out. */
    optional: string[]
  }
}

const CLIENT_EXAMPLES: Examples<ClientMessageType, ClientMessage> = {
  announce: {
    full: {
      type: 'announce',
      ref: 'a1',
      files: [
        {
          digest: DIGEST,
          name: 'holiday.mp4',
          mime: 'video/mp4',
          size: 40000,
          chunkSize: 16384,
          have: 'oA==', // chunks 0 and 2 of 3
        },
        { digest: OTHER_DIGEST, name: 'empty.txt', size: 0, chunkSize: 1048576, have: 'all' },
      ],
    },
    minimal: { type: 'announce', files: [] },
    optional: ['ref', 'files.*.mime'],
  },
  have: {
    full: { type: 'have', ref: 'h1', updates: [{ digest: DIGEST, chunks: [0, 2] }] },
    minimal: { type: 'have', updates: [{ digest: DIGEST, chunks: [4095] }] },
    optional: ['ref'],
  },
  leave: {
    full: { type: 'leave', ref: 'l1', digests: [DIGEST, OTHER_DIGEST] },
    minimal: { type: 'leave', digests: [DIGEST] },
    optional: ['ref'],
  },
  bye: { full: { type: 'bye' }, minimal: { type: 'bye' }, optional: [] },
  catalog: {
    full: { type: 'catalog', ref: 'c1', query: 'holiday', offset: 50, limit: 100, watch: true },
    minimal: { type: 'catalog' },
    optional: ['ref', 'query', 'offset', 'limit', 'watch'],
  },
  peers: {
    full: { type: 'peers', ref: 'p1', digest: DIGEST },
    minimal: { type: 'peers', digest: DIGEST },
    optional: ['ref'],
  },
  'put-manifest': {
    full: { type: 'put-manifest', ref: 'm1', digest: DIGEST, manifest: MANIFEST },
    minimal: { type: 'put-manifest', digest: DIGEST, manifest: { size: 0, chunkSize: 1048576, hashes: [] } },
    optional: ['ref'],
  },
  'get-manifest': {
    full: { type: 'get-manifest', ref: 'g1', digest: DIGEST },
    minimal: { type: 'get-manifest', digest: DIGEST },
    optional: ['ref'],
  },
  signal: {
    full: { type: 'signal', ref: 's1', to: PEER, data: { type: 'offer', sdp: 'v=0\r\n' } },
    minimal: { type: 'signal', to: PEER, data: {} },
    optional: ['ref'],
  },
}

const SERVER_EXAMPLES: Examples<ServerMessageType, ServerMessage> = {
  challenge: {
    full: { type: 'challenge', protocol: 2, nonce: 'ab'.repeat(32) },
    minimal: { type: 'challenge', protocol: 2, nonce: '00'.repeat(32) },
    optional: [],
  },
  welcome: {
    full: {
      type: 'welcome',
      protocol: 1,
      peerId: PEER,
      iceServers: [
        { urls: 'stun:tracker.example:3478' },
        { urls: ['turn:tracker.example:3478', 'turns:tracker.example:5349'], username: 'u', credential: 'c' },
      ],
      heartbeatMs: 30000,
      limits: { ...DEFAULT_TRACKER_LIMITS },
    },
    minimal: {
      type: 'welcome',
      protocol: 1,
      peerId: PEER,
      iceServers: [],
      heartbeatMs: 1,
      limits: { ...DEFAULT_TRACKER_LIMITS },
    },
    optional: ['iceServers.*.username', 'iceServers.*.credential'],
  },
  ack: { full: { type: 'ack', ref: 'a1' }, minimal: { type: 'ack', ref: 'x' }, optional: [] },
  error: {
    full: { type: 'error', code: 'FILE_CONFLICT', message: 'size differs', ref: 'a1', digest: DIGEST },
    minimal: { type: 'error', code: 'BAD_MESSAGE', message: '' },
    optional: ['ref', 'digest'],
  },
  catalog: {
    full: {
      type: 'catalog',
      ref: 'c1',
      revision: 7,
      total: 1,
      offset: 0,
      files: [
        {
          digest: DIGEST,
          names: ['holiday.mp4', 'Holiday (1).mp4'],
          mime: 'video/mp4',
          size: 40000,
          chunkSize: 16384,
          chunkCount: 3,
          seeders: 1,
          leechers: 2,
        },
      ],
    },
    minimal: { type: 'catalog', revision: 0, total: 0, offset: 0, files: [] },
    optional: ['ref', 'files.*.mime'],
  },
  'catalog-changed': {
    full: { type: 'catalog-changed', revision: 8 },
    minimal: { type: 'catalog-changed', revision: 0 },
    optional: [],
  },
  peers: {
    full: {
      type: 'peers',
      ref: 'p1',
      digest: DIGEST,
      chunkCount: 3,
      peers: [
        { peerId: PEER, have: 'all' },
        { peerId: OTHER_PEER, have: 'gA==' },
      ],
    },
    minimal: { type: 'peers', digest: DIGEST, chunkCount: 0, peers: [] },
    optional: ['ref'],
  },
  manifest: {
    full: { type: 'manifest', ref: 'g1', digest: DIGEST, manifest: MANIFEST },
    minimal: { type: 'manifest', digest: DIGEST, manifest: MANIFEST },
    optional: ['ref'],
  },
  signal: {
    full: { type: 'signal', from: PEER, data: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' } },
    minimal: { type: 'signal', from: PEER, data: {} },
    optional: [],
  },
  'ice-servers': {
    full: {
      type: 'ice-servers',
      iceServers: [
        { urls: 'stun:tracker.example:3478' },
        {
          urls: ['turn:tracker.example:3478', 'turns:tracker.example:5349'],
          username: '1700007200:AbCdEfGhIjKlMn_-',
          credential: 'Ux4UshmWu9C2/z7F5IFVFQ6xgrw=',
        },
      ],
    },
    minimal: { type: 'ice-servers', iceServers: [] },
    optional: ['iceServers.*.username', 'iceServers.*.credential'],
  },
}

const CLIENT_TYPES = Object.keys(ClientMessageSchemas) as ClientMessageType[]
const SERVER_TYPES = Object.keys(ServerMessageSchemas) as ServerMessageType[]

// ---------------------------------------------------------------- helpers

type Parser = (raw: unknown) => ParseResult<unknown>
type Path = (string | number)[]

const clone = <T>(value: T): T => structuredClone(value)

function expectFailure(result: ParseResult<unknown>, code: ErrorCode, ref?: string): void {
  expect(result.ok, JSON.stringify(result.ok ? result.message : null)).toBe(false)
  if (result.ok) return
  expect(result.error).toBeInstanceOf(SwarmError)
  expect(result.error.code).toBe(code)
  expect(result.ref).toBe(ref)
}

/** Parses both as text, the way it arrives on a socket, and as an already decoded value. */
function expectBad(parse: Parser, value: unknown, code: ErrorCode = 'BAD_MESSAGE'): void {
  const ref = validRef(value)
  expectFailure(parse(JSON.stringify(value)), code, ref)
  expectFailure(parse(value), code, ref)
}

function validRef(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const ref = (value as Record<string, unknown>).ref
  return typeof ref === 'string' && ref.length >= 1 && ref.length <= 64 ? ref : undefined
}

function getAt(root: unknown, path: Path): unknown {
  let node = root
  for (const key of path) node = (node as Record<string | number, unknown>)[key]
  return node
}

function withAt(root: unknown, path: Path, value: unknown): unknown {
  const copy = clone(root)
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>
  parent[path.at(-1)!] = value
  return copy
}

function withoutAt(root: unknown, path: Path): unknown {
  const copy = clone(root)
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>
  delete parent[path.at(-1)!]
  return copy
}

/** `files.*.mime` for `['files', 0, 'mime']`. */
const pattern = (path: Path) => path.map((key) => (typeof key === 'number' ? '*' : key)).join('.')

/** Every property path of plain objects inside `value`; opaque signal data is not looked into. */
function fieldPaths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return []
  const paths: Path[] = []
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value)
  for (const [key, child] of entries) {
    const path = [...prefix, key]
    if (!Array.isArray(value)) paths.push(path)
    if (!(prefix.length === 0 && key === 'data')) paths.push(...fieldPaths(child, path))
  }
  return paths
}

/** Every path to a plain object (the message itself included), outside opaque signal data. */
function objectPaths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return []
  const paths: Path[] = Array.isArray(value) ? [] : [prefix]
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value)
  for (const [key, child] of entries) {
    if (prefix.length === 0 && key === 'data') continue
    paths.push(...objectPaths(child, [...prefix, key]))
  }
  return paths
}

/** JSON values of another type than `value`, none of which its schema could accept. */
function wrongTypes(value: unknown): unknown[] {
  if (typeof value === 'string') return [42, null, true, [], {}]
  if (typeof value === 'number') return [String(value), null, true, [], {}]
  if (typeof value === 'boolean') return [String(value), 1, null, [], {}]
  if (Array.isArray(value)) return ['[]', 1, null, true, {}]
  return ['{}', 1, null, true, []]
}

const refOf = (message: object) => ('ref' in message ? (message.ref as string | undefined) : undefined)

// ---------------------------------------------------------------- example-based tests

describe.each([
  {
    side: 'client → server',
    parse: parseClientMessage as Parser,
    encode: (m: unknown) => encodeClientMessage(m as ClientMessage),
    examples: CLIENT_EXAMPLES as Examples<string, { type: string }>,
    types: CLIENT_TYPES as string[],
  },
  {
    side: 'server → client',
    parse: parseServerMessage as Parser,
    encode: (m: unknown) => encodeServerMessage(m as ServerMessage),
    examples: SERVER_EXAMPLES as Examples<string, { type: string }>,
    types: SERVER_TYPES as string[],
  },
])('$side messages', ({ parse, encode, examples, types }) => {
  it('has an example of every message type', () => {
    expect(Object.keys(examples).sort()).toEqual([...types].sort())
  })

  describe.each(types)('%s', (type) => {
    const { full, minimal, optional } = examples[type]!

    it('round-trips with every field, optional ones included', () => {
      const result = parse(encode(full))
      expect(result).toEqual({ ok: true, message: full })
    })

    it('round-trips with only its required fields', () => {
      expect(parse(encode(minimal))).toEqual({ ok: true, message: minimal })
    })

    it('accepts an already decoded value as well as text', () => {
      expect(parse(clone(full))).toEqual({ ok: true, message: full })
    })

    it('accepts leaving out each optional field', () => {
      for (const path of fieldPaths(full).filter((p) => optional.includes(pattern(p)))) {
        const result = parse(JSON.stringify(withoutAt(full, path)))
        expect(result.ok, pattern(path)).toBe(true)
      }
    })

    it('rejects a missing required field', () => {
      const required = fieldPaths(full).filter((p) => !optional.includes(pattern(p)))
      expect(required.map(pattern)).toContain('type')
      for (const path of required) {
        const result = parse(JSON.stringify(withoutAt(full, path)))
        expectFailure(result, 'BAD_MESSAGE', pattern(path) === 'ref' ? undefined : refOf(full))
      }
    })

    it('rejects a field of the wrong type, at any depth', () => {
      for (const path of fieldPaths(full)) {
        for (const wrong of wrongTypes(getAt(full, path))) {
          const bad = withAt(full, path, wrong)
          const ref = path.length === 1 && path[0] === 'ref' ? undefined : refOf(full)
          const result = parse(JSON.stringify(bad))
          expect(result.ok, `${pattern(path)} = ${JSON.stringify(wrong)}`).toBe(false)
          expectFailure(result, 'BAD_MESSAGE', ref)
        }
      }
    })

    it('rejects an unknown field in any object (schemas are strict)', () => {
      for (const path of objectPaths(full)) {
        const bad = clone(full)
        ;(getAt(bad, path) as Record<string, unknown>).unexpected = 1
        expect(parse(JSON.stringify(bad)).ok, `${pattern(path)}.unexpected`).toBe(false)
        expectBad(parse, bad)
      }
    })

    it('rejects an explicit null for an optional field', () => {
      for (const path of fieldPaths(full).filter((p) => optional.includes(pattern(p)))) {
        const result = parse(JSON.stringify(withAt(full, path, null)))
        expect(result.ok, pattern(path)).toBe(false)
      }
    })
  })

  it('rejects text that is not JSON', () => {
    for (const text of ['', ' ', '{', 'undefined', "{'type':'bye'}", '{"type":"bye",}', 'NaN', 'bye']) {
      expectFailure(parse(text), 'BAD_MESSAGE')
    }
  })

  it('rejects JSON that is not an object', () => {
    for (const text of [
      '[]',
      `[${encode(examples[types[0]!]!.full)}]`,
      'null',
      '42',
      '"bye"',
      'true',
      '-0',
    ]) {
      expectFailure(parse(text), 'BAD_MESSAGE')
    }
    for (const value of [null, undefined, 42, true, [], [{ type: 'bye' }], Symbol('x'), () => 1, 10n]) {
      expectFailure(parse(value), 'BAD_MESSAGE')
    }
  })

  it('rejects an object without a string type, keeping its ref', () => {
    expectFailure(parse('{}'), 'BAD_MESSAGE')
    expectFailure(parse('{"ref":"r1"}'), 'BAD_MESSAGE', 'r1')
    for (const type of [null, 1, true, [], {}, ['bye']]) {
      expectFailure(parse(JSON.stringify({ type, ref: 'r2' })), 'BAD_MESSAGE', 'r2')
    }
  })

  it('answers an unknown type with UNKNOWN_TYPE, keeping its ref', () => {
    for (const type of [
      '',
      'BYE',
      'hello',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'x'.repeat(5000),
    ]) {
      expectFailure(parse(JSON.stringify({ type })), 'UNKNOWN_TYPE')
      expectFailure(parse(JSON.stringify({ type, ref: 'r3' })), 'UNKNOWN_TYPE', 'r3')
    }
  })

  it('keeps the ref of an invalid message only when the ref itself is valid', () => {
    const broken = { type: types.find((t) => t !== 'bye')!, ref: 'keep-me' }
    expectFailure(parse(JSON.stringify(broken)), 'BAD_MESSAGE', 'keep-me')
    expectFailure(parse(JSON.stringify({ ...broken, ref: 'x'.repeat(64) })), 'BAD_MESSAGE', 'x'.repeat(64))
    for (const ref of ['', 'x'.repeat(65), 7, null, ['r'], { r: 1 }]) {
      expectFailure(parse(JSON.stringify({ ...broken, ref })), 'BAD_MESSAGE', undefined)
    }
  })

  it('keeps the error message short even when the input is huge', () => {
    const result = parse(JSON.stringify({ type: 'x'.repeat(100_000) }))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error.message.length).toBeLessThan(100)
  })
})

describe('parseClientMessage rejects', () => {
  const parse = parseClientMessage as Parser
  const file = CLIENT_EXAMPLES.announce.full.files[0]!
  const announcing = (change: Record<string, unknown>) => ({
    type: 'announce',
    ref: 'a1',
    files: [{ ...file, ...change }],
  })

  it('server message types, and the ref a bye cannot carry', () => {
    for (const type of SERVER_TYPES.filter((t) => !(t in ClientMessageSchemas))) {
      expectBad(parse, SERVER_EXAMPLES[type].full, 'UNKNOWN_TYPE')
    }
    expectBad(parse, { type: 'bye', ref: 'b1' })
  })

  it('malformed digests wherever a digest goes', () => {
    const bad = [
      DIGEST.toUpperCase(),
      DIGEST.slice(1),
      `${DIGEST}0`,
      `${DIGEST.slice(1)}g`,
      '',
      ` ${DIGEST.slice(1)}`,
    ]
    for (const digest of bad) {
      expectBad(parse, announcing({ digest }))
      expectBad(parse, { type: 'have', ref: 'h', updates: [{ digest, chunks: [0] }] })
      expectBad(parse, { type: 'leave', ref: 'l', digests: [DIGEST, digest] })
      expectBad(parse, { type: 'peers', ref: 'p', digest })
      expectBad(parse, { type: 'get-manifest', ref: 'g', digest })
      expectBad(parse, { type: 'put-manifest', ref: 'm', digest, manifest: MANIFEST })
      expectBad(parse, {
        type: 'put-manifest',
        ref: 'm',
        digest: DIGEST,
        manifest: { ...MANIFEST, hashes: [HASH, HASH, digest] },
      })
    }
  })

  it('malformed peer ids as a signal target', () => {
    for (const to of [
      '',
      PEER.slice(1),
      `${PEER}A`,
      'AbCdEfGhIjKlMn+/',
      'AbCdEfGhIjKlMn==',
      'AbCdEfGhIjKlMn é',
      `${PEER}\n`,
    ]) {
      expectBad(parse, { type: 'signal', ref: 's', to, data: {} })
    }
  })

  it('signal data that is not a JSON object', () => {
    for (const data of [[], 'offer', 1, null, [{ sdp: 'x' }]])
      expectBad(parse, { type: 'signal', ref: 's', to: PEER, data })
  })

  it('announced files with names, types, sizes or chunk sizes out of bounds', () => {
    const cases: Record<string, unknown>[] = [
      { name: '' },
      { name: 'x'.repeat(MAX_NAME_LENGTH + 1) },
      { name: 'a\u0000b' },
      { name: 'line\nbreak' },
      { name: 'tab\there' },
      { name: 'del\u007f' },
      { mime: 'x'.repeat(MAX_MIME_LENGTH + 1) },
      { mime: 'text/plain; charset=utf-8' },
      { mime: 'vidéo/mp4' },
      { size: -1 },
      { size: 1.5 },
      { size: MAX_FILE_BYTES + 1 },
      { size: 2 ** 53 },
      { chunkSize: 24576 },
      { chunkSize: 8192 },
      { chunkSize: MAX_CHUNK_BYTES * 2 },
      { chunkSize: 0 },
      { chunkSize: -16384 },
      { size: MAX_CHUNK_COUNT * 16384 + 1, chunkSize: 16384 },
      { have: 'all ' },
      { have: 'ALL!' },
      { have: 'not base64!' },
      { have: 'A'.repeat(685) },
      { have: 'gA===' },
      { have: '=gA=' },
    ]
    for (const change of cases) expectBad(parse, announcing(change))
  })

  it('unlisted files that carry a name, a type or collection info, and listed ones without a name', () => {
    const cases: Record<string, unknown>[] = [
      { unlisted: true },
      { unlisted: true, name: undefined, mime: 'text/plain' },
      { unlisted: true, name: undefined, collection: { files: 2, bytes: 10 } },
      { unlisted: false, name: undefined },
      { name: undefined },
      { collection: { files: 0, bytes: 0 } },
      { collection: { files: 10_001, bytes: 0 } },
      { collection: { files: 1, bytes: -1 } },
      { collection: { files: 1, bytes: 0, names: [] } },
      { sealed: true },
      { unlisted: true, name: undefined, sealed: false },
    ]
    for (const change of cases) expectBad(parse, announcing(change))
  })

  it('announced files at the edges of their bounds are accepted', () => {
    const cases: Record<string, unknown>[] = [
      { name: 'x'.repeat(MAX_NAME_LENGTH) },
      { name: '<script>alert(1)</script> "quoted" ✓ 日本' },
      { mime: 'x'.repeat(MAX_MIME_LENGTH) },
      { mime: '' },
      { size: 0, have: '' },
      { size: MAX_FILE_BYTES, chunkSize: MAX_CHUNK_BYTES, have: 'all' },
      { size: MAX_CHUNK_COUNT * 16384, chunkSize: 16384, have: 'A'.repeat(684) },
      { name: undefined, mime: undefined, unlisted: true },
      { name: undefined, mime: undefined, unlisted: true, sealed: true },
      { collection: { files: 10_000, bytes: 0 } },
    ]
    for (const change of cases)
      expect(parse(JSON.stringify(announcing(change))).ok, JSON.stringify(change)).toBe(true)
  })

  it('chunk reports with indices out of range, or empty', () => {
    const reporting = (update: Record<string, unknown>) => ({
      type: 'have',
      ref: 'h',
      updates: [{ digest: DIGEST, chunks: [0], ...update }],
    })
    for (const chunks of [
      [-1],
      [MAX_CHUNK_COUNT],
      [1.5],
      [],
      Array.from({ length: MAX_CHUNK_COUNT + 1 }, () => 0),
    ]) {
      expectBad(parse, reporting({ chunks }))
    }
    expectBad(parse, { type: 'have', ref: 'h', updates: [] })
    expect(parse(JSON.stringify(reporting({ chunks: [0, MAX_CHUNK_COUNT - 1, 0] }))).ok).toBe(true)
  })

  it('leaving nothing', () => {
    expectBad(parse, { type: 'leave', ref: 'l', digests: [] })
  })

  it('catalog requests with out-of-range paging or an overlong query', () => {
    for (const change of [
      { offset: -1 },
      { offset: 0.5 },
      { offset: 2 ** 53 },
      { limit: 0 },
      { limit: -5 },
      { limit: 2.5 },
      { query: 'q'.repeat(MAX_QUERY_LENGTH + 1) },
      { watch: 'true' },
      { watch: 1 },
    ]) {
      expectBad(parse, { type: 'catalog', ref: 'c', ...change })
    }
    expect(
      parse(JSON.stringify({ type: 'catalog', query: 'q'.repeat(MAX_QUERY_LENGTH), offset: 0, limit: 1 })).ok,
    ).toBe(true)
  })

  it('manifests that are not valid manifests', () => {
    for (const manifest of [
      { ...MANIFEST, hashes: [HASH, HASH] },
      { ...MANIFEST, chunkSize: 24576 },
      { ...MANIFEST, hashes: [HASH, HASH, HASH.toUpperCase()] },
      { ...MANIFEST, size: -1 },
      { ...MANIFEST, name: 'x' },
      { size: 40000, chunkSize: 16384 },
    ]) {
      expectBad(parse, { type: 'put-manifest', ref: 'm', digest: DIGEST, manifest })
    }
  })
})

describe('parseServerMessage rejects', () => {
  const parse = parseServerMessage as Parser

  it('client message types', () => {
    for (const type of CLIENT_TYPES.filter((t) => !(t in ServerMessageSchemas))) {
      expectBad(parse, CLIENT_EXAMPLES[type].full, 'UNKNOWN_TYPE')
    }
  })

  it('a welcome with bad limits, heartbeat, ICE servers or peer id', () => {
    const welcome = SERVER_EXAMPLES.welcome.full
    const limits = welcome.limits
    const { maxSignalBytes: _, ...missingOne } = limits
    for (const change of [
      { protocol: 1.5 },
      { heartbeatMs: 0 },
      { heartbeatMs: -1 },
      { heartbeatMs: 0.5 },
      { peerId: 'short' },
      { peerId: 'AbCdEfGhIjKlMn+/' },
      { limits: missingOne },
      { limits: { ...limits, extra: 1 } },
      { limits: { ...limits, messagesPerSecond: 0 } },
      { limits: { ...limits, maxMessageBytes: 0 } },
      { limits: { ...limits, messageBurst: 1.5 } },
      { limits: { ...limits, connectionsPerAddress: -1 } },
      { iceServers: [{ urls: 'http://tracker.example' }] },
      { iceServers: [{ urls: [] }] },
      { iceServers: [{ urls: ['stun:a', 'ftp:b'] }] },
      { iceServers: [{ urls: 'stun:a', username: 1 }] },
      { iceServers: [{ urls: 'stun:a', credentialType: 'password' }] },
      { iceServers: {} },
    ]) {
      expectBad(parse, { ...welcome, ...change })
    }
    expect(parse(JSON.stringify({ ...welcome, limits: { ...limits, messagesPerSecond: 0.5 } })).ok).toBe(true)
  })

  it('an ack without a valid ref', () => {
    for (const ref of ['', 'x'.repeat(65), 1]) expectBad(parse, { type: 'ack', ref })
    expectBad(parse, { type: 'ack' })
  })

  it('an error with an unknown code, an overlong message or a bad digest', () => {
    expectBad(parse, { type: 'error', code: 'NOPE', message: '' })
    expectBad(parse, { type: 'error', code: 'bad_message', message: '' })
    expectBad(parse, { type: 'error', code: 'INTERNAL', message: 'x'.repeat(1001) })
    expectBad(parse, { type: 'error', code: 'INTERNAL', message: 'x', digest: DIGEST.toUpperCase() })
    expect(parse(JSON.stringify({ type: 'error', code: 'INTERNAL', message: 'x'.repeat(1000) })).ok).toBe(
      true,
    )
  })

  it('accepts an error with every code', () => {
    for (const code of ERROR_CODES) {
      const error = { type: 'error', code, message: code, ref: 'r', digest: DIGEST }
      expect(parse(JSON.stringify(error))).toEqual({ ok: true, message: error })
    }
  })

  it('catalog pages with entries out of bounds', () => {
    const page = SERVER_EXAMPLES.catalog.full
    const entry = page.files[0]!
    for (const change of [
      { names: [] },
      { names: Array.from({ length: MAX_NAMES_PER_FILE + 1 }, (_, i) => `n${i}`) },
      { names: ['ok', ''] },
      { names: ['a\nb'] },
      { chunkCount: MAX_CHUNK_COUNT + 1 },
      { chunkCount: -1 },
      { seeders: -1 },
      { leechers: 0.5 },
      { size: MAX_FILE_BYTES + 1 },
      { chunkSize: 1000 },
      { digest: DIGEST.toUpperCase() },
    ]) {
      expectBad(parse, { ...page, files: [{ ...entry, ...change }] })
    }
    for (const change of [{ revision: -1 }, { total: -1 }, { offset: -1 }, { offset: 0.5 }]) {
      expectBad(parse, { ...page, ...change })
    }
  })

  it('catalog-changed notices with a bad revision or a ref', () => {
    for (const revision of [-1, 0.5, '1']) expectBad(parse, { type: 'catalog-changed', revision })
    expectBad(parse, { type: 'catalog-changed', revision: 1, ref: 'r' })
  })

  it('peer lists with bad peer ids, chunk sets or chunk counts', () => {
    const reply = SERVER_EXAMPLES.peers.full
    for (const change of [
      { chunkCount: MAX_CHUNK_COUNT + 1 },
      { chunkCount: -1 },
      { peers: [{ peerId: 'short', have: 'all' }] },
      { peers: [{ peerId: PEER, have: 'some?' }] },
      { peers: [{ peerId: PEER, have: 1 }] },
      { peers: [{ peerId: PEER }] },
      { peers: [{ peerId: PEER, have: 'all', address: '10.0.0.1' }] },
    ]) {
      expectBad(parse, { ...reply, ...change })
    }
  })

  it('ice-servers with a malformed ICE server, a ref, or the rest of a welcome', () => {
    const refresh = SERVER_EXAMPLES['ice-servers'].full
    for (const iceServers of [
      [{ urls: 'http://tracker.example' }],
      [{ urls: [] }],
      [{ urls: 'turn:a', username: 'u', credential: 7 }],
      [{ urls: 'turn:a', credentialType: 'password' }],
      { urls: 'turn:a' },
      null,
    ]) {
      expectBad(parse, { ...refresh, iceServers })
    }
    expectBad(parse, { type: 'ice-servers' })
    expectBad(parse, { ...refresh, ref: 'r1' })
    expectBad(parse, { ...refresh, peerId: PEER })
  })

  it('a signal without a valid sender, or with a target', () => {
    expectBad(parse, { type: 'signal', from: 'nope', data: {} })
    expectBad(parse, { type: 'signal', data: {} })
    expectBad(parse, { type: 'signal', from: PEER, to: OTHER_PEER, data: {} })
    expectBad(parse, { type: 'signal', from: PEER, data: [] })
  })
})

// ---------------------------------------------------------------- arbitraries

// biome-ignore lint/suspicious/noControlCharactersInRegex: names may not hold control characters
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/

const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex)
const peerIdArb = fc
  .uint8Array({ minLength: 12, maxLength: 12 })
  .map((b) => Buffer.from(b).toString('base64url'))
const refArb = fc.string({ minLength: 1, maxLength: 64 })
const nameArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((name) => name.length <= MAX_NAME_LENGTH && !CONTROL_CHARACTERS.test(name))
const mimeArb = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: MAX_MIME_LENGTH,
})
/** A file's size and chunk size, anywhere in range, with the chunk count they give. */
const shapeArb = fc
  .record({
    log2: fc.integer({ min: 14, max: 26 }),
    count: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: MAX_CHUNK_COUNT })),
    last: fc.nat(),
  })
  .map(({ log2, count, last }) => {
    const chunkSize = 2 ** log2
    const size = count === 0 ? 0 : (count - 1) * chunkSize + 1 + (last % chunkSize)
    return { size, chunkSize, count }
  })
const bitfieldArb = (count: number) =>
  fc.uint8Array({ minLength: Math.ceil(count / 8), maxLength: Math.ceil(count / 8) }).map((bytes) => {
    if (count % 8 !== 0) bytes[bytes.length - 1]! &= 0xff << (8 - (count % 8))
    return toBase64(bytes)
  })
const haveArb = (count: number) => fc.oneof(fc.constant('all' as const), bitfieldArb(count))
const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({ log2: fc.integer({ min: 14, max: 26 }), count: fc.integer({ min: 0, max: 6 }), last: fc.nat() })
  .chain(({ log2, count, last }) => {
    const chunkSize = 2 ** log2
    const size = count === 0 ? 0 : (count - 1) * chunkSize + 1 + (last % chunkSize)
    return fc
      .array(digestArb, { minLength: count, maxLength: count })
      .map((hashes) => ({ size, chunkSize, hashes }))
  })
/** Signal data is an opaque JSON object; zod drops an own `__proto__` key of a record by design. */
const signalDataArb = fc.dictionary(
  fc.string().filter((key) => key !== '__proto__'),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 5 },
)

const collectionArb = fc.record({
  files: fc.integer({ min: 1, max: 10_000 }),
  bytes: fc.integer({ min: 0, max: 2 ** 50 }),
})
const listedFileArb = shapeArb.chain(({ size, chunkSize, count }) =>
  fc.record(
    {
      digest: digestArb,
      name: nameArb,
      mime: mimeArb,
      size: fc.constant(size),
      chunkSize: fc.constant(chunkSize),
      have: haveArb(count),
      collection: collectionArb,
    },
    { requiredKeys: ['digest', 'name', 'size', 'chunkSize', 'have'] },
  ),
)
const unlistedFileArb = shapeArb.chain(({ size, chunkSize, count }) =>
  fc.record(
    {
      digest: digestArb,
      size: fc.constant(size),
      chunkSize: fc.constant(chunkSize),
      have: haveArb(count),
      unlisted: fc.constant(true as const),
      sealed: fc.constant(true as const),
    },
    { requiredKeys: ['digest', 'size', 'chunkSize', 'have', 'unlisted'] },
  ),
)
const announcedFileArb = fc.oneof(listedFileArb, unlistedFileArb)

const clientArbs: { [K in ClientMessageType]: fc.Arbitrary<ClientMessageOf<K>> } = {
  announce: fc.record(
    { type: fc.constant('announce'), ref: refArb, files: fc.array(announcedFileArb, { maxLength: 4 }) },
    { requiredKeys: ['type', 'files'] },
  ),
  have: fc.record(
    {
      type: fc.constant('have'),
      ref: refArb,
      updates: fc.array(
        fc.record({
          digest: digestArb,
          chunks: fc.array(fc.nat(MAX_CHUNK_COUNT - 1), { minLength: 1, maxLength: 20 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    },
    { requiredKeys: ['type', 'updates'] },
  ),
  leave: fc.record(
    { type: fc.constant('leave'), ref: refArb, digests: fc.array(digestArb, { minLength: 1, maxLength: 4 }) },
    { requiredKeys: ['type', 'digests'] },
  ),
  bye: fc.constant({ type: 'bye' }),
  catalog: fc.record(
    {
      type: fc.constant('catalog'),
      ref: refArb,
      query: fc.string({ maxLength: MAX_QUERY_LENGTH }),
      offset: fc.nat(),
      limit: fc.integer({ min: 1 }),
      watch: fc.boolean(),
    },
    { requiredKeys: ['type'] },
  ),
  peers: fc.record(
    { type: fc.constant('peers'), ref: refArb, digest: digestArb },
    { requiredKeys: ['type', 'digest'] },
  ),
  'put-manifest': fc.record(
    { type: fc.constant('put-manifest'), ref: refArb, digest: digestArb, manifest: manifestArb },
    { requiredKeys: ['type', 'digest', 'manifest'] },
  ),
  'get-manifest': fc.record(
    { type: fc.constant('get-manifest'), ref: refArb, digest: digestArb },
    { requiredKeys: ['type', 'digest'] },
  ),
  signal: fc.record(
    { type: fc.constant('signal'), ref: refArb, to: peerIdArb, data: signalDataArb },
    { requiredKeys: ['type', 'to', 'data'] },
  ),
}

const stunUrlArb = fc
  .constantFrom('stun:', 'stuns:', 'turn:', 'turns:')
  .chain((scheme) => fc.string({ maxLength: 30 }).map((rest) => `${scheme}${rest}`))
const positiveIntArb = fc.integer({ min: 1, max: 2 ** 31 })
const catalogEntryArb = shapeArb.chain(({ size, chunkSize, count }) =>
  fc.record(
    {
      digest: digestArb,
      names: fc.array(nameArb, { minLength: 1, maxLength: MAX_NAMES_PER_FILE }),
      mime: mimeArb,
      size: fc.constant(size),
      chunkSize: fc.constant(chunkSize),
      chunkCount: fc.constant(count),
      seeders: fc.nat(),
      leechers: fc.nat(),
    },
    { requiredKeys: ['digest', 'names', 'size', 'chunkSize', 'chunkCount', 'seeders', 'leechers'] },
  ),
)

const iceServersArb = fc.array(
  fc.record(
    {
      urls: fc.oneof(stunUrlArb, fc.array(stunUrlArb, { minLength: 1, maxLength: 3 })),
      username: fc.string(),
      credential: fc.string(),
    },
    { requiredKeys: ['urls'] },
  ),
  { maxLength: 3 },
)

const serverArbs: { [K in ServerMessageType]: fc.Arbitrary<ServerMessageOf<K>> } = {
  challenge: fc.record({
    type: fc.constant('challenge'),
    protocol: fc.integer(),
    nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex')),
  }),
  welcome: fc.record({
    type: fc.constant('welcome'),
    protocol: fc.integer(),
    peerId: peerIdArb,
    iceServers: iceServersArb,
    heartbeatMs: positiveIntArb,
    limits: fc.record({
      maxMessageBytes: positiveIntArb,
      messagesPerSecond: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
      messageBurst: positiveIntArb,
      filesPerAnnounce: positiveIntArb,
      filesPerPeer: positiveIntArb,
      catalogPageSize: positiveIntArb,
      peersPerReply: positiveIntArb,
      maxSignalBytes: positiveIntArb,
      connectionsPerAddress: positiveIntArb,
    }),
  }),
  ack: fc.record({ type: fc.constant('ack'), ref: refArb }),
  error: fc.record(
    {
      type: fc.constant('error'),
      code: fc.constantFrom(...ERROR_CODES),
      message: fc.string({ maxLength: 300 }),
      ref: refArb,
      digest: digestArb,
    },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  catalog: fc.record(
    {
      type: fc.constant('catalog'),
      ref: refArb,
      revision: fc.nat(),
      total: fc.nat(),
      offset: fc.nat(),
      files: fc.array(catalogEntryArb, { maxLength: 4 }),
    },
    { requiredKeys: ['type', 'revision', 'total', 'offset', 'files'] },
  ),
  'catalog-changed': fc.record({ type: fc.constant('catalog-changed'), revision: fc.nat() }),
  peers: shapeArb.chain(({ count }) =>
    fc.record(
      {
        type: fc.constant('peers'),
        ref: refArb,
        digest: digestArb,
        chunkCount: fc.constant(count),
        peers: fc.array(fc.record({ peerId: peerIdArb, have: haveArb(count) }), { maxLength: 5 }),
      },
      { requiredKeys: ['type', 'digest', 'chunkCount', 'peers'] },
    ),
  ),
  manifest: fc.record(
    { type: fc.constant('manifest'), ref: refArb, digest: digestArb, manifest: manifestArb },
    { requiredKeys: ['type', 'digest', 'manifest'] },
  ),
  signal: fc.record({ type: fc.constant('signal'), from: peerIdArb, data: signalDataArb }),
  'ice-servers': fc.record({ type: fc.constant('ice-servers'), iceServers: iceServersArb }),
}

const anyClientArb = fc.oneof(...Object.values(clientArbs)) as fc.Arbitrary<ClientMessage>
const anyServerArb = fc.oneof(...Object.values(serverArbs)) as fc.Arbitrary<ServerMessage>

type Mutation =
  | { op: 'delete'; pick: number; key: number }
  | { op: 'replace'; pick: number; key: number; value: unknown }
  | { op: 'add'; pick: number; name: string; value: unknown }

/** Interesting replacement values: any JSON, and the edges schemas care about. */
const replacementArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    -1,
    0,
    0.5,
    1,
    2 ** 53,
    MAX_CHUNK_COUNT,
    MAX_FILE_BYTES + 1,
    '',
    'all',
    DIGEST,
    PEER,
    [],
    {},
    null,
  ),
)
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat(), key: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), key: fc.nat(), value: replacementArb }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    name: fc.oneof(fc.string(), fc.constantFrom('ref', 'type', 'digest', 'mime', 'extra', 'to', 'from')),
    value: replacementArb,
  }),
)

/** All objects and arrays inside `value`, signal data included, with the message itself. */
function containers(value: unknown): (Record<string, unknown> | unknown[])[] {
  if (typeof value !== 'object' || value === null) return []
  const children = Array.isArray(value) ? value : Object.values(value)
  return [value as Record<string, unknown> | unknown[], ...children.flatMap(containers)]
}

function mutate(message: object, mutations: Mutation[]): unknown {
  const copy = clone(message)
  for (const mutation of mutations) {
    const all = containers(copy)
    const target = all[mutation.pick % all.length]!
    if (Array.isArray(target)) {
      const index = target.length === 0 ? 0 : ('key' in mutation ? mutation.key : 0) % target.length
      if (mutation.op === 'delete') target.splice(index, 1)
      else if (mutation.op === 'replace') target[index] = clone(mutation.value)
      else target.push(clone(mutation.value))
    } else {
      const keys = Object.keys(target)
      const key = keys.length === 0 ? 'type' : keys[('key' in mutation ? mutation.key : 0) % keys.length]!
      if (mutation.op === 'delete') delete target[key]
      else if (mutation.op === 'replace') target[key] = clone(mutation.value)
      else
        Object.defineProperty(target, mutation.name, {
          value: clone(mutation.value),
          enumerable: true,
          writable: true,
          configurable: true,
        })
    }
  }
  return copy
}

// ---------------------------------------------------------------- property tests

const ERROR_CODE_SET = new Set<string>(ERROR_CODES)

describe.each([
  {
    name: 'parseClientMessage',
    parse: parseClientMessage as Parser,
    schemas: ClientMessageSchemas as Record<string, { safeParse(v: unknown): { success: boolean } }>,
    valid: anyClientArb as fc.Arbitrary<{ type: string }>,
    encode: (m: unknown) => encodeClientMessage(m as ClientMessage),
  },
  {
    name: 'parseServerMessage',
    parse: parseServerMessage as Parser,
    schemas: ServerMessageSchemas as Record<string, { safeParse(v: unknown): { success: boolean } }>,
    valid: anyServerArb as fc.Arbitrary<{ type: string }>,
    encode: (m: unknown) => encodeServerMessage(m as ServerMessage),
  },
])('$name (properties)', ({ parse, schemas, valid, encode }) => {
  const types = new Set(Object.keys(schemas))

  /** The parser's contract: never throws; a known message that re-validates, or a typed error. */
  function checkContract(input: unknown): ParseResult<unknown> {
    const result = parse(input)
    if (result.ok) {
      const message = result.message as { type: string }
      expect(types.has(message.type)).toBe(true)
      expect(schemas[message.type]!.safeParse(message).success).toBe(true)
      const again = parse(encode(message))
      expect(again.ok).toBe(true)
      if (again.ok) expect(encode(again.message)).toBe(encode(message))
    } else {
      expect(result.error).toBeInstanceOf(SwarmError)
      expect(ERROR_CODE_SET.has(result.error.code)).toBe(true)
      expect(['BAD_MESSAGE', 'UNKNOWN_TYPE']).toContain(result.error.code)
      if (result.ref !== undefined) {
        expect(typeof result.ref).toBe('string')
        expect(result.ref.length).toBeGreaterThanOrEqual(1)
        expect(result.ref.length).toBeLessThanOrEqual(64)
      }
    }
    return result
  }

  it('round-trips every valid message its arbitrary generates', () => {
    fc.assert(
      fc.property(valid, (message) => {
        const result = parse(encode(message))
        expect(result.ok).toBe(true)
        if (result.ok) expect(encode(result.message)).toBe(encode(message))
      }),
      { numRuns: 1500 },
    )
  })

  it('never throws on arbitrary strings, and answers with a known type or a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (text) => {
        checkContract(text)
      }),
      { numRuns: 1500 },
    )
  })

  it('never throws on arbitrary JSON values or JavaScript values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (value) => {
        checkContract(value)
        if (value !== undefined) checkContract(JSON.stringify(value) ?? 'undefined')
      }),
      { numRuns: 1500 },
    )
  })

  it('never throws on objects of a known type with arbitrary fields', () => {
    const nearMiss = fc
      .tuple(
        fc.constantFrom(...types),
        fc.dictionary(
          fc.oneof(
            fc.string(),
            fc.constantFrom('ref', 'digest', 'files', 'to', 'from', 'data', 'manifest', 'revision'),
          ),
          fc.jsonValue({ maxDepth: 2 }),
          { maxKeys: 5 },
        ),
      )
      .map(([type, fields]) => ({ ...fields, type }))
    fc.assert(
      fc.property(nearMiss, (value) => {
        checkContract(JSON.stringify(value))
      }),
      { numRuns: 1500 },
    )
  })

  it('never throws on mutated valid messages, and what it accepts re-validates', () => {
    fc.assert(
      fc.property(
        valid,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (message, mutations, asText) => {
          const mutated = mutate(message, mutations)
          const result = checkContract(asText ? JSON.stringify(mutated) : mutated)
          if (!result.ok && validRef(mutated) !== undefined && result.error.code !== 'BAD_MESSAGE') {
            expect(result.error.code).toBe('UNKNOWN_TYPE')
          }
          if (!result.ok && validRef(mutated) !== undefined) expect(result.ref).toBe(validRef(mutated))
        },
      ),
      { numRuns: 2000 },
    )
  })
})
