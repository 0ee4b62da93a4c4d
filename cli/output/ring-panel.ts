/**
 * The `ring` command of the text UI: the page's Network panel as text (issue 13) — this peer's place in
 * the ring, its neighbours and fingers with how each is reached, and what it does for the others.
 */
import type { RingPeer, RingStatus } from '../../web/peer/ring/ring-status.js'
import { table } from './text.js'

const STATE_WORDS: Record<RingStatus['state'], string> = {
  joining: 'joining the ring',
  member: 'ring member (stores records for others)',
  client: 'ring client (routes through a member)',
  alone: 'alone (no other ring peer known)',
}

export function ringPanel(status: RingStatus): string {
  const head = [
    `${STATE_WORDS[status.state]} · node ${status.nodeId.slice(0, 16)} (peer ${status.peerId})`,
    `about ${status.sizeEstimate} ${status.sizeEstimate === 1 ? 'member' : 'members'} · ${status.recordsStored} records stored · ${status.lookupsServed} lookups served · ${
      status.trackerOnline ? 'server online' : 'server offline: finding peers through the ring'
    }`,
  ]
  const row = (role: string, peer: RingPeer) => [role, peer.peerId, peer.nodeId.slice(0, 16), peer.connection]
  const rows = [
    ...(status.predecessor ? [row('predecessor', status.predecessor)] : []),
    ...status.successors.map((peer, i) => row(`successor ${i + 1}`, peer)),
    ...status.fingers.map((finger) => row(`finger 1/2^${finger.level}`, finger)),
  ]
  if (rows.length === 0) return head.join('\n')
  return `${head.join('\n')}\n${table([{ title: 'ROLE' }, { title: 'PEER' }, { title: 'NODE' }, { title: 'LINK' }], rows)}`
}
