/**
 * Recent contacts (SPEC §9, issue 13): the ring peers this peer was linked to lately, the entry points it
 * learned, and the ICE servers of the last welcome, kept so that a peer started while the tracker is down
 * can rejoin the ring through them. Kept through `ContactStore`: IndexedDB in browsers
 * (web/storage/idb-contact-store.ts), DIR/.swarmdrop/contacts.json in the CLI, in memory in tests.
 * Whatever is loaded is untrusted (a file edited by hand, a profile from an old version): `parseContacts`
 * keeps what is well formed and drops the rest.
 */
import type { IceServer } from '../peer-link.js'

export interface Contact {
  peerId: string
  /** When this peer was last linked to it through the ring (ms since 1970). */
  lastSeenMs: number
}

export interface RecentContacts {
  contacts: Contact[]
  /** `--listen` URLs of CLI peers (ws:// or wss://) learned from the user or from the ring. */
  entryUrls: string[]
  /** The ICE servers of the last welcome (STUN, TURN credentials while they are valid). */
  iceServers: IceServer[]
}

export interface ContactStore {
  load(): Promise<RecentContacts>
  save(contacts: RecentContacts): Promise<void>
}

/** Contacts kept, most recent first. */
export const MAX_CONTACTS = 64
export const MAX_ENTRY_URLS = 16

export function emptyContacts(): RecentContacts {
  return { contacts: [], entryUrls: [], iceServers: [] }
}

/** The in-memory twin (tests, and the default: nothing kept across runs). */
export class MemoryContactStore implements ContactStore {
  #saved: RecentContacts = emptyContacts()

  async load(): Promise<RecentContacts> {
    return structuredClone(this.#saved)
  }

  async save(contacts: RecentContacts): Promise<void> {
    this.#saved = structuredClone(contacts)
  }
}
