/**
 * Collections: several files shared as one item (a dropped folder, or files chosen together). A collection
 * is itself a file, whose bytes are a small JSON document listing its members' digests and paths, shared
 * and verified like any other file; its members are announced unlisted, so the catalog shows the
 * collection once, with its file count, instead of one entry per file. docs/PROTOCOL.md, "Collections".
 */
import { z } from 'zod'
import { MAX_COLLECTION_FILES, MAX_FILE_BYTES } from './limits.js'
import { DigestSchema } from './manifest.js'
import { FileNameSchema } from './tracker-protocol.js'

/** The MIME type a collection file is shared under: how a receiver knows to read it as one. */
export const COLLECTION_MIME = 'application/vnd.swarmdrop.collection+json'

const MemberSchema = z.strictObject({
  /** The file's path inside the collection, `/`-separated (a folder's relative path). */
  path: FileNameSchema,
  digest: DigestSchema,
  size: z.number().int().min(0).max(MAX_FILE_BYTES),
  mime: z.string().max(127).optional(),
  /** A private member's key, base64url (only inside a private collection, which is itself encrypted). */
  key: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .optional(),
})
export type CollectionMember = z.infer<typeof MemberSchema>

export const CollectionSchema = z.strictObject({
  swarmdrop: z.literal('collection'),
  v: z.literal(1),
  name: FileNameSchema,
  files: z.array(MemberSchema).min(1).max(MAX_COLLECTION_FILES),
})
export type Collection = z.infer<typeof CollectionSchema>

export function encodeCollection(collection: Collection): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(CollectionSchema.parse(collection)))
}

/** Parses a collection file's bytes; undefined when they are not one. Never throws. */
export function parseCollection(bytes: Uint8Array): Collection | undefined {
  try {
    const parsed = CollectionSchema.safeParse(
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)),
    )
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** The name of a collection of files chosen together: their common top folder, or "N files". */
export function collectionNameOf(paths: readonly string[]): string {
  const tops = new Set(paths.map((path) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '')))
  const [top] = tops
  if (tops.size === 1 && top) return top
  return `${paths.length} files`
}
