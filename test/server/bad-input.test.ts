/**
 * The live tracker against generated malformed input (SPEC §7, "bad input"): every malformed message is
 * answered by a typed error or a closed connection with a documented code, and the server neither crashes
 * nor logs an error.
 */
import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Bitfield } from '../../shared/bitfield.js'
import { CLOSE_CODES, ERROR_CODES } from '../../shared/errors.js'
import { DEFAULT_TRACKER_LIMITS, MAX_QUERY_LENGTH } from '../../shared/limits.js'
import { chunkCountOf } from '../../shared/manifest.js'
import { FileNameSchema, parseClientMessage, type ServerMessage } from '../../shared/tracker-protocol.js'
import { createLogger } from '../../signal/logger.js'
import type { RunningServer } from '../../signal/server.js'
import { bothRegistries, REGISTRY_KINDS } from '../support/redis.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

/** Fixed, so that a failure here is the same failure on every run and every machine. */
const SEED = 0x5eed_2026
const BARRAGE_MESSAGES = 3000
const BARRAGE_CONNECTIONS = 3
const MAX_MESSAGE_BYTES = DEFAULT_TRACKER_LIMITS.maxMessageBytes
/** Rate limits out of the way: this file is about the content of messages, not their number. */
const UNLIMITED = { messagesPerSecond: 1_000_000, messageBurst: 1_000_000 }
/**
 * Close codes a client may see (docs/PROTOCOL.md, "Close codes"): ours, and those of the WebSocket layer
 * itself, 1007 for text that is not UTF-8 and 1002 for a protocol violation.
 */
const DOCUMENTED_CLOSE_CODES = new Set<number>([...Object.values(CLOSE_CODES), 1007, 1002])
/** Frames sent before waiting for their answers: bounds what is sent again after a connection closes. */
const WINDOW = 250
/** Stands for a message's unique ref until the message is numbered; mutations may remove or alter it. */
const REF = '\u0000ref\u0000'
/** Ref prefix of the catalog request sent after each message, to tell which replies belong to which message. */
const MARK = '~mark~'

const servers: RunningServer[] = []
const clients: TestClient[] = []

/** The suite runs against both registries (test/support/redis.ts). */
const registries = bothRegistries()

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

/** A server with rate limits lifted, logging everything into `lines`. */
async function serve() {
  const lines: string[] = []
  const server = await startTestServer({
    ...registries.options(),
    limits: UNLIMITED,
    logger: createLogger('debug', (line) => lines.push(line)),
  })
  servers.push(server)
  return Object.assign(server, { errorLines: () => lines.filter((l) => JSON.parse(l).level === 'error') })
}

async function connect(url: string) {
  const client = await TestClient.connect(url)
  clients.push(client)
  return client
}

// ---------------------------------------------------------------- valid messages of every client type

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
const digest = hex(64)
const peerId = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'),
  minLength: 16,
  maxLength: 16,
})
const name = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((n) => FileNameSchema.safeParse(n).success)
const shape = fc
  .record({ log2: fc.integer({ min: 14, max: 26 }), count: fc.nat(6), last: fc.nat() })
  .map(({ log2, count, last }) => {
    const chunkSize = 2 ** log2
    return { size: count === 0 ? 0 : (count - 1) * chunkSize + 1 + (last % chunkSize), chunkSize }
  })
const announcedFile = fc
  .record({
    digest,
    name,
    mime: fc.option(fc.constantFrom('text/plain', 'image/png', 'application/octet-stream'), {
      nil: undefined,
    }),
    shape,
    all: fc.boolean(),
    bits: fc.array(fc.boolean(), { maxLength: 6 }),
  })
  .map(({ digest, name, mime, shape, all, bits }) => {
    const field = new Bitfield(chunkCountOf(shape.size, shape.chunkSize))
    for (let i = 0; i < field.length; i++) if (bits[i]) field.set(i)
    const file: Json = { digest, name, ...shape, have: all ? 'all' : field.toBase64() }
    if (mime !== undefined) file.mime = mime
    return file
  })
