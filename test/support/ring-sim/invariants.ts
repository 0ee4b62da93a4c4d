/**
 * Zave's inductive invariant of Chord ("Reasoning about identifier spaces", 2017; verdi-chord's
 * `zave_invariant`), checked after every event of a simulation:
 * - OneLiveSuccessor: every member's successor list holds at least one live member;
 * - SufficientPrincipals: at least r + 1 members are principals, a principal being a member that no
 *   member's successor list skips (a list skips p when p lies between the list's owner and one of its
 *   entries, and is not in the list).
 *
 * Recomputing both is O(N·r) per event: 20,000 steps at N = 1,000, times a million events. So they are
 * kept incrementally, in O(r) per change: a list change touches the entries and the members its range
 * spans (about r in a settled ring); a member joining or going looks only at the lists whose range spans
 * it, found by walking back from it over at most the widest range any list spans. After every event the
 * check is then two counters. `verifyFromScratch` recomputes everything, to prove the bookkeeping right
 * (the simulator calls it at intervals and at the end).
 */
import { between, clockwise, positionOf } from '../../../web/peer/ring/ids.js'

interface ListState {
  entries: readonly string[]
  /** Clockwise reach of the list: to its farthest entry. */
  reach: number
  /** Members this list skips. */
  skips: Set<string>
}

export class ZaveInvariants {
  readonly #r: number
  /** Live members, sorted by id. */
  readonly #members: string[] = []
  readonly #isMember = new Set<string>()
  readonly #lists = new Map<string, ListState>()
  /** Lists that contain each id. */
  readonly #holders = new Map<string, Set<string>>()
  /** Live member entries in each member's list. */
  readonly #liveEntries = new Map<string, number>()
  /** Members whose list skips each member. */
  readonly #skippers = new Map<string, Set<string>>()
  #withoutLiveSuccessor = 0
  #principals = 0
  /** At least the widest reach of any list (recomputed by verifyFromScratch). */
  #maxReach = 0
  /** When the invariant first held (and checking began); null until then. */
  armedAt: string | null = null
  /** Invariant violations seen, with when. */
  readonly violations: string[] = []

  constructor(r: number) {
    this.#r = r
  }

  get memberCount(): number {
    return this.#members.length
  }

  get principals(): number {
    return this.#principals
  }

  get membersWithoutLiveSuccessor(): number {
    return this.#withoutLiveSuccessor
  }

  /** Sorted live members. */
  members(): readonly string[] {
    return this.#members
  }

  /**
   * Checks both invariants. The invariant is inductive: Zave proves the operations keep it once it holds,
   * from a ring of r + 1 principals on. So the check is armed the first time it holds (a ring that grew
   * from one node by concurrent joins gets there after some stabilising), and from then on every event
   * must keep it.
   */
  check(context: string): boolean {
    if (this.armedAt === null) {
      if (
        this.#members.length < this.#r + 1 ||
        this.#withoutLiveSuccessor > 0 ||
        this.#principals < this.#r + 1
      )
        return true
      this.armedAt = context
    }
    let ok = true
    if (this.#withoutLiveSuccessor > 0) {
      ok = false
      this.#violation(`${context}: ${this.#withoutLiveSuccessor} member(s) without a live successor`)
    }
    if (this.#principals < this.#r + 1) {
      ok = false
      this.#violation(`${context}: only ${this.#principals} principals, need ${this.#r + 1}`)
    }
    return ok
  }

