/**
 * Messages between the page and the ingest worker. The worker is our own code, but what crosses a
 * postMessage boundary is still parsed, so that a broken worker shows as a typed error, not a crash.
 */
import { z } from 'zod'
import { ERROR_CODES } from '../../shared/errors.js'
import { StoredFileSchema } from './file-store.js'
import type { IngestOptions } from './ingest.js'

/** How a file is to be shared: privately (sealed), unlisted, as a collection (ingest.ts, IngestOptions). */
export type ShareOptions = Pick<IngestOptions, 'sealed' | 'listed' | 'collection'>

export type ToWorker =
  | ({ type: 'ingest'; id: number; file: Blob; name: string; mime: string } & ShareOptions)
  | { type: 'cancel'; id: number }

export const FromWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('progress'),
    id: z.number().int(),
    phase: z.enum(['hashing', 'storing']),
    bytesDone: z.number().min(0),
    bytesTotal: z.number().min(0),
  }),
  z.strictObject({ type: z.literal('manifest'), id: z.number().int(), record: StoredFileSchema }),
  z.strictObject({
    type: z.literal('done'),
    id: z.number().int(),
    record: StoredFileSchema,
    duplicate: z.boolean(),
    chunksWritten: z.number().int().min(0),
  }),
  z.strictObject({
    type: z.literal('failed'),
    id: z.number().int(),
    code: z.enum(ERROR_CODES),
    message: z.string(),
  }),
])
export type FromWorker = z.infer<typeof FromWorkerSchema>
