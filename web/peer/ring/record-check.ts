/**
 * What a node checks before it keeps or believes a record (DHT.md, "Records"): the expiry window, that
 * the record belongs under the key it came with, and the publisher's signature — in that order, cheapest
 * first. A storer runs it on every record it is asked to keep; a node that looked records up runs it on
 * every record it got back, so a forged record is never stored and never returned to the user.
 */
import { toHex } from '../../../shared/encoding.js'
import type { RingErrorCode } from '../../../shared/ring-protocol.js'
import {
  CLOCK_SKEW_S,
  keyInputsOf,
  MAX_NAME_TTL_S,
  MAX_PROVIDER_TTL_S,
  recordSignedBytes,
  type SignedRecord,
} from '../../../shared/ring-records.js'
import type { RingCrypto } from './ring-crypto.js'

export type RecordProblem = Extract<RingErrorCode, 'RECORD_EXPIRED' | 'KEY_MISMATCH' | 'BAD_SIGNATURE'>

/** Null when `record` may be kept under `key` at `nowS`, else what is wrong with it. */
export async function checkRecord(
  record: SignedRecord,
  key: string,
  nowS: number,
  crypto: RingCrypto,
): Promise<RecordProblem | null> {
  const maxTtl = record.kind === 'provider' ? MAX_PROVIDER_TTL_S : MAX_NAME_TTL_S
  if (
    record.issuedAt > nowS + CLOCK_SKEW_S ||
    record.expiresAt <= nowS ||
    record.expiresAt - record.issuedAt > maxTtl
  )
    return 'RECORD_EXPIRED'
  if (!(await derivesTo(record, key, crypto))) return 'KEY_MISMATCH'
  const { signature, ...unsigned } = record
  if (!(await crypto.verify(record.publisher, recordSignedBytes(unsigned), signature))) return 'BAD_SIGNATURE'
  return null
}

/** The ring key of one key input: lowercase hex SHA-256. */
export async function keyOf(input: Uint8Array, crypto: RingCrypto): Promise<string> {
  return toHex(await crypto.sha256(input))
}

async function derivesTo(record: SignedRecord, key: string, crypto: RingCrypto): Promise<boolean> {
  for (const input of keyInputsOf(record)) if ((await keyOf(input, crypto)) === key) return true
  return false
}
