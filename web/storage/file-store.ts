/**
 * The record of each file this browser holds: its manifest, name and type, beside its chunks. What comes
 * back from storage is parsed like network input: a record that does not parse is not used.
 */
import { z } from 'zod'
import { DigestSchema, ManifestSchema } from '../../shared/manifest.js'
import { FileNameSchema } from '../../shared/tracker-protocol.js'

export const StoredFileSchema = z.strictObject({
  digest: DigestSchema,
  name: FileNameSchema,
  mime: z.string().max(127),
  manifest: ManifestSchema,
  /** Lowercase hex SHA-256 of the whole file, once computed (SPEC §3: shown so users can check a checksum). */
  plainSha256: DigestSchema.optional(),
  /** How this browser came to hold it. */
  origin: z.enum(['shared', 'downloaded']),
  addedAtMs: z.number().int().min(0),
})
export type StoredFile = z.infer<typeof StoredFileSchema>

export interface FileStore {
  put(record: StoredFile): Promise<void>
  get(digest: string): Promise<StoredFile | undefined>
  /** Every record that parses; the digests of those that do not are returned apart, for the caller to drop. */
  list(): Promise<{ files: StoredFile[]; unreadable: string[] }>
  delete(digest: string): Promise<void>
}

/** Parses a stored value; undefined when it is not a valid record for `key`. */
export function parseStoredFile(key: unknown, value: unknown): StoredFile | undefined {
  const parsed = StoredFileSchema.safeParse(value)
  return parsed.success && parsed.data.digest === key ? parsed.data : undefined
}
