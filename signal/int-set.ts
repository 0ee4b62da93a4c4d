/**
 * A set of non-negative integers (interned peer or file numbers) kept sorted in one plain array of small
 * integers, which V8 stores packed (one machine word a member, no boxing): where a `Map` or `Set` costs an
 * entry's worth (~30–40 bytes) per member plus its table. The registry holds a million of these memberships
 * at 10,000 peers × 100 files (issue 15: 531 MiB RSS with Maps and Sets). Lookups are binary searches;
 * adding or removing shifts the tail (`splice`, a memmove), a few microseconds at the sizes held here
 * (≤ 10,000, the default files per peer).
 *
 * Not an Int32Array, though half the bytes a member: measured with bench/tracker-load/registry-heap.ts at
 * 10,000 × 100, the ~110,000 typed arrays (one per file and per peer) and their separately allocated
 * backing stores, reallocated as sets grow, cost ~100 MiB more RSS (297 against 195 MiB) for the same heap.
 */
export class IntSet {
  readonly #values: number[] = []

  get size(): number {
    return this.#values.length
  }

  /** The member at `index` in ascending order (0 ≤ index < size). */
  at(index: number): number {
    return this.#values[index]!
  }

  has(value: number): boolean {
    return this.#find(value) >= 0
  }

  /** Returns whether `value` was added (false: it was there). */
  add(value: number): boolean {
    const found = this.#find(value)
    if (found >= 0) return false
    const at = ~found
    this.#values.splice(at, 0, value)
    return true
  }

  /** Returns whether `value` was there. */
  delete(value: number): boolean {
    const at = this.#find(value)
    if (at < 0) return false
    this.#values.splice(at, 1)
    return true
  }

  /** The members in ascending order, copied: safe to iterate while the set changes. */
  toArray(): number[] {
    return this.#values.slice()
  }

  /** Its index when present; otherwise the bitwise complement of where it would go. */
  #find(value: number): number {
    let low = 0
    let high = this.#values.length - 1
    const values = this.#values
    while (low <= high) {
      const middle = (low + high) >>> 1
      const here = values[middle]!
      if (here < value) low = middle + 1
      else if (here > value) high = middle - 1
      else return middle
    }
    return ~low
  }
}

/**
 * Numbers for strings (peer ids), reused once released, so that they stay small and dense: small integers
 * are stored unboxed in an IntSet, where a string would need a Map or Set entry.
 */
export class Interner {
  readonly #numbers = new Map<string, number>()
  readonly #names: (string | undefined)[] = []
  readonly #free: number[] = []

  get size(): number {
    return this.#numbers.size
  }

  numberOf(name: string): number | undefined {
    return this.#numbers.get(name)
  }

  nameOf(number: number): string {
    const name = this.#names[number]
    if (name === undefined) throw new Error(`no name has the number ${number}`)
    return name
  }

  /** The name's number, given a new one when it has none. */
  intern(name: string): number {
    const known = this.#numbers.get(name)
    if (known !== undefined) return known
    const number = this.#free.pop() ?? this.#names.length
    this.#numbers.set(name, number)
    this.#names[number] = name
    return number
  }

  release(name: string): void {
    const number = this.#numbers.get(name)
    if (number === undefined) return
    this.#numbers.delete(name)
    this.#names[number] = undefined
    this.#free.push(number)
  }

  names(): IterableIterator<string> {
    return this.#numbers.keys()
  }
}
