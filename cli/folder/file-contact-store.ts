/**
 * The CLI's recent ring contacts (web/peer/ring/contacts.ts) in `DIR/.swarmdrop/contacts.json`: read
 * back as untrusted input (parseContacts keeps what is well formed; a missing or broken file is no
 * contacts), written to a temporary file and renamed, so a crash never leaves half a file.
 */
import { randomUUID } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import {
  type ContactStore,
  emptyContacts,
  parseContacts,
  type RecentContacts,
} from '../../web/peer/ring/contacts.js'

/** Larger than any well-formed contacts file (64 contacts, 16 URLs, 8 ICE servers): not read. */
const MAX_FILE_BYTES = 64 * 1024

export class FileContactStore implements ContactStore {
  constructor(readonly file: string) {}

  async load(): Promise<RecentContacts> {
    try {
      const text = await readFile(this.file, 'utf8')
      if (text.length > MAX_FILE_BYTES) return emptyContacts()
      return parseContacts(JSON.parse(text))
    } catch {
      return emptyContacts()
    }
  }

  async save(contacts: RecentContacts): Promise<void> {
    const temp = `${this.file}.${randomUUID()}.tmp`
    // TURN credentials may be among the ICE servers: owner only.
    await writeFile(temp, `${JSON.stringify(contacts)}\n`, { mode: 0o600, flag: 'wx' })
    await rename(temp, this.file)
  }
}
