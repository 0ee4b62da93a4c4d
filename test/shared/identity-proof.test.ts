/**
 * The bytes a hello and a signed offer or answer cover, against vectors computed independently (Python's
 * `cryptography`, the script in docs/PROTOCOL.md) with the RFC 8032 §7.1 test 1 key.
 */
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../shared/encoding.js'
import {
  helloHostOf,
  helloSignedBytes,
  keyMatchesPeerId,
  signalSignedBytes,
  verifySignature,
} from '../../shared/identity-proof.js'
import { identityOf, keyPairFromSeed } from '../../web/peer/identity.js'

const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const PUBLIC_KEY = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const PEER_ID = 'If4x36FUomFia_hU'
const NONCE = Uint8Array.from({ length: 32 }, (_, i) => i)
const HELLO_BYTES =
  '737761726d64726f702f68656c6c6f2f763100000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f737761726d2e6578616d706c652e6f7267'
const HELLO_SIGNATURE =
  'd0ee754a87e64333056e37e9fb023af2f9ed442820077903a844fb197cbf27617a5f9cd4cf8c567ee378f7489ad611ce19909253be6cefbf3141f298d3a4ab02'
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AB:CD\r\n'
const SIGNAL = {
  from: PEER_ID,
  to: 'zyxwvutsrq012345',
  sid: '0123456789abcdef',
  type: 'offer',
  sdp: SDP,
  at: 1_796_083_200_000, // 2026-12-01T00:00:00Z
} as const
const SIGNAL_BYTES =
  '737761726d64726f702f7369676e616c2f76320049663478333646556f6d4669615f68557a79787776757473727130313233343510303132333435363738396162636465666f6666657200000001a22ee6b000763d300d0a6f3d2d2031203220494e20495034203132372e302e302e310d0a733d2d0d0a743d3020300d0a613d66696e6765727072696e743a7368612d3235362041423a43440d0a'
const SIGNAL_SIGNATURE =
  'c795ee710b7f9ab73090df85860e657dfadce5b696fbdb7365d114d421e129095915e25f11c2d267b762833539c0d44d5e1ee2294ec8470c09e73881baff4f0c'

describe('identity proofs', () => {
  it('signs the hello bytes of the vector: context, nonce, host', async () => {
    const identity = await identityOf(await keyPairFromSeed(SEED))
    expect(identity.peerId).toBe(PEER_ID)
    const bytes = helloSignedBytes(NONCE, 'swarm.example.org')
    expect(toHex(bytes)).toBe(HELLO_BYTES)
    expect(toHex(await identity.sign(bytes))).toBe(HELLO_SIGNATURE)
    expect(await verifySignature(PUBLIC_KEY, bytes, fromHex(HELLO_SIGNATURE))).toBe(true)
  })

  it('signs the offer bytes of the vector: context, from, to, sid, type, time, SDP', async () => {
    const identity = await identityOf(await keyPairFromSeed(SEED))
    const bytes = signalSignedBytes(SIGNAL)
    expect(toHex(bytes)).toBe(SIGNAL_BYTES)
    expect(toHex(await identity.sign(bytes))).toBe(SIGNAL_SIGNATURE)
    // Each field is covered: changing any one breaks the signature.
    const altered = [
      { ...SIGNAL, from: 'AAAAAAAAAAAAAAAA' },
      { ...SIGNAL, to: 'AAAAAAAAAAAAAAAA' },
      { ...SIGNAL, sid: '0123456789abcdeg' },
      { ...SIGNAL, type: 'answer' as const },
      { ...SIGNAL, sdp: SDP.replace('AB:CD', 'AB:CE') },
      { ...SIGNAL, at: SIGNAL.at + 1 },
    ]
    for (const fields of altered) {
      expect(await verifySignature(PUBLIC_KEY, signalSignedBytes(fields), fromHex(SIGNAL_SIGNATURE))).toBe(
        false,
      )
    }
  })

  it('refuses to build signal bytes for a time that is not a whole, non-negative number of ms', () => {
    for (const at of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(() => signalSignedBytes({ ...SIGNAL, at })).toThrow(RangeError)
  })

  it('names the host without port or brackets, in lower case', () => {
    expect(helloHostOf('wss://Swarm.Example.org:8443/ws')).toBe('swarm.example.org')
    expect(helloHostOf('ws://127.0.0.1:8080/ws')).toBe('127.0.0.1')
    expect(helloHostOf('ws://[::1]:8080/ws')).toBe('::1')
  })

  it('matches a key to its peer id only', async () => {
    expect(await keyMatchesPeerId(PUBLIC_KEY, PEER_ID)).toBe(true)
    expect(await keyMatchesPeerId(PUBLIC_KEY, 'zyxwvutsrq012345')).toBe(false)
    expect(await keyMatchesPeerId(PUBLIC_KEY.subarray(1), PEER_ID)).toBe(false)
  })
})