const manifest = shape.chain((s) =>
  fc
    .array(digest, {
      minLength: chunkCountOf(s.size, s.chunkSize),
      maxLength: chunkCountOf(s.size, s.chunkSize),
    })
    .map((hashes) => ({ ...s, hashes })),
)

/** One valid message of each client type, with its ref still to be filled in. */
const validMessage: fc.Arbitrary<{ [key: string]: Json }> = fc.oneof(
  fc.array(announcedFile, { maxLength: 3 }).map((files) => ({ type: 'announce', ref: REF, files })),
  fc
    .array(fc.record({ digest, chunks: fc.array(fc.nat(4095), { minLength: 1, maxLength: 5 }) }), {
      minLength: 1,
      maxLength: 2,
    })
    .map((updates) => ({ type: 'have', ref: REF, updates })),
  fc.array(digest, { minLength: 1, maxLength: 3 }).map((digests) => ({ type: 'leave', ref: REF, digests })),
  fc.constant({ type: 'bye' }),
  fc
    .record(
      {
        query: fc.string({ maxLength: 30 }),
        offset: fc.nat(1000),
        limit: fc.integer({ min: 1, max: 500 }),
        watch: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .map((fields) => ({ type: 'catalog', ref: REF, ...fields })),
  digest.map((d) => ({ type: 'peers', ref: REF, digest: d })),
  fc.record({ d: digest, manifest }).map(({ d, manifest }) => ({
    type: 'put-manifest',
    ref: REF,
    digest: d,
    manifest,
  })),
  digest.map((d) => ({ type: 'get-manifest', ref: REF, digest: d })),
  // Targets are ids nobody holds: the barrage checks answers, not relaying.
  fc
    .record({ to: peerId, data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })) })
    .map(({ to, data }) => ({ type: 'signal', ref: REF, to, data: data as Json })),
)

// ---------------------------------------------------------------- mutations

type Path = (string | number)[]

type Mutation =
  | { kind: 'remove'; at: number }
  | { kind: 'retype'; at: number; value: Json }
  | { kind: 'extra'; at: number; key: string; value: Json }
  | { kind: 'number'; at: number; raw: string }
  | { kind: 'huge-array'; at: number; length: number; element: keyof typeof ELEMENTS }
  | { kind: 'nested'; at: number; depth: number; objects: boolean }
  | { kind: 'unicode'; at: number; text: string }
  | { kind: 'type'; name: string }

/** Elements of huge arrays: wrong types, and right ones in numbers the schema does not allow. */
const ELEMENTS = {
  zero: (): Json => 0,
  digest: (): Json => 'a'.repeat(64),
  null: (): Json => null,
  object: (): Json => ({}),
}

/** Keys an attacker tries: prototype pollution, and fields no client message carries. */
const HOSTILE_KEY = fc.constantFrom('__proto__', 'constructor', 'prototype', 'peerId', 'from', 'toString')
const HOSTILE_VALUE: fc.Arbitrary<Json> = fc.constantFrom(
  { polluted: 'yes' },
  { prototype: { polluted: 'yes' } },
  JSON.parse('{"__proto__":{"polluted":"yes"}}') as Json,
  'polluted',
)
/** Number tokens written into the JSON text as they are: past safe integers, infinities, negative zero. */
const RAW_NUMBER = fc.constantFrom(
  '-1',
  '-0',
  '0.5',
  '1e400',
  '-1e400',
  '1e21',
  '9007199254740993',
  '4096',
  '4097',
  '16383',
  '67108865',
  '274877906945',
  '2147483648',
  '-2147483649',
  '1e-7',
  '0x10',
  'NaN',
  'Infinity',
)

