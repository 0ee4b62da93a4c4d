/**
 * The page's side of the ring's membership policy (web/peer/ring/membership-policy.ts): whether this tab is
 * visible, hidden or frozen (Page Visibility, and the Page Lifecycle API's `freeze`/`resume`), and whether
 * its connection is metered (`navigator.connection`: `saveData`, the older `metered`, or a cellular type).
 * The engine decides from these whether the tab takes a ring position or stays a client; this only watches
 * the page and tells it on every change.
 */
import type { MembershipInput, PageVisibility } from '../peer/ring/membership-policy.js'

/** What browsers expose of the Network Information API (Chromium; absent in Firefox and Safari). */
export interface ConnectionInfo extends EventTarget {
  readonly saveData?: boolean
  /** An early draft's flag, still found in some browsers. */
  readonly metered?: boolean
  /** `cellular`, `wifi`, …: only where the platform tells (Android). */
  readonly type?: string
}

/** The parts of the page watched: `document` for visibility and freezing, `navigator.connection`. */
export interface PageSignals {
  readonly document: EventTarget & { readonly visibilityState: DocumentVisibilityState }
  readonly connection?: ConnectionInfo | undefined
}

/** Whether the connection costs its user by the byte: then the tab never stores or routes for others. */
export function isMetered(connection: ConnectionInfo | undefined): boolean {
  if (!connection) return false
  return connection.saveData === true || connection.metered === true || connection.type === 'cellular'
}

/** The page's signals of `win`: its document and, where the browser has one, `navigator.connection`. */
export function pageSignals(win: Window): PageSignals {
  const connection = (win.navigator as Navigator & { connection?: ConnectionInfo }).connection
  return { document: win.document, connection }
}

/**
 * Calls `apply` with the membership input now, and again whenever visibility, freezing or the connection
 * changes it. Returns the function that stops watching.
 */
export function watchMembership(signals: PageSignals, apply: (input: MembershipInput) => void): () => void {
  let frozen = false
  let last: string | undefined
  const tell = () => {
    const visibility: PageVisibility = frozen ? 'frozen' : signals.document.visibilityState
    const input: MembershipInput = { visibility, metered: isMetered(signals.connection) }
    const key = JSON.stringify(input)
    if (key === last) return
    last = key
    apply(input)
  }
  // `freeze` fires as the browser stops the tab's timers and tasks (a hidden tab kept in the background, a
  // DevTools `Page.setWebLifecycleState`): this is the last moment the tab can say it will not answer.
  const onFreeze = () => {
    frozen = true
    tell()
  }
  const onResume = () => {
    frozen = false
    tell()
  }
  signals.document.addEventListener('visibilitychange', tell)
  signals.document.addEventListener('freeze', onFreeze)
  signals.document.addEventListener('resume', onResume)
  signals.connection?.addEventListener('change', tell)
  tell()
  return () => {
    signals.document.removeEventListener('visibilitychange', tell)
    signals.document.removeEventListener('freeze', onFreeze)
    signals.document.removeEventListener('resume', onResume)
    signals.connection?.removeEventListener('change', tell)
  }
}

/** Where the page keeps "Help the network now" (a ring position at once, like the CLI). */
export const MEMBER_AT_ONCE_KEY = 'swarmdrop.member-at-once'

/** Whether the user asked this browser to take a ring position at once. Storage may be refused: then no. */
export function readMemberAtOnce(storage: Pick<Storage, 'getItem'> | undefined): boolean {
  try {
    return storage?.getItem(MEMBER_AT_ONCE_KEY) === '1'
  } catch {
    return false
  }
}

/** Keeps the choice for the next visits (nothing when storage is refused). */
export function writeMemberAtOnce(storage: Pick<Storage, 'setItem'> | undefined, on: boolean): void {
  try {
    storage?.setItem(MEMBER_AT_ONCE_KEY, on ? '1' : '0')
  } catch {
    // Private mode: the choice lasts this visit only.
  }
}
