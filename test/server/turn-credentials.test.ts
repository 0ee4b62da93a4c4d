import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @roamhq/wrtc is CommonJS whose exports Node cannot list statically: take the default export.
import wrtc from '@roamhq/wrtc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintTurnCredentials, type TurnIceServer, turnIceServer } from '../../signal/turn-credentials.js'
import { stopChild } from '../support/child-process.js'

const PEER_ID = 'AbCdEfGhIjKlMn_-'

describe('mintTurnCredentials', () => {
  it('matches a credential computed independently with openssl', () => {
    // printf '%s' '1700003600:peer-abc' | openssl dgst -sha1 -hmac 'north-wind' -binary | base64
    const minted = mintTurnCredentials({
      secret: 'north-wind',
      ttlSeconds: 3600,
      peerId: 'peer-abc',
      nowMs: 1_700_000_000_000,
    })
    expect(minted).toEqual({
      username: '1700003600:peer-abc',
      credential: 'idsutjO6jI8PqHC16Z8NP6zY3n0=',
      expiresAtMs: 1_700_003_600_000,
    })
  })

  it('puts the expiry in Unix seconds before the peer id, separated by a colon', () => {
    // printf '%s' '1700003600:AbCdEfGhIjKlMn_-' | openssl dgst -sha1 -hmac 'north-wind' -binary | base64
    const minted = mintTurnCredentials({
      secret: 'north-wind',
      ttlSeconds: 3600,
      peerId: PEER_ID,
      nowMs: 1_700_000_000_000,
    })
    expect(minted.username).toBe(`1700003600:${PEER_ID}`)
    expect(minted.username).toMatch(/^\d+:[A-Za-z0-9_-]{16}$/)
    expect(minted.credential).toBe('LFr62Oww6SjiGdN1InHHeZKf06w=')
  })

  it('rounds the current time down to the second, so a credential never outlives its TTL', () => {
    const nowMs = 1_700_000_000_999
    const minted = mintTurnCredentials({ secret: 's', ttlSeconds: 60, peerId: PEER_ID, nowMs })
    expect(minted.username).toBe(`1700000060:${PEER_ID}`)
    expect(minted.expiresAtMs).toBe(1_700_000_060_000)
    expect(minted.expiresAtMs).toBeLessThanOrEqual(nowMs + 60_000)
    expect(minted.expiresAtMs).toBeGreaterThan(nowMs + 60_000 - 1000)
  })

  it('gives a different credential for another secret, peer or time', () => {
    const base = { secret: 'a', ttlSeconds: 60, peerId: PEER_ID, nowMs: 1_700_000_000_000 }
    const credential = mintTurnCredentials(base).credential
    expect(mintTurnCredentials({ ...base, secret: 'b' }).credential).not.toBe(credential)
    expect(mintTurnCredentials({ ...base, peerId: 'BbCdEfGhIjKlMn_-' }).credential).not.toBe(credential)
    expect(mintTurnCredentials({ ...base, nowMs: base.nowMs + 1000 }).credential).not.toBe(credential)
  })

  it('refuses configuration mistakes with a RangeError', () => {
    const good = { secret: 's', ttlSeconds: 60, peerId: PEER_ID, nowMs: 1_700_000_000_000 }
    expect(() => mintTurnCredentials({ ...good, secret: '' })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, ttlSeconds: 0 })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, ttlSeconds: 1.5 })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, nowMs: Number.NaN })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, peerId: '' })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, peerId: 'a:b' })).toThrow(RangeError)
    expect(() => mintTurnCredentials({ ...good, peerId: 'x'.repeat(600) })).toThrow(RangeError)
  })
})

describe('turnIceServer', () => {
  it('builds an RTCIceServer entry with a freshly minted credential and a copy of the URLs', () => {
    const urls = ['turn:turn.example:3478?transport=udp', 'turn:turn.example:3478?transport=tcp']
    const options = { secret: 'north-wind', ttlSeconds: 3600, peerId: 'peer-abc', nowMs: 1_700_000_000_000 }
    const server = turnIceServer({ urls, ...options })
    expect(server).toEqual({
      urls,
      username: '1700003600:peer-abc',
      credential: 'idsutjO6jI8PqHC16Z8NP6zY3n0=',
    })
    expect(server.urls).not.toBe(urls)
  })

  it('refuses an empty URL list', () => {
    const options = { secret: 's', ttlSeconds: 60, peerId: PEER_ID, nowMs: 0 }
    expect(() => turnIceServer({ urls: [], ...options })).toThrow(RangeError)
  })
})

