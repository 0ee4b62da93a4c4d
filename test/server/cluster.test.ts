/**
 * Several instances, one swarm (REDIS_URL): two servers in this process share one real redis-server
 * (started here, on loopback), each with its own WebSocket clients. What one instance's peers announce,
 * the other's see; signals, take-overs and catalog notices cross over; per-address limits hold across
 * both; Redis going away and coming back (empty, as a restart without persistence) is survived without a
 * restart of either. Killing an instance outright is in main.test.ts (real processes).
 */

import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CLOSE_CODES } from '../../shared/errors.js'
import type { AnnouncedFile } from '../../shared/tracker-protocol.js'
import { createLogger } from '../../signal/logger.js'
import type { RunningServer } from '../../signal/server.js'
import type { Identity } from '../../web/peer/identity.js'
import { nodeIdentity } from '../support/identities.js'
import { registryOptions, startRedis, type TestRedis } from '../support/redis.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

const CHUNK = 16 * 1024

let redis: TestRedis
const servers: RunningServer[] = []
const clients: TestClient[] = []

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.stop()
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

type Options = Parameters<typeof startTestServer>[0]

/** Two instances of one swarm (one key prefix), each logging into its own list. */
async function twoInstances(options: Options = {}) {
  const swarm = registryOptions('redis', redis)
  const start = async () => {
    const lines: string[] = []
    const server = await startTestServer({
      ...swarm,
      logger: createLogger('info', (line) => lines.push(line)),
      ...options,
    })
    servers.push(server)
    await until(() => server.cluster?.redisUp === true, 'Redis connected')
    return Object.assign(server, { lines })
  }
  return [await start(), await start()] as const
}

async function connect(url: string, identity: Identity = nodeIdentity()) {
  const client = await TestClient.connect(url, {}, identity)
  clients.push(client)
  return client
}

function file(digest: string, name: string, have: AnnouncedFile['have'] = 'all'): AnnouncedFile {
  return { digest, name, size: 4 * CHUNK, chunkSize: CHUNK, have }
}

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)

async function catalogOf(client: TestClient, query?: string) {
  const reply = await client.request({ type: 'catalog', ...(query === undefined ? {} : { query }) })
  if (reply.type !== 'catalog') throw new Error(`expected a catalog, got ${JSON.stringify(reply)}`)
  return reply
}

