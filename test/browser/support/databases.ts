import { clear, createStore, keys } from 'idb-keyval'
import { CHUNK_DB_NAME, IdbChunkStore } from '../../../web/storage/idb-chunk-store.js'
import { FILE_DB_NAME, IdbFileStore } from '../../../web/storage/idb-file-store.js'

export interface Databases {
  chunkDb: string
  fileDb: string
}

let counter = 0

/** Database names of their own for one test, so that tests never see each other's data. */
export function freshDatabases(label: string): Databases {
  counter += 1
  const tag = `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`
  return { chunkDb: `test-chunks-${tag}`, fileDb: `test-files-${tag}` }
}

export function storesOf({ chunkDb, fileDb }: Databases): { chunks: IdbChunkStore; files: IdbFileStore } {
  return { chunks: new IdbChunkStore(chunkDb), files: new IdbFileStore(fileDb) }
}

/**
 * Empties the databases the ingest worker uses (their default names). Cleared rather than deleted: a
 * deletion would wait for every open connection, and idb-keyval keeps its connections open.
 * The object store names are those of idb-chunk-store.ts and idb-file-store.ts.
 */
export async function clearDefaultDatabases(): Promise<void> {
  await clear(createStore(CHUNK_DB_NAME, 'chunks'))
  await clear(createStore(FILE_DB_NAME, 'files'))
}

/** Every key in the databases the ingest worker uses. */
export async function defaultDatabaseKeys(): Promise<{ chunks: IDBValidKey[]; files: IDBValidKey[] }> {
  return {
    chunks: await keys(createStore(CHUNK_DB_NAME, 'chunks')),
    files: await keys(createStore(FILE_DB_NAME, 'files')),
  }
}
