/**
 * What the host tells the engine about its circumstances, to decide whether it takes a ring position
 * (stores records, routes for others) or stays a client (SPEC §9, issue 13): a tab becomes a member only
 * after MEMBER_AFTER_MS online, and stays (or goes back to being) a client while it is hidden and frozen
 * or on a metered connection; the CLI is the always-on part of the ring and is a member at once.
 *
 * The page feeds it from the Page Visibility and Page Lifecycle APIs and `navigator.connection`; the CLI
 * passes `{ memberAtOnce: true }`. Plain data: the host calls `engine.setMembershipInput(...)` on change.
 */

/** Online this long before a tab takes a ring position: a session that lasted is likely to last more. */
export const MEMBER_AFTER_MS = 2 * 60_000

export type PageVisibility = 'visible' | 'hidden' | 'frozen'

export interface MembershipInput {
  /**
   * Default 'visible'. Hidden or frozen: a client. Chromium throttles a hidden tab's timers to once a
   * minute after five minutes and a frozen one runs none, so neither could stabilise (every 5 s) or answer
   * for the records it would store.
   */
  visibility?: PageVisibility
  /** A metered connection (a phone's data plan): never stores or routes for others. Default false. */
  metered?: boolean
  /** Member as soon as it is linked to the ring (the CLI, a server-like peer). Default false. */
  memberAtOnce?: boolean
}

/** Whether a peer in these circumstances, online for `onlineMs`, should be a member now. */
export function shouldBeMember(input: MembershipInput, onlineMs: number): boolean {
  if (input.metered || input.visibility === 'hidden' || input.visibility === 'frozen') return false
  return input.memberAtOnce === true || onlineMs >= MEMBER_AFTER_MS
}
