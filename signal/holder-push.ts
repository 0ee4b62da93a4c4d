/**
 * Tells the peers downloading a file, at once, of a peer that has just announced it (issue 16, flash
 * crowds): without this a downloader learns only of the holders that announced before it asked, and of the
 * others at its next refresh, seconds later; a crowd that clicks together then fetches everything from the
 * origin. The push is an unsolicited `peers` message (no `ref`) listing the one new holder: clients that
 * predate it ignore a `peers` reply nobody waits for. Only partial holders (leechers) hear it: a seeder
 * wants nothing. At most `limits.peersPerReply` of them are told per announce, a random sample when there
 * are more, so that one announce costs the server a bounded number of sends.
 */
import type { ServerMessage } from '../shared/tracker-protocol.js'
import type { TrackerContext } from './connection.js'

export function pushNewHolder(context: TrackerContext, peerId: string, digest: string): void {
  const { registry, limits } = context
  // Every holder, in random order (the registry shuffles): the first leechers are a random sample. One
  // pass over the file's holders, as a `peers` request costs.
  const swarm = registry.peers(digest, '', Number.POSITIVE_INFINITY)
  const self = swarm?.peers.find((p) => p.peerId === peerId)
  if (!swarm || !self) return
  const push: ServerMessage = { type: 'peers', digest, chunkCount: swarm.chunkCount, peers: [self] }
  let told = 0
  for (const holder of swarm.peers) {
    if (told >= limits.peersPerReply) break
    if (holder.have === 'all' || holder.peerId === peerId) continue
    const connection = context.find(holder.peerId)
    if (!connection) continue
    connection.send(push)
    told++
  }
}
