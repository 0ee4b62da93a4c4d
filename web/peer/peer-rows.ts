/**
 * The peers of one file as a person sees them — the page's peers view and the terminal's `peers`: who
 * holds it as the tracker says, how many chunks each has, how this peer reaches each, and the rates
 * each way.
 */
import { Bitfield } from '../../shared/bitfield.js'
import type { ServerMessageOf } from '../../shared/tracker-protocol.js'
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
}

export async function peerRows(
  { tracker, sessions, rates }: PeerRowSources,
  digest: string,
): Promise<PeerRow[]> {
  const reply = await tracker.peers(digest)
  const open = new Map(sessions.filter((s) => !s.destroyed).map((s) => [s.peerId, s]))
  return Promise.all(
    reply.peers.map(async ({ peerId, have }) => {
      const session = open.get(peerId)
      const connection = session
        ? await session.link.connectionType().catch(() => 'unknown' as const)
        : 'not connected'
      return {
        peerId,
        chunks: have === 'all' ? reply.chunkCount : countChunks(reply.chunkCount, have),
        chunkCount: reply.chunkCount,
        connection,
        downloadBytesPerSecond: rates.rate(peerId, 'down'),
        uploadBytesPerSecond: rates.rate(peerId, 'up'),
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
