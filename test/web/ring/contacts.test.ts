/** Recent ring contacts (issue 13): stored data is untrusted, the CLI keeps them in its folder. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileContactStore } from '../../../cli/folder/file-contact-store.js'
import { MAX_CONTACTS, parseContacts } from '../../../web/peer/ring/contacts.js'
import { MEMBER_AFTER_MS, shouldBeMember } from '../../../web/peer/ring/membership-policy.js'
import { sizeEstimate } from '../../../web/peer/ring/ring-host.js'

const good = {
  contacts: [{ peerId: 'AAAAAAAAAAAAAAAA', lastSeenMs: 5 }],
  entryUrls: ['ws://10.0.0.2:7000/ring'],
  iceServers: [{ urls: 'stun:stun.example.org:3478' }],
}

describe('contacts', () => {
  it('keeps what is well formed and drops the rest, never throwing', () => {
    expect(parseContacts(good)).toEqual(good)
    expect(
      parseContacts({
        contacts: [
          { peerId: 'short', lastSeenMs: 1 },
          { peerId: 'AAAAAAAAAAAAAAAA', lastSeenMs: 'x' },
          null,
          7,
        ],
        entryUrls: ['http://x', 'javascript:alert(1)', 3],
        iceServers: [{ urls: 'http://nope' }, { urls: ['stun:ok.example:3478'], extra: 1 }],
      }),
    ).toEqual({ contacts: [], entryUrls: [], iceServers: [] })
    for (const junk of [undefined, null, 3, 'x', [], { contacts: 'no' }]) {
      expect(parseContacts(junk)).toEqual({ contacts: [], entryUrls: [], iceServers: [] })
    }
    const many = Array.from({ length: 500 }, (_, i) => ({ peerId: `${'A'.repeat(15)}B`, lastSeenMs: i }))
    expect(parseContacts({ contacts: many }).contacts).toHaveLength(MAX_CONTACTS)
  })

  it('are kept in the CLI folder, and a broken file reads as none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-contacts-'))
    const store = new FileContactStore(join(dir, 'contacts.json'))
    expect(await store.load()).toEqual({ contacts: [], entryUrls: [], iceServers: [] })
    await store.save(good)
    expect(await store.load()).toEqual(good)
    writeFileSync(join(dir, 'contacts.json'), '{"contacts": [')
    expect(await store.load()).toEqual({ contacts: [], entryUrls: [], iceServers: [] })
  })
})

describe('membership policy', () => {
  it('makes a tab a member after two minutes online, visible and not metered; the CLI at once', () => {
    expect(shouldBeMember({}, MEMBER_AFTER_MS - 1)).toBe(false)
    expect(shouldBeMember({}, MEMBER_AFTER_MS)).toBe(true)
    expect(shouldBeMember({ visibility: 'hidden' }, MEMBER_AFTER_MS * 10)).toBe(false)
    expect(shouldBeMember({ visibility: 'frozen' }, MEMBER_AFTER_MS * 10)).toBe(false)
    expect(shouldBeMember({ metered: true }, MEMBER_AFTER_MS * 10)).toBe(false)
    expect(shouldBeMember({ memberAtOnce: true }, 0)).toBe(true)
    expect(shouldBeMember({ memberAtOnce: true, metered: true }, 0)).toBe(false)
  })
})

describe('ring size estimate', () => {
  it('counts a wrapped list whole and scales a full one by the span it covers', () => {
    expect(sizeEstimate('00'.repeat(32), [], 20)).toBe(1)
    expect(sizeEstimate('00'.repeat(32), ['40'.repeat(32), '80'.repeat(32)], 20)).toBe(3)
    // Four successors spread over a quarter of the ring, r = 4: about sixteen members.
    const ids = ['10', '20', '30', '40'].map((b) => b + '00'.repeat(31))
    expect(sizeEstimate('00'.repeat(32), ids, 4)).toBe(16)
  })
})
