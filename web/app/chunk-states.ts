/** What the chunk map draws: each chunk of a file here, in flight or missing, and which peer it came from. */

export const CHUNK_MISSING = 0
export const CHUNK_IN_FLIGHT = 1
export const CHUNK_HERE = 2
export type ChunkState = typeof CHUNK_MISSING | typeof CHUNK_IN_FLIGHT | typeof CHUNK_HERE

export class ChunkStates {
  readonly states: Uint8Array
  /** The peer each chunk came from (here) or is coming from (in flight); undefined for chunks stored before. */
  readonly peers: (string | undefined)[]
  /** Grows on every change, so that views know to draw again. */
  revision = 0

  constructor(readonly count: number) {
    this.states = new Uint8Array(count)
    this.peers = new Array(count).fill(undefined)
  }

  static from(count: number, has: (index: number) => boolean): ChunkStates {
    const chunks = new ChunkStates(count)
    for (let index = 0; index < count; index++) if (has(index)) chunks.states[index] = CHUNK_HERE
    return chunks
  }

  set(index: number, state: ChunkState, peerId?: string): void {
    if (index < 0 || index >= this.count) return
    // A chunk here stays here: an endgame duplicate's cancel must not grey it out again.
    if (this.states[index] === CHUNK_HERE && state !== CHUNK_HERE) return
    this.states[index] = state
    this.peers[index] = peerId
    this.revision++
  }

  /** Forgets a chunk (it failed its check on read and was dropped). */
  lose(index: number): void {
    if (index < 0 || index >= this.count) return
    this.states[index] = CHUNK_MISSING
    this.peers[index] = undefined
    this.revision++
  }

  tally(state: ChunkState): number {
    let total = 0
    for (const s of this.states) if (s === state) total++
    return total
  }
}
