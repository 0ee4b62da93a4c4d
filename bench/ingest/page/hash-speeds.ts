/**
 * Chunk hashing speeds in this browser over buffers already in memory (no file reading): WebCrypto's
 * one-shot SHA-256 against hash-wasm's, one-shot and incremental. This is what web/storage/hashing.ts's
 * choice rests on (WebCrypto per chunk, hash-wasm only for the whole-file SHA-256 that needs streaming).
 */
import { createSHA256, sha256 } from 'hash-wasm'
import type { HashSpeedRow } from './api.js'

const MiB = 1024 * 1024
/** crypto.getRandomValues fills at most this many bytes a call (Web Crypto API). */
const RANDOM_FILL_BYTES = 65_536
/** Buffers hashed before timing each method, so JIT and WebAssembly compilation are not timed. */
const WARM_UP_BUFFERS = 8

type Method = (buffers: Uint8Array<ArrayBuffer>[]) => Promise<void>

export async function measureHashSpeeds(mib: number, repeats: number): Promise<HashSpeedRow[]> {
  const buffers = Array.from({ length: mib }, () => randomBuffer(MiB))
  const hasher = await createSHA256()
  const methods: [string, Method][] = [
    [
      'WebCrypto digest, one chunk at a time',
      async (list) => {
        for (const bytes of list) await crypto.subtle.digest('SHA-256', bytes)
      },
    ],
    [
      'WebCrypto digest, 2 in flight (as ingest pass 1)',
      async (list) => {
        let next = 0
        const lane = async () => {
          while (next < list.length) await crypto.subtle.digest('SHA-256', list[next++]!)
        }
        await Promise.all([lane(), lane()])
      },
    ],
    [
      'hash-wasm sha256() one-shot per chunk',
      async (list) => {
        for (const bytes of list) await sha256(bytes)
      },
    ],
    [
      'hash-wasm createSHA256 init/update/digest per chunk',
      async (list) => {
        for (const bytes of list) {
          hasher.init()
          hasher.update(bytes)
          hasher.digest('binary')
        }
      },
    ],
    [
      'hash-wasm createSHA256 one stream over all (as the plain SHA-256)',
      async (list) => {
        hasher.init()
        for (const bytes of list) hasher.update(bytes)
        hasher.digest('binary')
      },
    ],
  ]
  const rows: HashSpeedRow[] = []
  for (const [name, method] of methods) {
    await method(buffers.slice(0, WARM_UP_BUFFERS))
    const mbPerSecond: number[] = []
    for (let repeat = 0; repeat < repeats; repeat++) {
      const started = performance.now()
      await method(buffers)
      const seconds = (performance.now() - started) / 1000
      mbPerSecond.push((mib * MiB) / 1e6 / seconds)
    }
    rows.push({ name, mbPerSecond })
  }
  return rows
}

function randomBuffer(bytes: number): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(bytes)
  for (let start = 0; start < bytes; start += RANDOM_FILL_BYTES) {
    crypto.getRandomValues(buffer.subarray(start, start + RANDOM_FILL_BYTES))
  }
  return buffer
}