const at = fc.nat()
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('remove' as const), at }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('retype' as const),
      at,
      value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('extra' as const),
      at,
      key: fc.oneof(HOSTILE_KEY, fc.string({ maxLength: 8 })),
      value: fc.oneof(HOSTILE_VALUE, fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('number' as const), at, raw: RAW_NUMBER }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('huge-array' as const),
      at,
      length: fc.integer({ min: 1000, max: 40_000 }),
      element: fc.constantFrom(...(Object.keys(ELEMENTS) as (keyof typeof ELEMENTS)[])),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('nested' as const),
      at,
      depth: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 100_000 })),
      objects: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('unicode' as const),
      at,
      text: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom('\u202etxt.exe', 'a\u0000b', '\ud800', '\ufeff', 'ＡＮＮＯＵＮＣＥ', 'x'.repeat(300)),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('type' as const),
      name: fc.oneof(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
          'ANNOUNCE',
          'announce ',
          'error',
          'welcome',
          '',
        ),
        fc.string({ maxLength: 12 }),
      ),
    }),
  },
)

/** Items of an array a mutation may pick: enough to reach into any real message, few in a huge array. */
const PICKABLE_ITEMS = 16

/** Every node under `value` (not `value` itself), as paths. */
function nodes(value: Json, path: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) {
    value.slice(0, PICKABLE_ITEMS).forEach((item, index) => {
      out.push([...path, index])
      nodes(item, [...path, index], out)
    })
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push([...path, key])
      nodes(value[key]!, [...path, key], out)
    }
  }
  return out
}

function parentOf(root: { [key: string]: Json }, path: Path): Json {
  let node: Json = root
  for (const step of path.slice(0, -1)) node = (node as { [key: string]: Json })[step]!
  return node
}

/** Sets an own property even for keys like "__proto__", which plain assignment would treat as the prototype. */
function put(target: Json, key: string | number, value: Json): void {
  if (Array.isArray(target) && typeof key === 'number') target[key] = value
  else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function clone(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json
}

/** Applies the mutations to a copy of `message` and returns the text sent. */
function mutate(message: Json, mutations: readonly Mutation[]): string {
  // The message hangs under `m`, so that a mutation may replace or remove the message itself.
  const root: { [key: string]: Json } = { m: clone(message) }
  const raw: string[] = []
  const rawToken = (text: string) => {
    raw.push(text)
    return `\u0000raw${raw.length - 1}\u0000`
  }
  for (const change of mutations) {
    if (change.kind === 'type') {
      const target = root.m
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        put(target, 'type', change.name)
      continue
    }
    const paths = nodes(root)
    if (paths.length === 0) continue // the message itself was removed
    const path = paths[change.at % paths.length]!
    const parent = parentOf(root, path)
    const key = path.at(-1)!
    switch (change.kind) {
      case 'remove':
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete (parent as { [key: string]: Json })[key]
        break
      case 'retype':
        put(parent, key, clone(change.value))
        break
      case 'extra': {
        // into the object at the path, or its parent when the path is not an object
        const node = (parent as { [key: string]: Json })[key]!
        const target = node !== null && typeof node === 'object' && !Array.isArray(node) ? node : parent
        const extra = Array.isArray(target) ? {} : target
        put(extra, change.key, clone(change.value))
        if (Array.isArray(target)) target.push(extra)
        break
      }
      case 'number':
        put(parent, key, rawToken(change.raw))
        break
      case 'huge-array':
        put(parent, key, Array.from({ length: change.length }, ELEMENTS[change.element]))
        break
      case 'nested':
        put(
          parent,
          key,
          rawToken(
            change.objects
              ? `${'{"a":'.repeat(change.depth)}0${'}'.repeat(change.depth)}`
              : `${'['.repeat(change.depth)}${']'.repeat(change.depth)}`,
          ),
        )
        break
      case 'unicode':
        put(parent, key, change.text)
        break
    }
  }
  let text = JSON.stringify(root.m) ?? ''
  raw.forEach((token, index) => {
    text = text.split(JSON.stringify(`\u0000raw${index}\u0000`)).join(token)
  })
  return text
}

// ---------------------------------------------------------------- frames

/** What goes on the wire: a text frame, or a binary one. */
type Frame = string | Uint8Array

const frame: fc.Arbitrary<Frame> = fc.oneof(
  // valid messages with one to three mutations
  {
    weight: 70,
    arbitrary: fc
      .record({ base: validMessage, mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) })
      .map(({ base, mutations }) => mutate(base, mutations)),
  },
  // some valid ones among them, which the server must handle without failing
  { weight: 5, arbitrary: validMessage.map((m) => JSON.stringify(m)) },
  // any JSON value; objects get a ref
  {
    weight: 8,
    arbitrary: (fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>).map((value) =>
      JSON.stringify(
        value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value, ref: REF } : value,
      ),
    ),
  },
  // random text
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789 tnulrefas\\'), maxLength: 80 }),
    ),
  },
  // a valid message cut short
  {
    weight: 4,
    arbitrary: fc.record({ base: validMessage, cut: fc.nat() }).map(({ base, cut }) => {
      const text = JSON.stringify(base)
      return text.slice(0, cut % text.length)
    }),
  },
  // binary frames: random bytes, and valid messages in the wrong frame type
  {
    weight: 5,
    arbitrary: fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      validMessage.map((m) => new TextEncoder().encode(JSON.stringify(m))),
    ),
  },
  // nesting bombs at the top level
  {
    weight: 1,
    arbitrary: fc
      .record({ depth: fc.integer({ min: 1000, max: 100_000 }), closed: fc.boolean(), objects: fc.boolean() })
      .map(({ depth, closed, objects }) =>
        objects
          ? `${'{"type":'.repeat(depth)}${closed ? `0${'}'.repeat(depth)}` : ''}`
          : `${'['.repeat(depth)}${closed ? ']'.repeat(depth) : ''}`,
      ),
  },
)

