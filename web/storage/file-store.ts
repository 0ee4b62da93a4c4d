/**
 * The record of each file this browser holds: its manifest, name and type, beside its chunks. What comes
 * back from storage is parsed like network input: a record that does not parse is not used.
 */
import { z } from 'zod'
import { DigestSchema, ManifestSchema } from '../../shared/manifest.js'
import { CollectionInfoSchema, FileNameSchema } from '../../shared/tracker-protocol.js'

const Base64UrlKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/)
const Base64UrlSalt = z.string().regex(/^[A-Za-z0-9_-]{22}$/)

/**
 * A private share (shared/private-share.ts): its chunks are sealed. `key` (base64url) when this browser can
 * open it: the sharer's, or one that came in a link; without it the file is only held and shared on.
 * `salt` when its link asks for a password instead of carrying the key.
 */
export const SealedSchema = z.strictObject({ key: Base64UrlKey.optional(), salt: Base64UrlSalt.optional() })
export type Sealed = z.infer<typeof SealedSchema>

// Every field added after the first version is optional, so that records written before it still parse
// (and so that other stores, e.g. a Node peer's, need not write them).
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
  /** Set for a private share. Such a file is never listed; its name is only known once opened. */
  sealed: SealedSchema.optional(),
  /** False: announced unlisted (a collection's member). Absent: listed, unless sealed. */
  listed: z.literal(false).optional(),
  /** The user stopped sharing it: kept here, but not announced or served until shared again. */
  notShared: z.literal(true).optional(),
  /** The file is a collection (shared/collection.ts): what the catalog shows of it. */
  collection: CollectionInfoSchema.optional(),
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
