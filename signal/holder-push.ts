/**
 * Tells the peers downloading a file, at once, of a peer that has just announced it (issue 16, flash
 * crowds): without this a downloader learns only of the holders that announced before it asked, and of the
 * others at its next refresh, seconds later; a crowd that clicks together then fetches everything from the
 * origin. The push is an unsolicited `peers` message (no `ref`) listing the one new holder: clients that
 * predate it ignore a `peers` reply nobody waits for. Only partial holders (leechers) hear it: a seeder
 * wants nothing.
 *
 * Cost: nothing when the file has no other leecher (the catalog entry's count says so); otherwise one
 * `peers` draw, a random sample of `limits.peersPerReply` holders, and a send to each leecher among them.
 */
import type { AnnouncedFile, ServerMessage } from '../shared/tracker-protocol.js'
import type { TrackerContext } from './connection.js'

export function pushNewHolder(context: TrackerContext, peerId: string, file: AnnouncedFile): void {
  const { registry, limits } = context
  const entry = registry.entry(file.digest)
  // The announcer itself counts among the leechers when it announced a part.
  if (!entry || entry.leechers - (file.have === 'all' ? 0 : 1) <= 0) return
  const swarm = registry.peers(file.digest, peerId, limits.peersPerReply)
  if (!swarm) return
  const push: ServerMessage = {
    type: 'peers',
    digest: file.digest,
    chunkCount: swarm.chunkCount,
    peers: [{ peerId, have: file.have }],
  }
  for (const holder of swarm.peers) {
    if (holder.have !== 'all') context.find(holder.peerId)?.send(push)
  }
}
