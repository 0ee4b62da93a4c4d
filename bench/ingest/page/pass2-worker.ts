/// <reference lib="webworker" />
/**
 * Where ingest's second pass spends its time, and what overlapping its steps would gain. Runs over the
 * first chunks of the picked file in a worker, with web/storage's own pieces (IdbChunkStore, putChunk,
 * sha256Hex, the plain hasher) into a scratch database:
 *  - 'as ingest.ts': the loop of storeChunks (read ahead one chunk; WebCrypto check, hash-wasm update and
 *    IndexedDB put one after another), timing each step;
 *  - 'overlapped': the same work with the WebCrypto check running while hash-wasm hashes on this thread,
 *    and 1 or 4 puts left in flight while the next chunks are checked (IndexedDB puts of 1 MiB are bound
 *    by per-transaction latency, not bandwidth, so several in flight go faster). A sketch of a change,
 *    measured here rather than made in web/storage.
 */
import { chunkCountOf, chunkSizeFor, sha256Hex } from '../../../shared/manifest.js'
import { createPlainHasher } from '../../../web/storage/hashing.js'
import { IdbChunkStore } from '../../../web/storage/idb-chunk-store.js'
import { putChunk } from '../../../web/storage/verified-chunks.js'
import { PASS2_DATABASES, type Pass2Request, type Pass2Stages } from './api.js'

declare const self: DedicatedWorkerGlobalScope

/** A key prefix standing in for a digest; the scratch databases hold nothing else. */
const SCRATCH_DIGEST = 'bench'

function readSlice(source: Blob, index: number, chunkSize: number): Promise<Uint8Array> {
  return source
    .slice(index * chunkSize, (index + 1) * chunkSize)
    .arrayBuffer()
    .then((buffer) => new Uint8Array(buffer))
}

async function asIngest(file: Blob, chunkSize: number, hashes: string[]): Promise<Pass2Stages> {
  const store = new IdbChunkStore(PASS2_DATABASES[0])
  const plain = await createPlainHasher()
  const stages: Pass2Stages = {
    name: 'as ingest.ts',
    ms: 0,
    readWaitMs: 0,
    webCryptoMs: 0,
    hashWasmMs: 0,
    putMs: 0,
  }
  const started = performance.now()
  let reading = readSlice(file, 0, chunkSize)
  for (let index = 0; index < hashes.length; index++) {
    let mark = performance.now()
    const bytes = await reading
    if (index + 1 < hashes.length) reading = readSlice(file, index + 1, chunkSize)
    stages.readWaitMs += performance.now() - mark
    mark = performance.now()
    if ((await sha256Hex(bytes)) !== hashes[index]) throw new Error(`chunk ${index} changed`)
    stages.webCryptoMs += performance.now() - mark
    mark = performance.now()
    plain.update(bytes)
    stages.hashWasmMs += performance.now() - mark
    mark = performance.now()
    await putChunk(store, SCRATCH_DIGEST, index, bytes)
    stages.putMs += performance.now() - mark
  }
  plain.digest()
  stages.ms = performance.now() - started
  return stages
}

function overlapped(putsInFlight: number, database: string) {
  return async (file: Blob, chunkSize: number, hashes: string[]): Promise<Pass2Stages> => {
    const store = new IdbChunkStore(database)
    const plain = await createPlainHasher()
    const started = performance.now()
    let reading = readSlice(file, 0, chunkSize)
    const putting = new Set<Promise<void>>()
    for (let index = 0; index < hashes.length; index++) {
      const bytes = await reading
      if (index + 1 < hashes.length) reading = readSlice(file, index + 1, chunkSize)
      const check = sha256Hex(bytes) // WebCrypto works on its own thread…
      plain.update(bytes) // …while hash-wasm works on this one
      if ((await check) !== hashes[index]) throw new Error(`chunk ${index} changed`)
      // Bounded: memory stays at a few chunks. Puts are independent transactions, so their order is free.
      while (putting.size >= putsInFlight) await Promise.race(putting)
      const put = putChunk(store, SCRATCH_DIGEST, index, bytes).finally(() => putting.delete(put))
      putting.add(put)
    }
    await Promise.all(putting)
    plain.digest()
    const ms = performance.now() - started
    const name = `overlapped, ${putsInFlight} put${putsInFlight > 1 ? 's' : ''} in flight`
    const unmeasured = Number.NaN // the steps overlap, so their times do not add up to anything
    return {
      name,
      ms,
      readWaitMs: unmeasured,
      webCryptoMs: unmeasured,
      hashWasmMs: unmeasured,
      putMs: unmeasured,
    }
  }
}

self.addEventListener('message', async (event: MessageEvent<Pass2Request>) => {
  const { file, bytes } = event.data
  const source = file.slice(0, Math.min(bytes, file.size))
  const chunkSize = chunkSizeFor(file.size)
  const hashes: string[] = []
  for (let index = 0; index < chunkCountOf(source.size, chunkSize); index++) {
    hashes.push(await sha256Hex(await readSlice(source, index, chunkSize)))
  }
  // Each variant writes into its own fresh database (idb-keyval never closes a connection, so one cannot
  // be deleted while this worker lives); the page deletes them after terminating it.
  const results: Pass2Stages[] = []
  const variants = [asIngest, overlapped(1, PASS2_DATABASES[1]), overlapped(4, PASS2_DATABASES[2])]
  for (const variant of variants) results.push(await variant(source, chunkSize, hashes))
  self.postMessage(results)
})