/** A frame and what the server must do with it, judged from the text it receives. */
interface Shot {
  data: Frame
  /** The shared parser accepts it: the server may answer anything but INTERNAL. */
  valid: boolean
  /** The ref an error reply must carry: the message's own, when it is a usable one. */
  ref: string | undefined
}

function refOf(text: string): string | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, 'ref')) {
    return undefined
  }
  const { ref } = value as { ref: unknown }
  return typeof ref === 'string' && ref.length >= 1 && ref.length <= 64 ? ref : undefined
}

/**
 * `count` frames from the fixed seed, each object numbered with its own ref. Text is what the server
 * will read (lone surrogates become U+FFFD on the wire). Left out: frames over the size limit (tested on
 * their own below) and valid `bye`s, which end the connection on purpose.
 */
function barrage(count: number): Shot[] {
  const shots: Shot[] = []
  for (const candidate of fc.sample(frame, { seed: SEED, numRuns: Math.ceil(count * 1.1) })) {
    if (shots.length === count) break
    if (typeof candidate !== 'string') {
      shots.push({ data: candidate, valid: false, ref: undefined })
      continue
    }
    const data = Buffer.from(
      candidate.split(JSON.stringify(REF)).join(JSON.stringify(`b${shots.length}`)),
    ).toString()
    if (Buffer.byteLength(data) > MAX_MESSAGE_BYTES) continue
    const parsed = parseClientMessage(data)
    if (parsed.ok && parsed.message.type === 'bye') continue
    shots.push({ data, valid: parsed.ok, ref: refOf(data) })
  }
  expect(shots).toHaveLength(count)
  return shots
}

interface Outcome {
  /** Replies between this frame and its marker, unsolicited notices left out. */
  replies: ServerMessage[]
  /** Set when the connection closed before this frame's marker was answered. */
  closedWith?: number
}

/** Resolves when the catalog reply with `ref` arrives (undefined), or with the close code if the connection closes first. */
function answered(client: TestClient, ref: string): Promise<number | undefined> {
  const marked = new Promise<undefined>((resolve) => {
    const check = () => {
      const last = client.received.at(-1)
      if (last?.type !== 'catalog' || last.ref !== ref) return
      client.socket.off('message', check)
      resolve(undefined)
    }
    client.socket.on('message', check)
  })
  return Promise.race([marked, client.closed.then(({ code }) => code)])
}

/**
 * Sends each frame followed by a marker (a catalog request whose ref names the frame), a window at a
 * time. The server answers in order, so the replies between two markers are the answer to the frame
 * between them. When the connection closes, the first unanswered frame gets the close code and the
 * frames after it go again over a new connection.
 */