const TURNSERVER = 'turnserver'
const INSTALL_HINT = 'turnserver not found: install coturn (apt-get install coturn)'
const REALM = 'swarmdrop.test'
const LOOPBACK = '127.0.0.1'
const TTL_S = 60
const DAY_MS = 24 * 60 * 60 * 1000
/** coturn starts listening in ~50 ms here; a loaded CI machine gets a hundred times that. */
const COTURN_READY_TIMEOUT_MS = 5000
const READY_PROBE_INTERVAL_MS = 50
/** Gathering against loopback coturn completes in ~100 ms (the allocation, then libwebrtc's own wait). */
const GATHER_TIMEOUT_MS = 5000
const STOP_GRACE_MS = 2000
const STUN_MAGIC_COOKIE = 0x2112a442
const STUN_BINDING_REQUEST = 0x0001
const STUN_BINDING_SUCCESS = 0x0101
const STUN_HEADER_BYTES = 20

describe('TURN credentials against a real coturn', () => {
  const secret = randomBytes(24).toString('base64url')
  let coturn: Coturn | undefined

  beforeAll(async () => {
    coturn = await startCoturn(secret)
  })

  afterAll(async () => {
    await coturn?.stop()
  })

  it('allocates a relayed address for a freshly minted credential', async () => {
    const server = turnIceServer({
      urls: [coturn!.url],
      secret,
      ttlSeconds: TTL_S,
      peerId: PEER_ID,
      nowMs: Date.now(),
    })
    const result = await gatherRelayCandidates(server)
    expect(result.turnErrors).toEqual([])
    expect(result.relayCandidates.length).toBeGreaterThan(0)
    for (const candidate of result.relayCandidates) {
      expect(candidate).toMatch(new RegExp(` udp \\d+ ${LOOPBACK.replaceAll('.', '\\.')} \\d+ typ relay `))
    }
  })

  it('refuses a credential whose expiry has passed', async () => {
    const server = turnIceServer({
      urls: [coturn!.url],
      secret,
      ttlSeconds: TTL_S,
      peerId: PEER_ID,
      nowMs: Date.now() - DAY_MS,
    })
    expectRefused(await gatherRelayCandidates(server))
  })

  it('refuses a credential minted with another secret', async () => {
    const server = turnIceServer({
      urls: [coturn!.url],
      secret: `${secret}-wrong`,
      ttlSeconds: TTL_S,
      peerId: PEER_ID,
      nowMs: Date.now(),
    })
    expectRefused(await gatherRelayCandidates(server))
  })
})

function expectRefused(result: GatherResult): void {
  expect(result.relayCandidates).toEqual([])
  expect(result.turnErrors.length).toBeGreaterThan(0)
  // 401 Unauthorized is what coturn answers to a bad or expired REST credential; 438 Stale Nonce is
  // the other answer RFC 8656 allows for a refused long-term credential.
  for (const error of result.turnErrors) expect([401, 438]).toContain(error.code)
}

interface Coturn {
  /** A TURN URL for UDP on loopback. */
  url: string
  stop(): Promise<void>
}

async function startCoturn(secret: string): Promise<Coturn> {
  const probe = spawnSync(TURNSERVER, ['--version'], { timeout: 5000 })
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(INSTALL_HINT)

  const dir = await mkdtemp(join(tmpdir(), 'swarmdrop-coturn-'))
  const port = await findFreePort()
  const args = [
    '-n', // no configuration file: /etc/turnserver.conf must not change what the test runs
    `--listening-ip=${LOOPBACK}`,
    `--relay-ip=${LOOPBACK}`,
    `--listening-port=${port}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${REALM}`,
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--no-tcp-relay',
    '--no-multicast-peers',
    // Its own files in a temporary folder, so it writes nothing under /var and needs no privileges.
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ]
  const child = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  const keepLog = (chunk: Buffer) => {
    log += chunk.toString('utf8')
  }
  child.stdout.on('data', keepLog)
  child.stderr.on('data', keepLog)
  // A worker that exits without running afterAll (a crash, a hard timeout) must not leave coturn behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const stop = async () => {
    process.removeListener('exit', killOnExit)
    await stopChild(child, STOP_GRACE_MS)
    await rm(dir, { recursive: true, force: true })
  }

  try {
    await waitForStun(child, port)
  } catch (err) {
    await stop()
    throw new Error(`coturn did not start: ${(err as Error).message}\n${log.slice(-2000)}`)
  }
  return { url: `turn:${LOOPBACK}:${port}?transport=udp`, stop }
}

