/** The store contract (test/support/store-contract.ts) against the in-memory twins. */
import { describe, it } from 'vitest'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { storeContract } from '../support/store-contract.js'

storeContract(
  'memory',
  async () => {
    const chunks = new MemoryChunkStore()
    const files = new MemoryFileStore()
    return {
      chunks,
      files,
      putRawRecord: async (key, value) => files.putRaw(key, value),
      // Memory lives as long as the objects: the same ones stand for the storage reopened.
      reopen: async () => ({ chunks, files }),
    }
  },
  { describe, it },
)
