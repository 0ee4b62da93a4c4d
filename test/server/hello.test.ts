/**
 * The signed hello (signal/hello-gate.ts): a connection is nobody until it proves a key, then it is the peer
 * id its key derives to, the same on every connection; one connection per id.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../shared/encoding.js'
import { CLOSE_CODES } from '../../shared/errors.js'
import { helloSignedBytes, peerIdOf } from '../../shared/identity-proof.js'
import { HELLO_TIMEOUT_MS } from '../../shared/limits.js'
import type { RunningServer } from '../../signal/server.js'
import { FakeClock } from '../support/fake-clock.js'
import { nodeIdentity } from '../support/identities.js'
import { startTestServer } from '../support/server.js'
import { TestClient } from '../support/tracker-client.js'
import { until } from '../support/until.js'

const servers: RunningServer[] = []
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function serve(overrides: Parameters<typeof startTestServer>[0] = {}) {
  const server = await startTestServer(overrides)
  servers.push(server)
  return server
}

function open(url: string): TestClient {
  const client = TestClient.open(url)
  clients.push(client)
  return client
}

const DIGEST = 'ab'.repeat(32)

describe('the signed hello', () => {
  it('welcomes a proven key under the peer id it derives to, the same on every connection', async () => {
    const server = await serve()
    const identity = nodeIdentity()
    const first = await TestClient.connect(server.url, {}, identity)
    clients.push(first)
    expect(first.peerId).toBe(identity.peerId)
    expect(first.peerId).toBe(peerIdOf(identity.nodeId))
    first.close()
    await first.closed
    const again = await TestClient.connect(server.url, {}, identity)
    clients.push(again)
    expect(again.peerId).toBe(identity.peerId)
  })

  it('keeps one connection per id: a second one replaces the first with REPLACED, and what it announced goes', async () => {
    const server = await serve()
    const identity = nodeIdentity()
    const first = await TestClient.connect(server.url, {}, identity)
    clients.push(first)
    const file = { digest: DIGEST, name: 'a.bin', size: 3, chunkSize: 16384, have: 'all' }
    expect(await first.request({ type: 'announce', files: [file] })).toMatchObject({ type: 'ack' })
    const asker = await TestClient.connect(server.url)
    clients.push(asker)
    expect(await asker.request({ type: 'peers', digest: DIGEST })).toMatchObject({ type: 'peers' })

    const second = await TestClient.connect(server.url, {}, identity)
    clients.push(second)
    expect(await first.closed).toEqual({ code: CLOSE_CODES.REPLACED, reason: expect.any(String) })
    expect(await asker.request({ type: 'peers', digest: DIGEST })).toMatchObject({ code: 'FILE_NOT_FOUND' })
    expect(server.tracker.stats().peersOnline).toBe(2)
    // The id now reaches the new connection.
    expect(
      await asker.request({ type: 'signal', to: identity.peerId, data: { type: 'knock' } }),
    ).toMatchObject({
      type: 'ack',
    })
    expect(await second.next('signal')).toMatchObject({ from: asker.peerId })
  })

  it('refuses a signature made for another challenge or another host with BAD_SIGNATURE, and closes', async () => {
    const server = await serve()
    const identity = nodeIdentity()
    for (const forge of [
      (nonce: Uint8Array) =>
        helloSignedBytes(
          nonce.map((b) => b ^ 1),
          '127.0.0.1',
        ),
      (nonce: Uint8Array) => helloSignedBytes(nonce, 'other-tracker.example'),
    ]) {
      const client = open(server.url)
      const challenge = await client.next('challenge')
      const signature = await identity.sign(forge(fromHex(challenge.nonce)))
      client.send({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
      expect(await client.next('error')).toMatchObject({ code: 'BAD_SIGNATURE' })
      expect((await client.closed).code).toBe(CLOSE_CODES.HELLO_FAILED)
      expect(client.received.map((m) => m.type)).toEqual(['challenge', 'error'])
    }
    // Another key's signature under this key is no better.
    const client = open(server.url)
    const challenge = await client.next('challenge')
    const signature = await nodeIdentity().sign(helloSignedBytes(fromHex(challenge.nonce), '127.0.0.1'))
    client.send({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
    expect(await client.next('error')).toMatchObject({ code: 'BAD_SIGNATURE' })
    expect((await client.closed).code).toBe(CLOSE_CODES.HELLO_FAILED)
    await until(() => server.tracker.stats().peersOnline === 0)
  })

  it('answers anything before the hello with HELLO_REQUIRED (or BAD_MESSAGE) and closes; a bye closes normally', async () => {
    const server = await serve()
    const early = open(server.url)
    await early.next('challenge')
    early.send({ type: 'catalog', ref: 'c1' })
    expect(await early.next('error')).toMatchObject({ code: 'HELLO_REQUIRED', ref: 'c1' })
    expect((await early.closed).code).toBe(CLOSE_CODES.HELLO_FAILED)

    const malformed = open(server.url)
    await malformed.next('challenge')
    malformed.send({ type: 'hello', ref: 'h1', publicKey: 'zz', signature: '00' })
    expect(await malformed.next('error')).toMatchObject({ code: 'BAD_MESSAGE', ref: 'h1' })
    expect((await malformed.closed).code).toBe(CLOSE_CODES.HELLO_FAILED)

    const leaving = open(server.url)
    await leaving.next('challenge')
    leaving.send({ type: 'bye' })
    expect((await leaving.closed).code).toBe(CLOSE_CODES.NORMAL)
  })

  it('closes a connection that says no hello within HELLO_TIMEOUT_MS, and frees its place', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1))
    const server = await serve({ clock, limits: { connectionsPerAddress: 1 } })
    const silent = open(server.url)
    await silent.next('challenge')
    clock.advance(HELLO_TIMEOUT_MS)
    expect((await silent.closed).code).toBe(CLOSE_CODES.HELLO_FAILED)
    const next = await TestClient.connect(server.url)
    clients.push(next)
    expect(next.peerId).toMatch(/^[A-Za-z0-9_-]{16}$/)
  })

  it('handles messages sent right behind the hello after the welcome, in order', async () => {
    const server = await serve()
    const identity = nodeIdentity()
    const client = open(server.url)
    const challenge = await client.next('challenge')
    const signature = await identity.sign(helloSignedBytes(fromHex(challenge.nonce), '127.0.0.1'))
    client.send({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
    client.send({ type: 'catalog', ref: 'c1' })
    client.send({ type: 'leave', ref: 'l1', digests: [DIGEST] })
    expect(await client.next('welcome')).toMatchObject({ peerId: identity.peerId })
    expect(await client.next('catalog')).toMatchObject({ ref: 'c1' })
    expect(await client.next('ack')).toMatchObject({ ref: 'l1' })
    expect(client.received.map((m) => m.type)).toEqual(['challenge', 'welcome', 'catalog', 'ack'])
  })

  it('answers a hello after the welcome as an unknown type, and stays', async () => {
    const server = await serve()
    const client = await TestClient.connect(server.url)
    clients.push(client)
    client.send({ type: 'hello', ref: 'h2', publicKey: '00'.repeat(32), signature: '00'.repeat(64) })
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', ref: 'h2' })
    expect(await client.request({ type: 'catalog' })).toMatchObject({ type: 'catalog' })
  })
})
