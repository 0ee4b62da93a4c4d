/** Why a link could not be made, from the candidate types each side gathered: the classification table. */
import { describe, expect, it } from 'vitest'
import { SwarmError } from '../../shared/errors.js'
import {
  type CandidateType,
  candidateLinesOf,
  candidateTypeOf,
  explainUnreachable,
  hasServerBeyondLan,
  hasTurn,
  isPublicHostCandidate,
} from '../../web/peer/ice-diagnosis.js'

const HOST = 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 network-id 1'
const SRFLX = 'candidate:2 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 54321'
const RELAY = 'candidate:3 1 udp 41885439 198.51.100.9 50000 typ relay raddr 203.0.113.7 rport 61000'

describe('candidateTypeOf', () => {
  it('reads the type of a candidate line, with or without the SDP prefix', () => {
    expect(candidateTypeOf(HOST)).toBe('host')
    expect(candidateTypeOf(SRFLX)).toBe('srflx')
    expect(candidateTypeOf(RELAY)).toBe('relay')
    expect(candidateTypeOf('candidate:4 1 tcp 1 10.0.0.1 9 typ prflx tcptype active')).toBe('prflx')
    expect(candidateTypeOf(`a=${SRFLX}`)).toBe('srflx')
    expect(candidateTypeOf('candidate:1 1 UDP 1 1.2.3.4 5 TYP HOST')).toBe('host')
    expect(candidateTypeOf('candidate:1 1 udp 1 1.2.3.4 5 typ relay')).toBe('relay') // type last
  })

  it('gives undefined for lines that name no known type', () => {
    expect(candidateTypeOf('')).toBeUndefined() // end of candidates
    expect(candidateTypeOf('candidate:memory')).toBeUndefined()
    expect(candidateTypeOf('candidate:1 1 udp 1 1.2.3.4 5 typ hostile')).toBeUndefined()
    expect(candidateTypeOf('candidate:1 1 udp 1 typhost 5 typ')).toBeUndefined()
  })

  it('finds the candidate lines of an SDP', () => {
    const sdp = [
      'v=0',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      `a=${HOST}`,
      `a=${SRFLX}`,
      '',
    ].join('\r\n')
    expect(candidateLinesOf(sdp).map(candidateTypeOf)).toEqual(['host', 'srflx'])
    expect(candidateLinesOf('v=0\r\n')).toEqual([])
  })
})

describe('isPublicHostCandidate', () => {
  it('is true only for a host candidate on a public address', () => {
    expect(isPublicHostCandidate('candidate:1 1 udp 1 203.0.113.5 5000 typ host')).toBe(true)
    expect(isPublicHostCandidate('candidate:1 1 udp 1 2001:db8::5 5000 typ host')).toBe(true)
    for (const address of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.1',
      '192.168.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '100.64.0.1',
      'fe80::1',
      'fd00::1',
      '::1',
      '4a1c3f9e-1b2c-4d5e-8f90-123456789abc.local',
    ]) {
      expect(isPublicHostCandidate(`candidate:1 1 udp 1 ${address} 5000 typ host`), address).toBe(false)
    }
    expect(isPublicHostCandidate(SRFLX)).toBe(false) // public, but not host
  })
})

describe('hasTurn', () => {
  it('finds a turn: or turns: URL among the ICE servers', () => {
    expect(hasTurn([])).toBe(false)
    expect(hasTurn([{ urls: 'stun:example.org:3478' }])).toBe(false)
    expect(hasTurn([{ urls: ['stun:a.example:3478', 'stuns:a.example:5349'] }])).toBe(false)
    expect(
      hasTurn([{ urls: 'stun:a' }, { urls: 'turn:a.example:3478', username: 'u', credential: 'c' }]),
    ).toBe(true)
    expect(hasTurn([{ urls: ['stun:a', 'TURNS:a.example:5349?transport=tcp'] }])).toBe(true)
  })
})

describe('hasServerBeyondLan', () => {
  it('counts names and public addresses, not servers on this machine or its LAN', () => {
    expect(hasServerBeyondLan([])).toBe(false)
    expect(hasServerBeyondLan([{ urls: 'stun:swarm.example.org:3478' }])).toBe(true)
    expect(hasServerBeyondLan([{ urls: 'stun:203.0.113.1:3478' }])).toBe(true)
    expect(hasServerBeyondLan([{ urls: 'turn:[2001:db8::1]:3478?transport=udp' }])).toBe(true)
    expect(hasServerBeyondLan([{ urls: 'stun:127.0.0.1:3478' }])).toBe(false)
    expect(hasServerBeyondLan([{ urls: 'stun:localhost:3478' }])).toBe(false)
    expect(hasServerBeyondLan([{ urls: ['stun:192.168.1.10', 'turn:10.0.0.2:3478'] }])).toBe(false)
    expect(hasServerBeyondLan([{ urls: 'stun:[fe80::1]:3478' }])).toBe(false)
    expect(hasServerBeyondLan([{ urls: 'stun:10.0.0.2' }, { urls: 'stun:stun.example.net' }])).toBe(true)
  })
})

