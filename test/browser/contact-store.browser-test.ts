/// <reference types="mocha" />
/** Recent ring contacts kept in IndexedDB across page loads (web/storage/idb-contact-store.ts). */
import { expect } from 'chai'
import { createStore, set } from 'idb-keyval'
import { IdbContactStore } from '../../web/storage/idb-contact-store.js'

describe('IdbContactStore', () => {
  it('keeps the entry URLs and ICE servers saved, and keeps only what is well formed of what it reads', async () => {
    const empty = await new IdbContactStore('contacts-test-1').load()
    expect(empty).to.deep.equal({ contacts: [], entryUrls: [], iceServers: [] })

    const saved = {
      contacts: [],
      entryUrls: ['ws://127.0.0.1:9000/'],
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
    }
    await new IdbContactStore('contacts-test-1').save(saved)
    expect(await new IdbContactStore('contacts-test-1').load()).to.deep.equal(saved)

    // A profile of another version, or tampered with: what does not parse is dropped, nothing throws.
    await set(
      'recent',
      {
        contacts: 'many',
        entryUrls: ['javascript:alert(1)', 'ws://127.0.0.1:9001/'],
        iceServers: [{ urls: 7 }],
      },
      createStore('contacts-test-2', 'contacts'),
    )
    expect(await new IdbContactStore('contacts-test-2').load()).to.deep.equal({
      contacts: [],
      entryUrls: ['ws://127.0.0.1:9001/'],
      iceServers: [],
    })
  })
})
