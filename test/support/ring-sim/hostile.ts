/**
 * A hostile node for the simulator (issue 12: "nodes that drop what they should forward or store, or
 * answer with forged records"). It runs the real ring code — it keeps its place on the ring and answers
 * its neighbours, so it is not simply dead — behind a transport that:
 * - drops every routed request and answer it should pass on for others, and every put and replica push
 *   sent to it (it stores nothing for others);
 * - answers lookups with forged records: real ones with a field changed under the old signature, and
 *   records that claim an honest publisher's key with a signature of its own;
 * - pushes forged records to its successor instead of the real ones.
 */
import { encodeRingMessage, parseRingMessage, type RingMessage } from '../../../shared/ring-protocol.js'
import type { SignedRecord } from '../../../shared/ring-records.js'
import type { RingTransport } from '../../../web/peer/ring/ring-transport.js'
import type { Prng } from './prng.js'

export interface HostileLog {
  dropped: number
  forged: number
}

export function hostileTransport(
  inner: RingTransport,
  selfId: string,
  prng: Prng,
  log: HostileLog,
): RingTransport {
  return {
    ...inner,
    attach: (handler) =>
      inner.attach({
        ...handler,
        onFrame: (peerId, payload) => {
          const parsed = parseRingMessage(payload)
          if (parsed.ok && storesForOthers(parsed.message)) {
            log.dropped++
            return
          }
          handler.onFrame(peerId, payload)
        },
      }),
    send: (peerId, payload) => {
      const parsed = parseRingMessage(payload)
      if (!parsed.ok) return inner.send(peerId, payload)
      const message = parsed.message
      if (message.type === 'route' && message.origin !== selfId) {
        log.dropped++
        return
      }
      if (message.type === 'route-reply' && message.from !== selfId) {
        log.dropped++
        return
      }
      if (message.type === 'route-reply' && message.result.op === 'records') {
        log.forged++
        const records = message.result.records.map((record) => forge(record, prng))
        return inner.send(peerId, encodeRingMessage({ ...message, result: { op: 'records', records } }))
      }
      if (message.type === 'replicate') {
        log.forged++
        const records = message.records.map((record) => forge(record, prng))
        return inner.send(peerId, encodeRingMessage({ ...message, records }))
      }
      inner.send(peerId, payload)
    },
  }
}

function storesForOthers(message: RingMessage): boolean {
  return message.type === 'replicate' || (message.type === 'route' && message.request.op === 'put')
}

/** A record that looks real and is not: one field changed under the old signature, or a stolen key. */
function forge(record: SignedRecord, prng: Prng): SignedRecord {
  const signature = record.signature.slice()
  switch (prng.int(3)) {
    case 0:
      return record.kind === 'provider'
        ? { ...record, chunks: record.chunks + 1 }
        : { ...record, name: `${record.name}.exe`, signature }
    case 1:
      return { ...record, expiresAt: record.expiresAt + 3600, signature }
    default:
      signature[prng.int(64)]! ^= 1 << prng.int(8)
      return { ...record, signature }
  }
}
