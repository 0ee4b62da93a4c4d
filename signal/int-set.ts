/**
 * A set of non-negative integers (interned peer or file numbers) kept sorted in one Int32Array: 4 bytes a
 * member and one array per set, where a `Map` or `Set` costs an entry object's worth (~30–40 bytes) per
 * member plus its table. The registry holds a million of these memberships at 10,000 peers × 100 files
 * (issue 15: 531 MiB RSS with Maps and Sets). Lookups are binary searches; adding or removing shifts the
 * tail with one `copyWithin`, which for the sizes held here (≤ 10,000, SPEC §7's files per peer) is a few
 * microseconds.
 */
export class IntSet {
  #values: Int32Array
  #size = 0

  constructor(capacity = 0) {
    this.#values = new Int32Array(capacity)
  }

  get size(): number {
    return this.#size
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
    if (this.#size === this.#values.length) {
      // Grow by half (at least 4): few copies while a set fills, little slack once it has.
      const grown = new Int32Array(Math.max(4, this.#size + (this.#size >> 1)))
      grown.set(this.#values.subarray(0, this.#size))
      this.#values = grown
    }
    this.#values.copyWithin(at + 1, at, this.#size)
    this.#values[at] = value
    this.#size++
    return true
  }

  /** Returns whether `value` was there. */
  delete(value: number): boolean {
    const at = this.#find(value)
    if (at < 0) return false
    this.#values.copyWithin(at, at + 1, this.#size)
    this.#size--
    if (this.#size === 0) this.#values = new Int32Array(0)
    else if (this.#size < this.#values.length >> 2) this.#values = this.#values.slice(0, this.#size * 2)
    return true
  }

  /** The members in ascending order, copied: safe to iterate while the set changes. */
  toArray(): number[] {
    return Array.from(this.#values.subarray(0, this.#size))
  }

  /** Its index when present; otherwise the bitwise complement of where it would go. */
  #find(value: number): number {
    let low = 0
    let high = this.#size - 1
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
 * Numbers for strings (peer ids), reused once released, so that they stay small and dense: a number is
 * 4 bytes in an IntSet where the string would be an 8-byte reference in a Map entry.
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
