/**
 * The `--listen` socket's protocol (cli/listen-server.ts, shared/entry-protocol.ts) against a raw client:
 * the challenge and signed hello, signals both ways, and every bad input answered with a typed error or a
 * close code while the next good message still works.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ENTRY_CONNECTIONS_PER_ADDRESS, ENTRY_MESSAGE_BURST, ListenServer } from '../../cli/listen-server.js'
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  MAX_ENTRY_MESSAGE_BYTES,
  parseEntryClientMessage,
  parseEntryServerMessage,
} from '../../shared/entry-protocol.js'
import { CLOSE_CODES } from '../../shared/errors.js'
import { helloSignedBytes, listenHelloSignedBytes } from '../../shared/identity-proof.js'
import { type NodeIdentity, nodeIdentity } from '../support/identities.js'
import { until } from '../support/until.js'

const servers: ListenServer[] = []
const sockets: WebSocket[] = []

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.terminate()
  for (const server of servers.splice(0)) server.destroy()
})

interface RawClient {
  socket: WebSocket
  messages: Record<string, unknown>[]
  closed: { code: number } | undefined
  send(value: unknown): void
}

async function start() {
  const host = nodeIdentity()
  const server = await ListenServer.start({
    port: 0,
    host: '127.0.0.1',
    identity: host,
    iceServers: () => [{ urls: 'stun:127.0.0.1:3478' }],
  })
  servers.push(server)
  return { host, server, url: `ws://127.0.0.1:${server.port}` }
}

async function connect(url: string): Promise<RawClient> {
  const socket = new WebSocket(url)
  sockets.push(socket)
  const client: RawClient = {
    socket,
    messages: [],
    closed: undefined,
    send: (value) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)),
  }
  socket.on('message', (data) => client.messages.push(JSON.parse(String(data))))
  socket.on('close', (code) => {
    client.closed = { code }
  })
  await until(() => client.messages.length > 0, 'the challenge')
  return client
}

function hello(client: RawClient, identity: NodeIdentity, sign = listenHelloSignedBytes): void {
  const { nonce } = client.messages[0] as { nonce: string }
  const signature = identity.signSync(sign(fromHex(nonce), '127.0.0.1'))
  client.send({ type: 'hello', publicKey: toHex(identity.publicKey), signature: toHex(signature) })
}

async function welcomed(url: string, identity = nodeIdentity()) {
  const client = await connect(url)
  hello(client, identity)
  await until(() => client.messages.some((m) => m.type === 'welcome'), 'the welcome')
  return { client, identity }
}

const errors = (client: RawClient) => client.messages.filter((m) => m.type === 'error').map((m) => m.code)

describe('the --listen socket', () => {
  it('challenges, welcomes a proven key, and relays signals between the client and the listening peer', async () => {
    const { host, server, url } = await start()
    const heard: [string, unknown][] = []
    server.signaller.onSignal((from, data) => heard.push([from, data]))
    const { client, identity } = await welcomed(url)
    expect(client.messages[0]).toMatchObject({ type: 'challenge', protocol: 1 })
    expect(client.messages[1]).toEqual({
      type: 'welcome',
      protocol: 1,
      peerId: identity.peerId,
      host: host.peerId,
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      limits: expect.objectContaining({ messagesPerSecond: 10 }),
    })
    expect(server.peers()).toEqual([identity.peerId])

    client.send({ type: 'signal', to: host.peerId, data: { type: 'candidate', candidate: 'x' } })
    await until(() => heard.length === 1)
    expect(heard[0]).toEqual([identity.peerId, { type: 'candidate', candidate: 'x' }])
    server.signaller.send(identity.peerId, { type: 'answer', sdp: 'v=0' })
    await until(() => client.messages.some((m) => m.type === 'signal'))
    expect(client.messages.at(-1)).toEqual({
      type: 'signal',
      from: host.peerId,
      data: { type: 'answer', sdp: 'v=0' },
    })

    client.send({ type: 'bye' })
    await until(() => client.closed !== undefined)
    expect(client.closed?.code).toBe(CLOSE_CODES.NORMAL)
    await until(() => server.peers().length === 0, 'the client forgotten')
  })

  it('refuses a tracker hello, a signal before the hello and a hello signed for another challenge', async () => {
    const { host, url } = await start()
    const early = await connect(url)
    early.send({ type: 'signal', to: host.peerId, data: {} })
    await until(() => errors(early).length === 1)
    expect(errors(early)).toEqual(['HELLO_REQUIRED'])

    // A proof made for the tracker is not one for this socket, even on the same host.
    const trackerProof = await connect(url)
    hello(trackerProof, nodeIdentity(), helloSignedBytes)
    await until(() => trackerProof.closed !== undefined)
    expect(errors(trackerProof)).toEqual(['BAD_SIGNATURE'])
    expect(trackerProof.closed?.code).toBe(CLOSE_CODES.HELLO_FAILED)
  })

  it('answers bad input with typed errors and keeps serving the next good message', async () => {
    const { host, server, url } = await start()
    const heard: string[] = []
    server.signaller.onSignal((from) => heard.push(from))
    const { client, identity } = await welcomed(url)
    client.send('not json')
    client.send({ type: 'announce', files: [] })
    client.send({ type: 'signal', to: 'not-a-peer-id', data: {} })
    client.send({ type: 'signal', to: nodeIdentity().peerId, data: {} })
    client.send({ type: 'signal', to: identity.peerId, data: {} })
    client.socket.send(Buffer.from([1, 2, 3]))
    client.send({ type: 'signal', to: host.peerId, data: { huge: 'x'.repeat(MAX_ENTRY_MESSAGE_BYTES) } })
    await until(() => errors(client).length === 7)
    expect(errors(client)).toEqual([
      'BAD_MESSAGE',
      'UNKNOWN_TYPE',
      'BAD_MESSAGE',
      'PEER_NOT_FOUND',
      'SELF_SIGNAL',
      'BAD_MESSAGE',
      'SIGNAL_TOO_LARGE',
    ])
    client.send({ type: 'signal', to: host.peerId, data: { type: 'candidate' } })
    await until(() => heard.length === 1)
    expect(client.closed).toBeUndefined()
    // Far over the limit: ws cuts it before buffering it.
    client.send('x'.repeat(3 * MAX_ENTRY_MESSAGE_BYTES))
    await until(() => client.closed !== undefined)
    expect(client.closed?.code).toBe(CLOSE_CODES.TOO_BIG)
  })

  it('rate-limits each connection and caps the connections of one address', async () => {
    const { host, url } = await start()
    const { client } = await welcomed(url)
    for (let i = 0; i < ENTRY_MESSAGE_BURST + 10; i++)
      client.send({ type: 'signal', to: host.peerId, data: {} })
    await until(() => errors(client).includes('RATE_LIMITED'), 'a RATE_LIMITED error')

    const more = []
    for (let i = 1; i < ENTRY_CONNECTIONS_PER_ADDRESS; i++) more.push(await connect(url))
    const over = new WebSocket(url)
    sockets.push(over)
    const overErrors: unknown[] = []
    over.on('message', (data) => overErrors.push(JSON.parse(String(data)).code))
    let closeCode = 0
    over.on('close', (code) => {
      closeCode = code
    })
    await until(() => closeCode !== 0, 'the fifth socket closed')
    expect(overErrors).toEqual(['RATE_LIMITED'])
    expect(closeCode).toBe(CLOSE_CODES.POLICY)
  })

  it('a newer connection with the same key replaces the older one', async () => {
    const { server, url } = await start()
    const identity = nodeIdentity()
    const first = await welcomed(url, identity)
    await welcomed(url, identity)
    await until(() => first.client.closed !== undefined)
    expect(first.client.closed?.code).toBe(CLOSE_CODES.REPLACED)
    expect(server.peers()).toEqual([identity.peerId])
  })

  it('parsers never throw: random input is a typed message or a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (raw) => {
        for (const parsed of [parseEntryClientMessage(raw), parseEntryServerMessage(raw)]) {
          if (!parsed.ok) expect(parsed.error.code).toMatch(/^[A-Z_]+$/)
        }
      }),
    )
  })
})
