/**
 * The collections this browser knows: each read from its collection file once that file is here (and
 * opened, for a private one), with which collection each member belongs to, so that my files can group
 * members under their collection and "Download all" knows what to fetch and zip.
 */
import { COLLECTION_MIME, type Collection } from '../../shared/collection.js'
import type { StoredFile } from '../storage/file-store.js'

export function isCollection(record: StoredFile): boolean {
  return record.mime === COLLECTION_MIME || record.collection !== undefined
}

export class CollectionBook {
  readonly #collections = new Map<string, Collection>()
  readonly #memberOf = new Map<string, string>()

  set(digest: string, collection: Collection): void {
    this.#collections.set(digest, collection)
    for (const member of collection.files) this.#memberOf.set(member.digest, digest)
  }

  get(digest: string): Collection | undefined {
    return this.#collections.get(digest)
  }

  has(digest: string): boolean {
    return this.#collections.has(digest)
  }

  /** The collection a file is a member of, when one known here lists it. */
  collectionOf(memberDigest: string): string | undefined {
    return this.#memberOf.get(memberDigest)
  }

  delete(digest: string): void {
    const collection = this.#collections.get(digest)
    if (!collection) return
    this.#collections.delete(digest)
    for (const member of collection.files) {
      if (this.#memberOf.get(member.digest) === digest) this.#memberOf.delete(member.digest)
    }
  }
}
