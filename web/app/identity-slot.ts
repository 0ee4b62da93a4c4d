/**
 * Which key pair of this browser profile a tab uses (SPEC §9). Every tab of a profile shares its IndexedDB,
 * so without this they would all load the same key, claim the same peer id, and each new tab would take
 * the tracker connection from the last (IDENTITY_IN_USE). Each tab instead holds a Web Lock on a numbered
 * slot for as long as it lives: the first tab takes slot 0 (the profile's key of earlier versions, so its
 * peer id is unchanged), a second tab open at the same time slot 1, and so on. A tab remembers its slot in
 * sessionStorage (which lives as long as the tab): reloaded, it waits for that slot, which its unloading
 * self may hold a moment longer, rather than take another. Ids stay stable across reloads, and sibling
 * tabs are distinct ring nodes that can signal each other (web/app/tab-entry-point.ts).
 */
import { CONTACT_DB_NAME } from '../storage/idb-contact-store.js'
import { KEY_DB_NAME } from '../storage/idb-key-store.js'

/** Slots tried before giving up and sharing the last one (then the tracker keeps only one of those tabs). */
export const MAX_IDENTITY_SLOTS = 16
const LOCK_PREFIX = 'swarmdrop-identity-slot-'
/**
 * How long a reloaded tab waits for its own slot: the old document's locks go when it is discarded, a few
 * milliseconds after the new one starts. A duplicated tab (which copies sessionStorage) waits this long
 * for a slot its original keeps, then takes a free one.
 */
export const OWN_SLOT_WAIT_MS = 2_000
const REMEMBERED_KEY = 'swarmdrop.identity-slot'

/** The part of `navigator.locks` used. */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable: true } | { signal: AbortSignal },
    callback: (lock: unknown) => Promise<void> | void,
  ): Promise<unknown>
}

/** Where the tab remembers its slot (sessionStorage); absent: nothing remembered. */
export interface SlotMemory {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

/**
 * Claims this tab's slot and holds it until the page goes away: the one it had before this reload when it
 * comes free within OWN_SLOT_WAIT_MS, else the lowest free one. Resolves to the slot number; 0 where the
 * browser has no Web Locks (every tab then shares slot 0, as before).
 */
export async function claimIdentitySlot(
  locks: LockManagerLike | undefined,
  memory?: SlotMemory,
  ownSlotWaitMs = OWN_SLOT_WAIT_MS,
): Promise<number> {
  if (!locks) return 0
  const remembered = Number(safely(() => memory?.getItem(REMEMBERED_KEY)) ?? Number.NaN)
  let slot: number | undefined
  if (Number.isInteger(remembered) && remembered >= 0 && remembered < MAX_IDENTITY_SLOTS) {
    if (await hold(locks, remembered, { signal: AbortSignal.timeout(ownSlotWaitMs) })) slot = remembered
  }
  for (let next = 0; slot === undefined && next < MAX_IDENTITY_SLOTS; next++) {
    if (await hold(locks, next, { ifAvailable: true })) slot = next
  }
  slot ??= MAX_IDENTITY_SLOTS - 1
  safely(() => memory?.setItem(REMEMBERED_KEY, String(slot)))
  return slot
}

/** Takes slot `slot`'s lock and keeps it for the page's life; false when it was not granted. */
function hold(
  locks: LockManagerLike,
  slot: number,
  options: { ifAvailable: true } | { signal: AbortSignal },
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    locks
      .request(`${LOCK_PREFIX}${slot}`, options, (lock) => {
        resolve(lock !== null)
        // Held for the page's life: this promise never settles, so the lock goes only with the page.
        return lock === null ? undefined : new Promise<void>(() => {})
      })
      .catch(() => resolve(false)) // the wait timed out (AbortError), or locks are refused here
  })
}

/** Storage may throw (disabled, sandboxed frames): then nothing is remembered. */
function safely<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

/** The IndexedDB database that keeps slot `slot`'s key pair (slot 0: the profile's original key). */
export function keyDatabaseOf(slot: number): string {
  return slot === 0 ? KEY_DB_NAME : `${KEY_DB_NAME}-${slot}`
}

/** The IndexedDB database that keeps slot `slot`'s recent ring contacts. */
export function contactDatabaseOf(slot: number): string {
  return slot === 0 ? CONTACT_DB_NAME : `${CONTACT_DB_NAME}-${slot}`
}
