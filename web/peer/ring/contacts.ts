/**
 * Recent contacts (SPEC §9, issue 13): the ring peers this peer was linked to lately, the entry points it
 * learned, and the ICE servers of the last welcome, kept so that a peer started while the tracker is down
 * can rejoin the ring through them. Kept through `ContactStore`: IndexedDB in browsers
 * (web/storage/idb-contact-store.ts), DIR/.swarmdrop/contacts.json in the CLI, in memory in tests.
 * Whatever is loaded is untrusted (a file edited by hand, a profile from an old version): `parseContacts`
 * keeps what is well formed and drops the rest.
 */
import { IceServersSchema } from '../../../shared/tracker-protocol.js'
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

const PEER_ID = /^[A-Za-z0-9_-]{16}$/
const ENTRY_URL = /^wss?:\/\/[^\s]{1,200}$/

/**
 * The well-formed part of stored contacts (a file edited by hand, an old version's data): never throws;
 * contacts, URLs and ICE servers that do not parse are dropped, and the limits apply.
 */
export function parseContacts(value: unknown): RecentContacts {
  const out = emptyContacts()
  if (typeof value !== 'object' || value === null) return out
  const { contacts, entryUrls, iceServers } = value as Record<string, unknown>
  if (Array.isArray(contacts)) {
    for (const c of contacts.slice(0, MAX_CONTACTS)) {
      const { peerId, lastSeenMs } = (c ?? {}) as Record<string, unknown>
      if (typeof peerId === 'string' && PEER_ID.test(peerId) && Number.isFinite(lastSeenMs))
        out.contacts.push({ peerId, lastSeenMs: lastSeenMs as number })
    }
  }
  if (Array.isArray(entryUrls)) {
    for (const url of entryUrls.slice(0, MAX_ENTRY_URLS))
      if (typeof url === 'string' && ENTRY_URL.test(url)) out.entryUrls.push(url)
  }
  if (Array.isArray(iceServers)) {
    for (const server of iceServers.slice(0, 8)) {
      const parsed = IceServersSchema.safeParse([server])
      if (parsed.success) out.iceServers.push(...parsed.data)
    }
  }
  return out
}
