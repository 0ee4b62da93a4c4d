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
 *
 * With several instances (Redis), leechers connected to other instances hear it through their instances'
 * channels (cluster.ts: one message per instance, not one per leecher). An unlisted file (a private share, a collection's member) has
 * no catalog entry and gets no push.
 */
import type { AnnouncedFile, ServerMessage } from '../shared/tracker-protocol.js'
import type { TrackerContext } from './connection.js'
import { after } from './registry-contract.js'

export function pushNewHolder(context: TrackerContext, peerId: string, file: AnnouncedFile): void {
  const { registry, limits } = context
  const pushed = after(registry.entry(file.digest), (entry) => {
    // The announcer itself counts among the leechers when it announced a part.
    if (!entry || entry.leechers - (file.have === 'all' ? 0 : 1) <= 0) return
    return after(registry.peers(file.digest, peerId, limits.peersPerReply), (swarm) => {
      if (!swarm) return
      const push: ServerMessage = {
        type: 'peers',
        digest: file.digest,
        chunkCount: swarm.chunkCount,
        peers: [{ peerId, have: file.have }],
      }
      const elsewhere: string[] = []
      for (const holder of swarm.peers) {
        if (holder.have === 'all') continue
        const local = context.findLocal(holder.peerId)
        if (local) local.send(push)
        else elsewhere.push(holder.peerId)
      }
      if (elsewhere.length > 0) context.pushElsewhere(elsewhere, push)
    })
  })
  // A push is a courtesy: when the registry cannot answer (Redis down), downloaders learn of the holder at
  // their next refresh, as before.
  if (pushed instanceof Promise) pushed.catch(() => {})
}
