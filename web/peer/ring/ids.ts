/**
 * The ring's identifier space: 256-bit ids (node ids and keys) as 64 lowercase hex characters, whose
 * string order is their numeric order, so ring intervals are string comparisons. Distances, which the
 * routing compares, are fractions of the ring taken from an id's top 52 bits: exact for any two ids that
 * differ there, which at any population this ring will see is every two ids (2^-52 of the ring holds a
 * node once in 4.5 × 10^15). Decisions about who is responsible for a key use the exact comparisons.
 */

export const ID_HEX_LENGTH = 64
const TOP_HEX = 13
const TOP_SCALE = 2 ** 52
const ID_PATTERN = /^[0-9a-f]{64}$/

export function isId(value: string): boolean {
  return ID_PATTERN.test(value)
}

/** x ∈ (a, b) going clockwise from a; when a = b, everything but a. */
export function between(a: string, x: string, b: string): boolean {
  if (a < b) return a < x && x < b
  return a < x || x < b || (a === b && x !== a)
}

/** x ∈ (a, b] going clockwise from a; when a = b, the whole ring. */
export function betweenRightIncl(a: string, x: string, b: string): boolean {
  return x === b || between(a, x, b)
}

/** The id's position on the ring as a fraction in [0, 1), from its top 52 bits. */
export function positionOf(id: string): number {
  return Number.parseInt(id.slice(0, TOP_HEX), 16) / TOP_SCALE
}

/** How far `to` lies clockwise from `from`, as a fraction of the ring in [0, 1). */
export function clockwise(from: number, to: number): number {
  const d = to - from
  return d < 0 ? d + 1 : d
}

/** The shorter way round between two positions, in [0, 0.5]. */
export function ringDistance(a: number, b: number): number {
  const d = clockwise(a, b)
  return d > 0.5 ? 1 - d : d
}

const RING = 1n << 256n

/** The id `fraction` of the ring clockwise from `id` (fraction in [0, 1)). */
export function idAt(id: string, fraction: number): string {
  const offset = BigInt(Math.floor(fraction * TOP_SCALE)) << 204n
  return ((BigInt(`0x${id}`) + offset) % RING).toString(16).padStart(ID_HEX_LENGTH, '0')
}

/**
 * The ring ids in `ids` from `self` clockwise, without `self` and without repeats, cut where the list
 * comes back round to `self` (then the ring is smaller than the list: `wrapped` is true).
 */
export function successorsFrom(
  self: string,
  ids: readonly string[],
  limit: number,
): { list: string[]; wrapped: boolean } {
  const list: string[] = []
  for (const id of ids) {
    if (id === self) return { list, wrapped: true }
    if (list.includes(id)) continue
    // An id out of clockwise order means the sender's list is stale past this point.
    if (list.length > 0 && !between(list[list.length - 1]!, id, self)) break
    list.push(id)
    if (list.length === limit) break
  }
  return { list, wrapped: false }
}

/**
 * The ids in `ids` going counterclockwise from `self` (its predecessors, nearest first), cut at the first
 * one out of that order or back at `self`, without repeats: a stale list is trusted only as far as it
 * is consistent.
 */
export function predecessorsFrom(self: string, ids: readonly string[], limit: number): string[] {
  const list: string[] = []
  for (const id of ids) {
    if (id === self || list.includes(id)) break
    if (list.length > 0 && !between(self, id, list[list.length - 1]!)) break
    list.push(id)
    if (list.length === limit) break
  }
  return list
}