async function deliver(url: string, frames: readonly Frame[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  while (outcomes.length < frames.length) {
    const client = await connect(url)
    let read = 0
    let replies: ServerMessage[] = []
    while (outcomes.length < frames.length) {
      const start = outcomes.length
      const end = Math.min(start + WINDOW, frames.length)
      const done = answered(client, `${MARK}${end - 1}`)
      for (let i = start; i < end; i++) {
        client.socket.send(frames[i]!)
        client.send({ type: 'catalog', ref: `${MARK}${i}`, limit: 1 })
      }
      const closedWith = await done
      for (; read < client.received.length; read++) {
        const message = client.received[read]!
        const notAnswers = ['challenge', 'welcome', 'signal', 'catalog-changed']
        if (notAnswers.includes(message.type)) continue
        if (message.type === 'catalog' && message.ref?.startsWith(MARK)) {
          outcomes.push({ replies })
          replies = []
        } else {
          replies.push(message)
        }
      }
      if (closedWith !== undefined) {
        outcomes.push({ replies, closedWith })
        break
      }
    }
    client.socket.terminate()
  }
  return outcomes
}

function preview(data: Frame): string {
  const text = typeof data === 'string' ? data : `binary ${Buffer.from(data).toString('hex')}`
  return text.length > 160 ? `${text.slice(0, 160)}… (${text.length} characters)` : text
}

// ---------------------------------------------------------------- tests

describe.each(REGISTRY_KINDS)('bad input (%s registry)', (registry) => {
  beforeAll(() => registries.use(registry))

  it('generates valid messages of every client type before mutating them', () => {
    const samples = fc.sample(validMessage, { seed: SEED, numRuns: 300 })
    const types = new Set<string>()
    for (const sample of samples) {
      const text = JSON.stringify(sample).split(JSON.stringify(REF)).join('"r"')
      const parsed = parseClientMessage(text)
      expect(parsed.ok ? parsed.message.type : parsed.error.message).toBe(sample.type)
      types.add(sample.type as string)
    }
    expect(types.size).toBe(9)
  })

  it(`answers each of ${BARRAGE_MESSAGES} generated malformed messages with a typed error or a documented close, and stays whole`, async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype)
    const server = await serve()
    const shots = barrage(BARRAGE_MESSAGES)

    const shares = Array.from({ length: BARRAGE_CONNECTIONS }, (_, c) =>
      shots.map((_, i) => i).filter((i) => i % BARRAGE_CONNECTIONS === c),
    )
    const delivered = await Promise.all(
      shares.map((share) =>
        deliver(
          server.url,
          share.map((i) => shots[i]!.data),
        ),
      ),
    )
    const outcomes: Outcome[] = []
    for (const [c, share] of shares.entries()) {
      for (const [k, i] of share.entries()) outcomes[i] = delivered[c]![k]!
    }

    const failures: string[] = []
    const errorCodes = new Map<string, number>()
    let invalid = 0
    let closes = 0
    for (const [i, outcome] of outcomes.entries()) {
      const { data, valid, ref } = shots[i]!
      const fail = (why: string) =>
        failures.push(`#${i} ${why}: ${preview(data)} → ${JSON.stringify(outcome).slice(0, 300)}`)
      if (!valid) invalid++
      if (outcome.closedWith !== undefined) {
        closes++
        if (!DOCUMENTED_CLOSE_CODES.has(outcome.closedWith)) fail('closed with an undocumented code')
        continue
      }
      if (valid) {
        if (outcome.replies.some((r) => r.type === 'error' && r.code === 'INTERNAL'))
          fail('server failed on it')
        continue
      }
      const [reply, ...more] = outcome.replies
      if (reply?.type !== 'error' || more.length > 0) {
        fail('not answered by exactly one error')
        continue
      }
      if (!(ERROR_CODES as readonly string[]).includes(reply.code)) fail('error code is not documented')
      if (reply.ref !== ref) fail(`error carries ref ${reply.ref}, expected ${ref}`)
      errorCodes.set(reply.code, (errorCodes.get(reply.code) ?? 0) + 1)
    }
    expect(failures).toEqual([])
    // the generator does what it says: most of it is malformed, and both parse failures occur
    expect(invalid).toBeGreaterThan(BARRAGE_MESSAGES * 0.8)
    expect(errorCodes.get('BAD_MESSAGE')).toBeGreaterThan(BARRAGE_MESSAGES * 0.5)
    expect(errorCodes.get('UNKNOWN_TYPE')).toBeGreaterThan(10)
    expect(closes).toBe(0)

    // still serving, nothing polluted, nothing logged as an error
    const fresh = await connect(server.url)
    expect(await fresh.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(server.errorLines()).toEqual([])

    // and what the barrage announced left with its connections
    for (const client of clients.splice(0)) {
      if (client !== fresh) client.socket.terminate()
    }
    clients.push(fresh)
    await until(() => server.tracker.stats().peersOnline === 1, 'the barrage gone')
    await until(async () => (await server.tracker.registry.stats()).holdings === 0, 'its holdings gone')
    expect(await server.tracker.registry.stats()).toMatchObject({ files: 0, swarms: 0, holdings: 0 })
  }, 60_000) // ~4 s here; the margin is for a loaded machine

  it('closes a connection whose message is one byte over maxMessageBytes with 1009, and keeps serving', async () => {
    const server = await serve()
    const client = await connect(server.url)
    const padded = (bytes: number) => {
      const head = '{"type":"catalog","ref":"edge","query":"'
      return `${head}${'x'.repeat(bytes - head.length - 2)}"}`
    }
    expect(Buffer.byteLength(padded(MAX_MESSAGE_BYTES))).toBe(MAX_MESSAGE_BYTES)
    client.send(padded(MAX_MESSAGE_BYTES))
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'edge' })
    client.send(padded(MAX_MESSAGE_BYTES + 1))
    expect(await client.closed).toMatchObject({ code: 1009 })

    const other = await connect(server.url)
    expect(await other.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
    expect(server.errorLines()).toEqual([])
  })

  it('closes a connection whose text frame is not UTF-8 with 1007, and keeps serving', async () => {
    const server = await serve()
    const client = await connect(server.url)
    const bytes = new TextEncoder().encode('{"type":"catalog","ref":"x"}')
    client.socket.send(new Uint8Array([...bytes.subarray(0, 10), 0xff, ...bytes.subarray(10)]), {
      binary: false,
    })
    // closed by the WebSocket layer itself (docs/PROTOCOL.md, "Close codes")
    expect(await client.closed).toMatchObject({ code: 1007 })

    const other = await connect(server.url)
    expect(await other.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
    expect(server.errorLines()).toEqual([])
  })

  it('answers JSON nesting bombs within the size limit with BAD_MESSAGE, and survives them', async () => {
    const server = await serve()
    const client = await connect(server.url)
    const depth = 100_000
    const bombs = [
      '['.repeat(depth),
      '['.repeat(depth) + ']'.repeat(depth),
      `${'{"a":'.repeat(80_000)}0${'}'.repeat(80_000)}`,
      `{"type":"announce","ref":"deep","files":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"type":"catalog","ref":"deeper","query":${'{"q":'.repeat(80_000)}0${'}'.repeat(80_000)}}`,
    ]
    for (const bomb of bombs) {
      expect(Buffer.byteLength(bomb)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES)
      client.send(bomb)
    }
    const replies = await Promise.all(bombs.map(() => client.next('error')))
    expect(replies.map((r) => [r.code, r.ref])).toEqual([
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', undefined],
      ['BAD_MESSAGE', 'deep'],
      ['BAD_MESSAGE', 'deeper'],
    ])
    // a signal nested deep enough to overflow JSON.stringify when relayed is refused before it is relayed,
    // even to a peer that is connected and well within the signal size limit
    const target = await TestClient.connect(server.url)
    client.send(
      `{"type":"signal","ref":"s","to":"${target.peerId}","data":{"sdp":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
    )
    expect(await client.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 's' })
    target.close()
    expect(await client.request({ type: 'catalog', query: 'x'.repeat(MAX_QUERY_LENGTH) })).toMatchObject({
      type: 'catalog',
    })
    expect(server.errorLines()).toEqual([])
  })
})
