import { createStore, get, set, type UseStore } from 'idb-keyval'
import { type ContactStore, parseContacts, type RecentContacts } from '../peer/ring/contacts.js'

export const CONTACTS_DB_NAME = 'swarmdrop-contacts'
const CONTACTS_STORE_NAME = 'contacts'
const CONTACTS_KEY = 'recent'

/**
 * This browser profile's recent ring contacts in IndexedDB (issue 13; web/peer/ring/contacts.ts): the
 * peers, entry URLs and ICE servers a page reloaded while the server is down rejoins the ring through.
 * What is read back is untrusted: parseContacts keeps the well-formed part.
 */
export class IdbContactStore implements ContactStore {
  readonly #store: UseStore

  constructor(databaseName = CONTACTS_DB_NAME) {
    this.#store = createStore(databaseName, CONTACTS_STORE_NAME)
  }

  async load(): Promise<RecentContacts> {
    return parseContacts(await get(CONTACTS_KEY, this.#store))
  }

  save(contacts: RecentContacts): Promise<void> {
    return set(CONTACTS_KEY, contacts, this.#store)
  }
}
