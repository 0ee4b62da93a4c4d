/// <reference types="mocha" />
/**
 * Tabs of one profile take distinct identity slots through real Web Locks (web/app/identity-slot.ts): a
 * second tab open beside the first gets slot 1, and a reloaded tab waits for the slot it had.
 */
import { expect } from 'chai'
import { claimIdentitySlot, keyDatabaseOf } from '../../web/app/identity-slot.js'

describe('identity slots', () => {
  it('gives the first claim slot 0 and the next ones the next free slots, held by real Web Locks', async () => {
    expect(await claimIdentitySlot(navigator.locks)).to.equal(0)
    expect(await claimIdentitySlot(navigator.locks)).to.equal(1)
    const held = await navigator.locks.query()
    expect(held.held?.map((lock) => lock.name).sort()).to.deep.equal([
      'swarmdrop-identity-slot-0',
      'swarmdrop-identity-slot-1',
    ])
  })

  it('waits for the slot the tab had before its reload, and takes a free one when it stays held', async () => {
    const memory = new Map<string, string>()
    const remembered = {
      getItem: (k: string) => memory.get(k) ?? null,
      setItem: (k: string, v: string) => memory.set(k, v),
    }
    // Slot 5 is held by "the unloading page" for 100 ms: the reloaded tab waits for it.
    let release: () => void = () => {}
    void navigator.locks.request(
      'swarmdrop-identity-slot-5',
      () =>
        new Promise<void>((r) => {
          release = r
        }),
    )
    setTimeout(() => release(), 100)
    remembered.setItem('swarmdrop.identity-slot', '5')
    expect(await claimIdentitySlot(navigator.locks, remembered, 2_000)).to.equal(5)
    // A duplicated tab: its remembered slot stays held, so after the wait it takes the lowest free one.
    expect(await claimIdentitySlot(navigator.locks, remembered, 100)).to.equal(2)
    expect(memory.get('swarmdrop.identity-slot')).to.equal('2')
  })

  it('falls back to slot 0 without Web Locks, and keeps slot 0’s key where earlier versions kept it', async () => {
    expect(await claimIdentitySlot(undefined)).to.equal(0)
    expect(keyDatabaseOf(0)).to.equal('swarmdrop-identity')
    expect(keyDatabaseOf(3)).to.equal('swarmdrop-identity-3')
  })
})