/** A port free for both UDP and TCP on loopback (coturn listens on both). */
async function findFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(0, LOOPBACK, resolve)
    })
    const { port } = udp.address()
    const tcp = net.createServer()
    const tcpFree = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false))
      tcp.listen(port, LOOPBACK, () => resolve(true))
    })
    await new Promise<void>((resolve) => udp.close(() => resolve()))
    if (tcpFree) await new Promise<void>((resolve) => tcp.close(() => resolve()))
    if (tcpFree) return port
  }
  throw new Error('no port free for both UDP and TCP on loopback after 20 tries')
}

/** Resolves once coturn answers a STUN Binding request on the port, i.e. it is listening. */
async function waitForStun(child: ChildProcess, port: number): Promise<void> {
  const socket = dgram.createSocket('udp4')
  const transactionId = randomBytes(12)
  const request = Buffer.alloc(STUN_HEADER_BYTES)
  request.writeUInt16BE(STUN_BINDING_REQUEST, 0)
  request.writeUInt16BE(0, 2) // no attributes
  request.writeUInt32BE(STUN_MAGIC_COOKIE, 4)
  transactionId.copy(request, 8)

  let timer: NodeJS.Timeout | undefined
  let deadline: NodeJS.Timeout | undefined
  let onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (message) => {
        const isAnswer =
          message.length >= STUN_HEADER_BYTES &&
          message.readUInt16BE(0) === STUN_BINDING_SUCCESS &&
          message.subarray(8, STUN_HEADER_BYTES).equals(transactionId)
        if (isAnswer) resolve()
      })
      // Until coturn binds, the kernel answers with ICMP port unreachable, which surfaces here.
      socket.on('error', () => {})
      onExit = (code, signal) => reject(new Error(`turnserver exited early (code ${code}, signal ${signal})`))
      child.once('exit', onExit)
      const send = () => socket.send(request, port, LOOPBACK)
      send()
      timer = setInterval(send, READY_PROBE_INTERVAL_MS)
      deadline = setTimeout(
        () => reject(new Error(`no STUN answer on ${LOOPBACK}:${port} within ${COTURN_READY_TIMEOUT_MS} ms`)),
        COTURN_READY_TIMEOUT_MS,
      )
    })
  } finally {
    clearInterval(timer)
    clearTimeout(deadline)
    if (onExit) child.removeListener('exit', onExit)
    socket.close()
  }
}

interface GatherResult {
  relayCandidates: string[]
  /** ICE candidate errors reported for the TURN URL (libwebrtc also reports unrelated STUN ones). */
  turnErrors: { code: number; text: string }[]
}

/**
 * Gathers candidates with only relays allowed: libwebrtc sends a TURN Allocate with the credential, and
 * a relay candidate appears if and only if coturn granted the allocation.
 */
async function gatherRelayCandidates(iceServer: TurnIceServer): Promise<GatherResult> {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: 'relay' })
  const result: GatherResult = { relayCandidates: [], turnErrors: [] }
  let deadline: NodeJS.Timeout | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      pc.onicecandidate = (event) => {
        if (event.candidate === null) return resolve()
        if (event.candidate.candidate.includes(' typ relay '))
          result.relayCandidates.push(event.candidate.candidate)
      }
      pc.onicecandidateerror = (event) => {
        if (event.url.startsWith('turn:'))
          result.turnErrors.push({ code: event.errorCode, text: event.errorText })
      }
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') resolve()
      }
      deadline = setTimeout(
        () => reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`)),
        GATHER_TIMEOUT_MS,
      )
      // A data channel gives the offer an m-line, without which nothing is gathered.
      pc.createDataChannel('probe')
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .catch(reject)
    })
  } finally {
    clearTimeout(deadline)
    pc.close()
  }
  return result
}
