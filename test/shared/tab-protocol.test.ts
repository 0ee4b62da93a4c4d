import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../shared/errors.js'
import {
  encodeTabMessage,
  MAX_TAB_MESSAGE_BYTES,
  parseTabMessage,
  type TabMessage,
} from '../../shared/tab-protocol.js'

const A = 'AAAAAAAAAAAAAAAA'
const B = 'BBBBBBBBBBBBBBBB'

describe('the tab protocol', () => {
  it('round-trips each message', () => {
    const messages: TabMessage[] = [
      { type: 'here', peerId: A },
      { type: 'here', peerId: A, ask: true },
      { type: 'gone', peerId: A },
      { type: 'signal', from: A, to: B, data: { type: 'offer', sdp: 'v=0\r\n' } },
    ]
    for (const message of messages)
      expect(parseTabMessage(encodeTabMessage(message))).toEqual({ ok: true, message })
  })

  it('refuses what is not JSON text, too large, of an unknown type or malformed, with a code', () => {
    const code = (raw: unknown) => {
      const parsed = parseTabMessage(raw)
      return parsed.ok ? 'ok' : parsed.error.code
    }
    expect(code({ type: 'here', peerId: A })).toBe('BAD_MESSAGE')
    expect(code('x'.repeat(MAX_TAB_MESSAGE_BYTES + 1))).toBe('SIGNAL_TOO_LARGE')
    expect(code('{"type":"welcome"}')).toBe('UNKNOWN_TYPE')
    expect(code(`{"type":"signal","from":"${A}","to":"${B}","data":"not an object"}`)).toBe('BAD_MESSAGE')
    expect(code(`{"type":"here","peerId":"${A}","ask":false}`)).toBe('BAD_MESSAGE')
  })

  it('never throws: any string or value gives a message or a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (raw) => {
        const parsed = parseTabMessage(raw)
        expect(parsed.ok || ERROR_CODES.includes(parsed.error.code)).toBe(true)
      }),
      { numRuns: 2_000 },
    )
  })
})