/** The status an upgrade to `url` gets: 101 when it opens (and is closed again at once), or the refusal. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.once('open', () => {
      socket.terminate()
      resolve(101)
    })
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error)
    })
  })
}

async function json(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url)).json()) as Record<string, unknown>
}

describe('two instances sharing one swarm through Redis', () => {
  it('show one catalog on both, find holders on the other, and relay signals across', async () => {
    const [one, two] = await twoInstances()
    const seeder = await connect(one.url)
    const leecher = await connect(two.url)
    expect(
      await seeder.request({ type: 'announce', files: [file(A, 'Holiday.mkv'), file(B, 'notes.txt')] }),
    ).toMatchObject({ type: 'ack' })

    const [here, there] = await Promise.all([catalogOf(seeder), catalogOf(leecher)])
    expect(there.files).toEqual(here.files)
    expect(there.files.map((f) => f.digest).sort()).toEqual([A, B])
    expect((await catalogOf(leecher, 'holi')).files.map((f) => f.digest)).toEqual([A])
    expect(await leecher.request({ type: 'peers', digest: A })).toMatchObject({
      peers: [{ peerId: seeder.peerId, have: 'all' }],
    })

    // offer and answer cross instances, in order, with acks
    expect(
      await leecher.request({ type: 'signal', to: seeder.peerId, data: { type: 'offer', sdp: 'o' } }),
    ).toMatchObject({ type: 'ack' })
    expect(await seeder.next('signal')).toEqual({
      type: 'signal',
      from: leecher.peerId,
      origin: expect.any(String), // stamped by the sender's instance, carried across
      data: { type: 'offer', sdp: 'o' },
    })
    await seeder.request({ type: 'signal', to: leecher.peerId, data: { type: 'answer', sdp: 'a' } })
    expect(await leecher.next('signal')).toMatchObject({ from: seeder.peerId, data: { type: 'answer' } })
    expect(await leecher.request({ type: 'signal', to: 'nobodyAtAll00000', data: {} })).toMatchObject({
      type: 'error',
      code: 'PEER_NOT_FOUND',
    })

    // the leecher's progress is seen from the seeder's instance
    await leecher.request({ type: 'announce', files: [file(A, 'holiday.mkv', 'AA==')] })
    await leecher.request({ type: 'have', updates: [{ digest: A, chunks: [0, 1, 2, 3] }] })
    expect((await catalogOf(seeder, A.slice(0, 8))).files).toMatchObject([
      { digest: A, seeders: 2, leechers: 0, names: ['Holiday.mkv', 'holiday.mkv'] },
    ])

    // a peer that leaves, leaves both
    seeder.close()
    await until(async () => (await catalogOf(leecher)).total === 1, 'notes.txt gone with its holder')
  })

  it('tag one address with one origin whichever instance it connects to', async () => {
    const [one, two] = await twoInstances()
    const receiver = await connect(one.url)
    // Two peer ids from one address, one on each instance: an attacker minting ids and spreading them.
    for (const sender of [await connect(one.url), await connect(two.url)]) {
      await sender.request({ type: 'signal', to: receiver.peerId, data: { type: 'offer', sdp: 'o' } })
    }
    const tags = [(await receiver.next('signal')).origin, (await receiver.next('signal')).origin]
    expect(tags[0]).toEqual(expect.any(String))
    expect(tags[1]).toBe(tags[0])
  })

  it('tell watchers on the other instance that the catalog changed', async () => {
    const [one, two] = await twoInstances()
    const watcher = await connect(two.url)
    const first = await watcher.request({ type: 'catalog', watch: true })
    if (first.type !== 'catalog') throw new Error('unreachable')
    const seeder = await connect(one.url)
    await seeder.request({ type: 'announce', files: [file(A, 'new.bin')] })
    // within a notice interval of the other instance, then the watcher's own
    const notice = await watcher.next('catalog-changed')
    expect(notice.revision).toBeGreaterThan(first.revision)
    expect((await catalogOf(watcher)).files.map((f) => f.digest)).toEqual([A])
  })

  it('let a second connection with the same peer id, on either instance, replace the first', async () => {
    // One key on both: the same profile reconnecting through the other instance.
    const identity = nodeIdentity()
    const [one, two] = await twoInstances()
    const first = await connect(one.url, identity)
    await first.request({ type: 'announce', files: [file(A, 'old.bin')] })
    const second = await connect(two.url, identity)
    expect(second.peerId).toBe(first.peerId)
    expect(await first.closed).toMatchObject({ code: CLOSE_CODES.REPLACED })
    // what the first connection announced is forgotten; the second is the peer now
    expect((await catalogOf(second)).total).toBe(0)
    await second.request({ type: 'announce', files: [file(B, 'new.bin')] })
    const asker = await connect(one.url)
    expect(await asker.request({ type: 'peers', digest: B })).toMatchObject({
      peers: [{ peerId: second.peerId }],
    })
    await asker.request({ type: 'signal', to: second.peerId, data: { n: 1 } })
    expect(await second.next('signal')).toMatchObject({ from: asker.peerId, data: { n: 1 } })
  })

  it('tell the downloaders of a file on every instance of a new holder at once (the holder push)', async () => {
    const [one, two] = await twoInstances()
    const seeder = await connect(one.url)
    const here = await connect(one.url)
    const there = await connect(two.url)
    const none = 'AA==' // 4 chunks, none held
    await seeder.request({ type: 'announce', files: [file(A, 'a.bin')] })
    await here.request({ type: 'announce', files: [file(A, 'a.bin', none)] })
    await there.request({ type: 'announce', files: [file(A, 'a.bin', none)] })
    const pushOf = (peerId: string, have: string) => ({
      type: 'peers',
      digest: A,
      chunkCount: 4,
      peers: [{ peerId, have }],
    })
    // The second downloader, on the second instance: the first, on the first instance, hears of it.
    expect(await here.next('peers')).toEqual(pushOf(there.peerId, none))
    // A new holder on the first instance: the downloader on the second hears of it through its channel.
    const late = await connect(one.url)
    await late.request({ type: 'announce', files: [file(A, 'a.bin')] })
    expect(await there.next('peers')).toEqual(pushOf(late.peerId, 'all'))
    expect(await here.next('peers')).toEqual(pushOf(late.peerId, 'all'))
    // And the other way round, with the seeder (which wants nothing) told nothing.
    const other = await connect(two.url)
    await other.request({ type: 'announce', files: [file(A, 'a.bin')] })
    expect(await here.next('peers')).toEqual(pushOf(other.peerId, 'all'))
    expect(await there.next('peers')).toEqual(pushOf(other.peerId, 'all'))
    await seeder.request({ type: 'catalog' })
    expect(seeder.received.filter((m) => m.type === 'peers')).toEqual([])
  })

  it('check what arrives on an instance’s channel: a holder push reaches its peer, a malformed one is dropped and logged', async () => {
    const [one] = await twoInstances()
    const leecher = await connect(one.url)
    const publisher = new Redis(redis.url)
    try {
      const channel = `${one.cluster!.prefix}ch:${one.cluster!.instance}`
      const push = {
        type: 'peers',
        digest: A,
        chunkCount: 4,
        peers: [{ peerId: 'x'.repeat(16), have: 'all' }],
      }
      for (const forged of [
        '{not json',
        JSON.stringify({ t: 'push', to: ['not a peer id!'], m: push }),
        JSON.stringify({ t: 'push', to: [leecher.peerId], m: { ...push, extra: 1 } }),
        JSON.stringify({ t: 'push', to: [], m: push }),
      ]) {
        await publisher.publish(channel, forged)
      }
      await publisher.publish(channel, JSON.stringify({ t: 'push', to: [leecher.peerId], m: push }))
      expect(await leecher.next('peers')).toEqual(push)
      expect(leecher.received.filter((m) => m.type === 'peers')).toHaveLength(1)
      const ignored = one.lines.filter(
        (line) => JSON.parse(line).msg === 'ignored a malformed message on the cluster channel',
      )
      expect(ignored.length).toBeGreaterThan(0) // throttled: one line for the burst
    } finally {
      publisher.disconnect()
    }
  })

  it('hold the per-address connection limit across instances', async () => {
    const [one, two] = await twoInstances({ limits: { connectionsPerAddress: 2 } })
    const first = await connect(one.url)
    await connect(two.url)
    expect(await upgradeStatus(one.url)).toBe(429)
    expect(await upgradeStatus(two.url)).toBe(429)
    first.socket.terminate()
    await first.closed
    await until(async () => (await upgradeStatus(two.url)) === 101, 'a place free again')
  })

  it('hold an address’s catalog budget across instances', async () => {
    const catalogBudgets = {
      connectionRecordsPerSecond: 1_000_000,
      connectionBurst: 1_000_000,
      addressRecordsPerSecond: 1,
      addressBurst: 400,
    }
    const [one, two] = await twoInstances({ catalogBudgets })
    const seeder = await connect(one.url)
    const files = Array.from({ length: 200 }, (_, i) => file(i.toString(16).padStart(64, '0'), `f${i}`))
    await seeder.request({ type: 'announce', files })
    // pages of 200 entries from instance 1 spend the address's budget (400 records, barely refilled)
    const spender = await connect(one.url)
    let pages = 0
    while ((await spender.request({ type: 'catalog', limit: 200 })).type === 'catalog') pages++
    expect(pages).toBeGreaterThanOrEqual(2)
    // the same address on instance 2, whose own bucket is full, is refused all the same
    const other = await connect(two.url)
    await until(async () => {
      const reply = await other.request({ type: 'catalog', limit: 1 })
      return reply.type === 'error' && reply.code === 'CATALOG_LIMITED'
    }, 'the shared budget seen as spent on instance 2')
  })

  it('report Redis in /healthz, and cluster totals with this instance’s share in /stats', async () => {
    const [one, two] = await twoInstances()
    expect(await json(`${one.httpUrl}/healthz`)).toEqual({ status: 'ok', redis: 'up' })
    const a = await connect(one.url)
    await connect(two.url)
    await connect(two.url)
    await a.request({ type: 'announce', files: [file(A, 'a.bin')] })
    await until(
      async () => ((await json(`${one.httpUrl}/stats`)).cluster as { instances: number }).instances === 2,
    )
    expect(await json(`${one.httpUrl}/stats`)).toMatchObject({
      peersOnline: 3,
      files: 1,
      cluster: {
        redis: 'up',
        instance: one.cluster!.instance,
        instances: 2,
        local: { peersOnline: 1, share: 1 / 3 },
      },
    })
    expect(await json(`${two.httpUrl}/stats`)).toMatchObject({
      peersOnline: 3,
      cluster: { local: { peersOnline: 2, share: 2 / 3 } },
    })
  })

  it('survive Redis going away and coming back empty: clear errors meanwhile, local relays go on, the swarm is whole after', async () => {
    const [one, two] = await twoInstances()
    const seeder = await connect(one.url)
    const local = await connect(one.url)
    const remote = await connect(two.url)
    await seeder.request({ type: 'announce', files: [file(A, 'before.bin')] })

    await redis.kill()
    await until(() => !one.cluster!.redisUp && !two.cluster!.redisUp, 'both instances see Redis down')
    expect(await json(`${one.httpUrl}/healthz`)).toEqual({ status: 'ok', redis: 'down' })
    // what needs the swarm fails with a clear code; an announce is kept and acknowledged
    expect(await remote.request({ type: 'catalog' })).toMatchObject({
      type: 'error',
      code: 'CLUSTER_UNAVAILABLE',
    })
    expect(await remote.request({ type: 'signal', to: seeder.peerId, data: {} })).toMatchObject({
      type: 'error',
      code: 'CLUSTER_UNAVAILABLE',
    })
    expect(await local.request({ type: 'announce', files: [file(B, 'during.bin')] })).toMatchObject({
      type: 'ack',
    })
    // signals between peers of one instance go on
    expect(await local.request({ type: 'signal', to: seeder.peerId, data: { still: true } })).toMatchObject({
      type: 'ack',
    })
    expect(await seeder.next('signal')).toMatchObject({ from: local.peerId, data: { still: true } })
    // /stats answers with what this instance knows
    expect(await json(`${one.httpUrl}/stats`)).toMatchObject({ peersOnline: 2, cluster: { redis: 'down' } })
    const late = await connect(two.url)

    await redis.start()
    await until(() => one.cluster!.redisUp && two.cluster!.redisUp, 'both instances reconnected')
    // both republish what their peers hold: the announce made during the outage included
    await until(async () => {
      const reply = await remote.request({ type: 'catalog' })
      return reply.type === 'catalog' && reply.total === 2
    }, 'the swarm whole again')
    expect((await catalogOf(late)).files.map((f) => f.digest).sort()).toEqual([A, B])
    expect(await remote.request({ type: 'signal', to: seeder.peerId, data: { back: true } })).toMatchObject({
      type: 'ack',
    })
    expect(await seeder.next('signal')).toMatchObject({ from: remote.peerId, data: { back: true } })
    expect(await json(`${two.httpUrl}/healthz`)).toEqual({ status: 'ok', redis: 'up' })
    for (const server of [one, two]) {
      const messages = server.lines.map((line) => JSON.parse(line).msg as string)
      expect(messages).toContain(
        'Redis unreachable: cross-instance requests fail with CLUSTER_UNAVAILABLE, local relays go on; reconnecting',
      )
      expect(messages).toContain('Redis reachable again')
    }
  })

  it('answer CLUSTER_UNAVAILABLE while Redis hangs (stopped, its connection open), and go on when it resumes', async () => {
    // A hung Redis closes nothing: only the command timeout tells. Short here so the test is quick; what
    // is checked is that a request is answered, not how fast.
    const swarm = registryOptions('redis', redis).redis!
    const [one, two] = await twoInstances({ redis: { ...swarm, commandTimeoutMs: 300 } })
    const seeder = await connect(one.url)
    const remote = await connect(two.url)
    await seeder.request({ type: 'announce', files: [file(A, 'before.bin')] })
    const pid = redis.pid!
    process.kill(pid, 'SIGSTOP')
    try {
      expect(await remote.request({ type: 'catalog' })).toMatchObject({
        type: 'error',
        code: 'CLUSTER_UNAVAILABLE',
      })
      expect(await remote.request({ type: 'signal', to: seeder.peerId, data: { hung: true } })).toMatchObject(
        { type: 'error', code: 'CLUSTER_UNAVAILABLE' },
      )
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await until(async () => {
      const reply = await remote.request({ type: 'catalog' })
      return reply.type === 'catalog' && reply.total === 1
    }, 'the catalog answered again')
    expect(await remote.request({ type: 'signal', to: seeder.peerId, data: { back: true } })).toMatchObject({
      type: 'ack',
    })
    // The signal refused meanwhile had been sent to Redis, which runs it once it resumes: it may arrive too
    // (a client that resends gets SIGNAL_REPLAYED from its peer, not a second link).
    await until(
      () => seeder.received.some((m) => m.type === 'signal' && m.from === remote.peerId && 'back' in m.data),
      'the signal after Redis resumed',
    )
  })

  it('after an outage, leave a peer id to the newer connection made elsewhere meanwhile, not republish the stale one', async () => {
    // One key: while Redis was down the client reconnected through the other instance; the first instance
    // still has the old connection open and its announce in memory.
    const identity = nodeIdentity()
    const [one, two] = await twoInstances()
    const stale = await connect(one.url, identity)
    await stale.request({ type: 'announce', files: [file(A, 'old.bin')] })

    await redis.kill()
    await until(() => !one.cluster!.redisUp && !two.cluster!.redisUp, 'both instances see Redis down')
    // a moment later than the first connection: the instances compare these times
    await new Promise((resolve) => setTimeout(resolve, 5))
    const fresh = await connect(two.url, identity)
    expect(fresh.peerId).toBe(stale.peerId)
    await fresh.request({ type: 'announce', files: [file(B, 'new.bin')] })

    // The stale instance republishes last (held back until the other has), the order in which an
    // unconditional claim would hand the id back to the stale connection.
    let otherDone = false
    const other = two.cluster!.registry
    const otherRepublish = other.republish.bind(other)
    other.republish = () =>
      otherRepublish().then(() => {
        otherDone = true
      })
    const registry = one.cluster!.registry
    const republish = registry.republish.bind(registry)
    registry.republish = async () => {
      await until(() => otherDone, 'the other instance republished')
      return republish()
    }
    await redis.start()
    expect(await stale.closed).toMatchObject({ code: CLOSE_CODES.REPLACED })
    expect(one.lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ superseded: 1 }),
    )

    const asker = await connect(one.url)
    expect((await catalogOf(asker)).files.map((f) => f.digest)).toEqual([B])
    expect(await asker.request({ type: 'peers', digest: B })).toMatchObject({
      peers: [{ peerId: fresh.peerId }],
    })
    expect(await asker.request({ type: 'peers', digest: A })).toMatchObject({ type: 'error' })
    // signals for the id reach the newer connection, across instances
    await asker.request({ type: 'signal', to: fresh.peerId, data: { n: 1 } })
    expect(await fresh.next('signal')).toMatchObject({ from: asker.peerId, data: { n: 1 } })
  })

  it('forget the peers of an instance that leaves, at once', async () => {
    const [one, two] = await twoInstances()
    const seeder = await connect(one.url)
    const other = await connect(two.url)
    await seeder.request({ type: 'announce', files: [file(A, 'a.bin')] })
    expect((await catalogOf(other)).total).toBe(1)
    await one.close()
    expect((await catalogOf(other)).total).toBe(0)
    expect(await other.request({ type: 'signal', to: seeder.peerId, data: {} })).toMatchObject({
      code: 'PEER_NOT_FOUND',
    })
  })
})
