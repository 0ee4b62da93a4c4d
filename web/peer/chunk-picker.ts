/**
 * Which chunk to ask a source for next: among the chunks it has that we lack and nobody is fetching,
 * the rarest (held by the fewest sources), ties broken at random so that downloaders spread over the
 * file instead of all asking for the same chunks. Rarest first keeps rare chunks alive in the swarm.
 */
import type { Bitfield } from '../../shared/bitfield.js'

export interface PickInput {
  chunkCount: number
  /** Chunks already here. */
  here: Bitfield
  /** Does this source have chunk i? */
  sourceHas(index: number): boolean
  /** How many connected sources have chunk i. */
  availability(index: number): number
  /** Requests already out for chunk i (from any source). */
  inFlight(index: number): number
  /** True if this source must not be asked for chunk i (it is already fetching it, or failed it). */
  excluded(index: number): boolean
  /** Endgame: chunks already in flight may be asked again, up to this many requests each. */
  maxRequestsPerChunk: number
  random(): number
}

/** The chunk to request, or undefined when this source has nothing we can ask for. */
export function pickChunk(input: PickInput): number | undefined {
  let best: number | undefined
  let bestRarity = Number.POSITIVE_INFINITY
  let bestInFlight = Number.POSITIVE_INFINITY
  let ties = 0
  for (let index = 0; index < input.chunkCount; index++) {
    if (input.here.has(index) || !input.sourceHas(index) || input.excluded(index)) continue
    const inFlight = input.inFlight(index)
    if (inFlight >= input.maxRequestsPerChunk) continue
    const rarity = input.availability(index)
    // Prefer chunks nobody is fetching; among those, the rarest.
    const better = inFlight < bestInFlight || (inFlight === bestInFlight && rarity < bestRarity)
    const tie = inFlight === bestInFlight && rarity === bestRarity
    if (better) {
      best = index
      bestRarity = rarity
      bestInFlight = inFlight
      ties = 1
    } else if (tie) {
      // Reservoir sampling: each tied chunk is chosen with equal probability in one pass.
      ties++
      if (input.random() * ties < 1) best = index
    }
  }
  return best
}