describe('explainUnreachable', () => {
  type Row = {
    local: CandidateType[]
    remote: CandidateType[]
    turn: boolean
    servers: boolean
    publicHost?: boolean
    code: 'NAT_BLOCKED' | 'UDP_BLOCKED' | 'PEER_UNREACHABLE'
    why: string
  }
  const rows: Row[] = [
    // hole punching tried on both sides, nothing to relay through: symmetric NATs or strict firewalls
    {
      local: ['host', 'srflx'],
      remote: ['host', 'srflx'],
      turn: false,
      servers: true,
      code: 'NAT_BLOCKED',
      why: 'both punched',
    },
    {
      local: ['host', 'srflx'],
      remote: ['host'],
      turn: false,
      servers: true,
      code: 'NAT_BLOCKED',
      why: 'their side host only',
    },
    {
      local: ['host'],
      remote: ['host'],
      turn: false,
      servers: false,
      code: 'NAT_BLOCKED',
      why: 'no STUN given at all',
    },
    {
      local: ['host'],
      remote: ['host', 'srflx'],
      turn: false,
      servers: true,
      publicHost: true,
      code: 'NAT_BLOCKED',
      why: 'public host needs no srflx',
    },
    // this side reaches no STUN/TURN server although it was given one
    {
      local: ['host'],
      remote: ['host', 'srflx'],
      turn: false,
      servers: true,
      code: 'UDP_BLOCKED',
      why: 'STUN unreachable',
    },
    {
      local: ['host'],
      remote: ['host', 'srflx', 'relay'],
      turn: true,
      servers: true,
      code: 'UDP_BLOCKED',
      why: 'STUN and TURN unreachable',
    },
    {
      local: ['host'],
      remote: [],
      turn: false,
      servers: true,
      code: 'UDP_BLOCKED',
      why: 'our own network, whatever the peer',
    },
    // TURN configured: the relay should have got through, so something else is wrong
    {
      local: ['host', 'srflx', 'relay'],
      remote: ['host', 'srflx', 'relay'],
      turn: true,
      servers: true,
      code: 'PEER_UNREACHABLE',
      why: 'even the relay failed',
    },
    {
      local: ['host', 'srflx'],
      remote: ['host', 'srflx'],
      turn: true,
      servers: true,
      code: 'PEER_UNREACHABLE',
      why: 'TURN given, no relay gathered',
    },
    // the peer sent nothing: it may have left, or never answered
    {
      local: ['host', 'srflx'],
      remote: [],
      turn: false,
      servers: true,
      code: 'PEER_UNREACHABLE',
      why: 'peer silent',
    },
    { local: [], remote: [], turn: false, servers: true, code: 'PEER_UNREACHABLE', why: 'nothing at all' },
    {
      local: [],
      remote: ['host', 'srflx'],
      turn: false,
      servers: true,
      code: 'PEER_UNREACHABLE',
      why: 'we gathered nothing',
    },
    // a relay on one side without TURN here: not the no-TURN case
    {
      local: ['host', 'srflx'],
      remote: ['relay'],
      turn: false,
      servers: true,
      code: 'PEER_UNREACHABLE',
      why: 'peer relayed',
    },
  ]

  it.each(rows)('$code when $why (local $local, remote $remote, TURN $turn)', (row) => {
    const error = explainUnreachable({
      localTypes: row.local,
      remoteTypes: row.remote,
      turnConfigured: row.turn,
      serversConfigured: row.servers,
      localPublicHost: row.publicHost ?? false,
      peerId: 'peer-1',
    })
    expect(error).toBeInstanceOf(SwarmError)
    expect(error.code).toBe(row.code)
  })

  it('lists what was seen in the developer message, and keeps the cause', () => {
    const cause = new Error('ERR_ICE_CONNECTION_FAILURE')
    const error = explainUnreachable({
      localTypes: new Set<CandidateType>(['srflx', 'host']),
      remoteTypes: ['host', 'srflx', 'host'],
      turnConfigured: false,
      serversConfigured: true,
      peerId: 'peer-1',
      reason: 'ICE failed',
      cause,
    })
    expect(error.code).toBe('NAT_BLOCKED')
    expect(error.message).toContain('peer-1')
    expect(error.message).toContain('ICE failed')
    expect(error.message).toContain('local candidates: host, srflx')
    expect(error.message).toContain('remote candidates: host, srflx')
    expect(error.message).toContain('TURN: no')
    expect(error.cause).toBe(cause)
    const silent = explainUnreachable({ localTypes: [], remoteTypes: [], turnConfigured: true, peerId: 'p' })
    expect(silent.message).toContain('local candidates: none; remote candidates: none; TURN: yes')
  })

  it('claims UDP_BLOCKED only when a server is known to have been given', () => {
    const base = {
      localTypes: ['host'] as CandidateType[],
      remoteTypes: ['host', 'srflx'] as CandidateType[],
      peerId: 'p',
    }
    expect(explainUnreachable({ ...base, turnConfigured: false }).code).toBe('NAT_BLOCKED')
    expect(explainUnreachable({ ...base, turnConfigured: true }).code).toBe('UDP_BLOCKED')
  })
})
