/**
 * Memory of abuse (docs/PROTOCOL.md, "Bans"). A peer that breaks the wire protocol (a malformed frame, a
 * frame before hello, an unknown frame kind, a flood over its budget, no hello in time) is refused for a
 * while, longer each time: 1 minute, 10 minutes, then the rest of the session. A peer whose chunks fail
 * their hash three times is refused for the session at once (SPEC §5).
 *
 * A ban is kept under every key the offender is known by, and each key escalates on its own:
 * - `peer:<id>`: the tracker's peer id. Cheap to change (a new tracker connection gives a new one), so
 *   alone it would let a reconnect undo every ban;
 * - `address:<ip>`: the other side's address on the ICE-selected candidate pair, what it cannot change
 *   cheaply for the session. Loopback addresses are not keys: every tab of the machine shares them.
 * Signed identities (issue 12, SPEC §9) will add `identity:<public key>` as one more key, with no change
 * here: a peer is refused when any of its keys is.
 */
import type { ErrorCode } from '../../shared/errors.js'
import type { Clock } from './clock.js'
import { TypedEventTarget } from './typed-events.js'

/** How long each successive ban of one key lasts: 1 min, 10 min, then the session. */
export const BAN_STEPS_MS: readonly number[] = [60_000, 600_000, Number.POSITIVE_INFINITY]
/**
 * Keys remembered at most: past this, the oldest keys whose bans have ended are forgotten first. Each is a
 * few dozen bytes; an attacker minting peer ids cannot make this grow without bound.
 */
const MAX_KEYS = 4096

export interface Ban {
  key: string
  /** Why: the error code the link was closed with. */
  reason: ErrorCode
  /** How many times this key was banned this session. */
  strikes: number
  untilMs: number
}

export type BanListEvents = {
  /** A key was banned (again). */
  ban: Ban
}

export class BanList extends TypedEventTarget<BanListEvents> {
  readonly #bans = new Map<string, Ban>()

  constructor(private readonly clock: Clock) {
    super()
  }

  /**
   * Bans every key of an offender, each for its next step (or for the session when `forSession`). A key
   * banned now is not banned again for the same spell: one offence, however many links it closed at once,
   * is one strike.
   */
  punish(keys: readonly string[], reason: ErrorCode, options: { forSession?: boolean } = {}): void {
    const now = this.clock.now()
    for (const key of keys) {
      const previous = this.#bans.get(key)
      if (previous && previous.untilMs > now && !options.forSession) continue
      const strikes = (previous?.strikes ?? 0) + 1
      const stepMs = options.forSession
        ? Number.POSITIVE_INFINITY
        : BAN_STEPS_MS[Math.min(strikes, BAN_STEPS_MS.length) - 1]!
      const ban: Ban = { key, reason, strikes, untilMs: now + stepMs }
      this.#bans.delete(key) // re-inserted last: the map's order is the age of the last offence
      this.#bans.set(key, ban)
      this.emit('ban', { ...ban })
    }
    if (this.#bans.size > MAX_KEYS) this.#forgetOldest(now)
  }

  /** The ban in force on any of `keys` (the one lasting longest), or undefined. */
  banOf(keys: readonly string[]): Ban | undefined {
    const now = this.clock.now()
    let found: Ban | undefined
    for (const key of keys) {
      const ban = this.#bans.get(key)
      if (ban && ban.untilMs > now && (!found || ban.untilMs > found.untilMs)) found = ban
    }
    return found ? { ...found } : undefined
  }

  /** Bans in force now, latest first: for the peers view. */
  get active(): Ban[] {
    const now = this.clock.now()
    return [...this.#bans.values()]
      .filter((ban) => ban.untilMs > now)
      .reverse()
      .map((ban) => ({ ...ban }))
  }

  #forgetOldest(now: number): void {
    for (const [key, ban] of this.#bans) {
      if (this.#bans.size <= MAX_KEYS) return
      if (ban.untilMs <= now) this.#bans.delete(key)
    }
    // Every key is banned now: the oldest offences go, not the memory's bound.
    for (const key of this.#bans.keys()) {
      if (this.#bans.size <= MAX_KEYS) return
      this.#bans.delete(key)
    }
  }
}

/** The key of a tracker peer id. */
export function peerKey(peerId: string): string {
  return `peer:${peerId}`
}

/**
 * The key of a remote address, or undefined for an address that many peers share by nature: loopback
 * (every tab of one machine) and the unspecified address.
 */
export function addressKey(address: string | undefined): string | undefined {
  if (!address) return undefined
  const lower = address.toLowerCase()
  if (/^127\./.test(lower) || lower === '::1' || lower === '0.0.0.0' || lower === '::') return undefined
  if (lower.startsWith('::ffff:127.')) return undefined
  return `address:${lower}`
}
