import { createStore, get, set, type UseStore } from 'idb-keyval'
import { type ContactStore, parseContacts, type RecentContacts } from '../peer/ring/contacts.js'

export const CONTACT_DB_NAME = 'swarmdrop-contacts'
const CONTACT_STORE_NAME = 'contacts'
const CONTACTS_KEY = 'recent'

/**
 * Recent ring contacts in IndexedDB (issue 13): the peers this tab was linked to, the CLI `--listen` URLs
 * it learned and the last welcome's ICE servers, so that a page loaded while the server is down can
 * rejoin. One database per identity slot (web/app/identity-slot.ts), like the key pair. What is read is
 * untrusted like any stored value: `parseContacts` keeps only what is well formed.
 */
export class IdbContactStore implements ContactStore {
  readonly #store: UseStore

  constructor(databaseName = CONTACT_DB_NAME) {
    this.#store = createStore(databaseName, CONTACT_STORE_NAME)
  }

  async load(): Promise<RecentContacts> {
    return parseContacts(await get(CONTACTS_KEY, this.#store).catch(() => undefined))
  }

  save(contacts: RecentContacts): Promise<void> {
    return set(CONTACTS_KEY, contacts, this.#store)
  }
}