  /** `id` became a live member with this successor list. */
  join(id: string, successors: readonly string[]): void {
    if (this.#isMember.has(id)) return this.setList(id, successors)
    insertSorted(this.#members, id)
    this.#isMember.add(id)
    this.#skippers.set(id, new Set())
    this.#principals++
    for (const holder of this.#holders.get(id) ?? []) this.#adjustLive(holder, +1)
    // Lists whose range spans the newcomer skip it (unless it is in them).
    const index = this.#indexOf(id)
    const pos = this.#pos(id)
    for (let step = 1; step < this.#members.length; step++) {
      const m = this.#members[(index - step + this.#members.length) % this.#members.length]!
      const distance = clockwise(this.#pos(m), pos)
      if (distance > this.#maxReach) break
      const list = this.#lists.get(m)
      if (list && this.#spans(m, list, id) && !list.entries.includes(id)) this.#addSkip(m, list, id)
    }
    this.setList(id, successors)
  }

  /** `id` is no longer a live member (it died, left, or dropped out to rejoin). */
  leave(id: string): void {
    if (!this.#isMember.has(id)) return
    this.#removeList(id)
    const skippers = this.#skippers.get(id)!
    if (skippers.size === 0) this.#principals--
    for (const m of skippers) this.#lists.get(m)?.skips.delete(id)
    this.#skippers.delete(id)
    this.#isMember.delete(id)
    this.#members.splice(this.#indexOf(id), 1)
    for (const holder of this.#holders.get(id) ?? []) this.#adjustLive(holder, -1)
  }

  /** Member `id` has a new successor list. */
  setList(id: string, successors: readonly string[]): void {
    if (!this.#isMember.has(id)) return
    this.#removeList(id)
    const pos = this.#pos(id)
    let reach = 0
    for (const entry of successors) reach = Math.max(reach, clockwise(pos, this.#pos(entry)))
    // Lists never repeat an id (ids.ts successorsFrom); a repeat would count one entry twice here.
    const list: ListState = { entries: [...new Set(successors)], reach, skips: new Set() }
    this.#lists.set(id, list)
    this.#maxReach = Math.max(this.#maxReach, reach)
    let live = 0
    for (const entry of list.entries) {
      let holders = this.#holders.get(entry)
      if (!holders) {
        holders = new Set()
        this.#holders.set(entry, holders)
      }
      holders.add(id)
      if (this.#isMember.has(entry)) live++
    }
    this.#liveEntries.set(id, live)
    if (live === 0) this.#withoutLiveSuccessor++
    // Members within the list's reach that are not in it are skipped.
    const index = this.#indexOf(id)
    const entries = new Set(list.entries)
    for (let step = 1; step < this.#members.length; step++) {
      const p = this.#members[(index + step) % this.#members.length]!
      if (!this.#spans(id, list, p)) break
      if (!entries.has(p)) this.#addSkip(id, list, p)
    }
  }

  /** Recomputes both invariants from the lists, and says whether the counters agree. */
  verifyFromScratch(): { ok: boolean; withoutLiveSuccessor: number; principals: number } {
    let withoutLive = 0
    const skipped = new Set<string>()
    const sorted = this.#members
    for (const [index, m] of sorted.entries()) {
      const list = this.#lists.get(m)!
      if (!list.entries.some((entry) => this.#isMember.has(entry))) withoutLive++
      const entries = new Set(list.entries)
      for (let step = 1; step < sorted.length; step++) {
        const p = sorted[(index + step) % sorted.length]!
        if (!this.#spans(m, list, p)) break
        if (!entries.has(p)) skipped.add(p)
      }
    }
    const principals = sorted.filter((m) => !skipped.has(m)).length
    this.#maxReach = Math.max(0, ...[...this.#lists.values()].map((list) => list.reach))
    return {
      ok: withoutLive === this.#withoutLiveSuccessor && principals === this.#principals,
      withoutLiveSuccessor: withoutLive,
      principals,
    }
  }

  /** Whether p lies strictly between m and the farthest entry of m's list. */
  #spans(m: string, list: ListState, p: string): boolean {
    const distance = clockwise(this.#pos(m), this.#pos(p))
    if (distance === 0 || distance > list.reach) return false
    if (distance < list.reach) return true
    // Same top bits as the farthest entry: compare exactly.
    const farthest = list.entries.reduce((a, b) =>
      clockwise(this.#pos(m), this.#pos(a)) >= clockwise(this.#pos(m), this.#pos(b)) ? a : b,
    )
    return between(m, p, farthest)
  }

  #addSkip(m: string, list: ListState, p: string): void {
    if (list.skips.has(p)) return
    list.skips.add(p)
    const skippers = this.#skippers.get(p)!
    if (skippers.size === 0) this.#principals--
    skippers.add(m)
  }

  #removeList(id: string): void {
    const list = this.#lists.get(id)
    if (!list) return
    this.#lists.delete(id)
    for (const entry of list.entries) this.#holders.get(entry)?.delete(id)
    if (this.#liveEntries.get(id) === 0) this.#withoutLiveSuccessor--
    this.#liveEntries.delete(id)
    for (const p of list.skips) {
      const skippers = this.#skippers.get(p)
      if (!skippers) continue
      skippers.delete(id)
      if (skippers.size === 0) this.#principals++
    }
  }

  #adjustLive(holder: string, delta: number): void {
    if (!this.#isMember.has(holder)) return
    const before = this.#liveEntries.get(holder) ?? 0
    const after = before + delta
    this.#liveEntries.set(holder, after)
    if (before === 0 && after > 0) this.#withoutLiveSuccessor--
    if (before > 0 && after === 0) this.#withoutLiveSuccessor++
  }

  readonly #positions = new Map<string, number>()

  #pos(id: string): number {
    let pos = this.#positions.get(id)
    if (pos === undefined) {
      pos = positionOf(id)
      this.#positions.set(id, pos)
    }
    return pos
  }

  #indexOf(id: string): number {
    return lowerBound(this.#members, id)
  }

  #violation(text: string): void {
    if (this.violations.length < 50) this.violations.push(text)
  }
}

function insertSorted(sorted: string[], id: string): void {
  sorted.splice(lowerBound(sorted, id), 0, id)
}

/** The index of the first id in `sorted` that is not below `id`. */
export function lowerBound(sorted: readonly string[], id: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! < id) lo = mid + 1
    else hi = mid
  }
  return lo
}
