/** Checks storage before work starts (SPEC §3): a file that will not fit is refused with a clear error. */
import { SwarmError } from '../../shared/errors.js'

/** The part of `navigator.storage` this needs; tests pass their own. */
export interface StorageEstimator {
  estimate(): Promise<{ quota?: number; usage?: number }>
  persist?(): Promise<boolean>
}

/**
 * Room kept free beyond the file itself: IndexedDB stores each value with some overhead, and a browser
 * near its quota evicts or fails other writes (records, progress).
 */
const HEADROOM_BYTES = 16 * 1024 * 1024
const HEADROOM_FRACTION = 0.01

export interface Room {
  quotaBytes: number
  usageBytes: number
  availableBytes: number
}

/** What storage the browser grants this origin; undefined where the API is missing. */
export async function measureRoom(storage: StorageEstimator | undefined): Promise<Room | undefined> {
  if (!storage) return undefined
  const { quota, usage } = await storage.estimate()
  if (quota === undefined) return undefined
  const usageBytes = usage ?? 0
  return { quotaBytes: quota, usageBytes, availableBytes: Math.max(0, quota - usageBytes) }
}

/**
 * Throws QUOTA_EXCEEDED when `bytes` (plus headroom) will not fit. Asks for persistent storage once,
 * without waiting for the answer: Firefox asks the user in a prompt, and `persist()` stays pending until
 * they answer it, which may be never.
 */
export async function ensureRoom(storage: StorageEstimator | undefined, bytes: number): Promise<void> {
  void requestPersistence(storage)
  const room = await measureRoom(storage)
  if (!room) return // no estimate: go ahead, and a quota error mid-way pauses cleanly instead
  const needed = bytes + Math.max(HEADROOM_BYTES, bytes * HEADROOM_FRACTION)
  if (needed > room.availableBytes) {
    throw new SwarmError(
      'QUOTA_EXCEEDED',
      `needs ${bytes} bytes of storage and ${room.availableBytes} are available (${room.usageBytes} of ${room.quotaBytes} used)`,
    )
  }
}

let persistenceRequested: Promise<boolean> | undefined

/**
 * Asks the browser not to evict our data under storage pressure. Chromium grants or denies it silently;
 * Firefox shows a prompt and answers once the user does. The answer does not change what we do, so it is
 * asked once and never waited for before work starts.
 */
export function requestPersistence(storage: StorageEstimator | undefined): Promise<boolean> {
  persistenceRequested ??= storage?.persist ? storage.persist().catch(() => false) : Promise.resolve(false)
  return persistenceRequested
}
