/// <reference types="mocha" />
/** The store contract (test/support/store-contract.ts) against the IndexedDB stores, in real Chromium. */
import { createStore, set } from 'idb-keyval'
import { storeContract } from '../support/store-contract.js'
import { freshDatabases, storesOf } from './support/databases.js'

storeContract(
  'IndexedDB',
  async () => {
    const databases = freshDatabases('contract')
    const { chunks, files } = storesOf(databases)
    return {
      chunks,
      files,
      // The object store name is idb-file-store.ts's.
      putRawRecord: (key, value) => set(key, value, createStore(databases.fileDb, 'files')),
      reopen: async () => storesOf(databases),
    }
  },
  { describe, it },
)
