/// <reference types="mocha" />
/** Recent ring contacts kept in IndexedDB (issue 13): given back as saved, junk read as none. */
import { expect } from 'chai'
import { createStore, set } from 'idb-keyval'
import { IdbContactStore } from '../../web/storage/idb-contact-store.js'

describe('contacts in IndexedDB', () => {
  it('keeps recent contacts across opens, and reads junk as none', async () => {
    const name = `contacts-test-${Math.random()}`
    const contacts = {
      contacts: [{ peerId: 'AAAAAAAAAAAAAAAA', lastSeenMs: 5 }],
      entryUrls: ['wss://peer.example.org:7000/'],
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
    }
    expect(await new IdbContactStore(name).load()).to.deep.equal({
      contacts: [],
      entryUrls: [],
      iceServers: [],
    })
    await new IdbContactStore(name).save(contacts)
    expect(await new IdbContactStore(name).load()).to.deep.equal(contacts)
    await set('recent', { contacts: [{ peerId: 1 }], entryUrls: 'x' }, createStore(name, 'contacts'))
    expect(await new IdbContactStore(name).load()).to.deep.equal({
      contacts: [],
      entryUrls: [],
      iceServers: [],
    })
  })
})
