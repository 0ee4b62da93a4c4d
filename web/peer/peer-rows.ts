/**
 * The peers of one file as a person sees them — the page's peers view and the terminal's `peers`: who
 * holds it as the tracker says (and, given the content routing's hits, as the ring says: issue 13), how
 * many chunks each has, how this peer reaches each, the rates each way, and where each was found.
 */
import { Bitfield } from '../../shared/bitfield.js'
import type { ServerMessageOf } from '../../shared/tracker-protocol.js'
import type { ProviderHit, RoutingSource } from './content-routing.js'
import type { ConnectionType } from './peer-link.js'
import type { PeerRates } from './peer-rates.js'

/** One peer of a file. */
export interface PeerRow {
  peerId: string
  chunks: number
  chunkCount: number
  connection: ConnectionType | 'not connected'
  downloadBytesPerSecond: number
  uploadBytesPerSecond: number
  /** Where this peer was learned: the tracker, the ring, or both (the tracker's alone when no hits were given). */
  found: readonly RoutingSource[]
}

/** What the rows are made of: narrower than the engine's parts, so that the page's tests can fake them. */
export interface PeerRowSources {
  tracker: { peers(digest: string): Promise<ServerMessageOf<'peers'>> }
  sessions: readonly {
    readonly peerId: string
    readonly destroyed: boolean
    readonly link: { connectionType(): Promise<ConnectionType> }
  }[]
  rates: Pick<PeerRates, 'rate'>
  /**
   * The content routing's hits for the file (tracker and ring, merged), when asked: they say where each
   * peer came from, and the ring's holders are listed too, with the chunks they said (their count of the
   * file's chunks comes from `chunkCount`). Undefined: the tracker's reply alone, as before the ring.
   */
  providers?: readonly ProviderHit[]
  /** The file's chunk count when the tracker cannot say (it is offline): from the manifest held here. */
  chunkCount?: number
}

export async function peerRows(sources: PeerRowSources, digest: string): Promise<PeerRow[]> {
  const { tracker, sessions, rates, providers } = sources
  // With the ring's hits given, a tracker that cannot answer (offline, or the file unknown to it) leaves
  // the ring's holders; without any, its error is the answer.
  const reply = await tracker.peers(digest).catch((error: unknown) => {
    if (providers && providers.length > 0) return undefined
    throw error
  })
  const chunkCount = reply?.chunkCount ?? sources.chunkCount ?? 0
  const hits = new Map((providers ?? []).map((hit) => [hit.peerId, hit]))
  const holders: { peerId: string; chunks: number; found: readonly RoutingSource[] }[] = (
    reply?.peers ?? []
  ).map(({ peerId, have }) => ({
    peerId,
    chunks: have === 'all' ? chunkCount : countChunks(chunkCount, have),
    found: hits.get(peerId)?.sources ?? ['tracker'],
  }))
  const listed = new Set(holders.map((holder) => holder.peerId))
  for (const hit of hits.values()) {
    if (!listed.has(hit.peerId))
      holders.push({ peerId: hit.peerId, chunks: hit.chunks ?? 0, found: hit.sources })
  }
  const open = new Map(sessions.filter((s) => !s.destroyed).map((s) => [s.peerId, s]))
  return Promise.all(
    holders.map(async ({ peerId, chunks, found }) => {
      const session = open.get(peerId)
      const connection = session
        ? await session.link.connectionType().catch(() => 'unknown' as const)
        : 'not connected'
      return {
        peerId,
        chunks,
        chunkCount,
        connection,
        downloadBytesPerSecond: rates.rate(peerId, 'down'),
        uploadBytesPerSecond: rates.rate(peerId, 'up'),
        found,
      }
    }),
  )
}

function countChunks(chunkCount: number, have: string): number {
  try {
    return Bitfield.fromBase64(chunkCount, have).count
  } catch {
    return 0 // the tracker checks bitfields; a bad one counts as nothing rather than breaking the view
  }
}
