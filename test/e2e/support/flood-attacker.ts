/**
 * The junk flooder of the hostile-peer suite, as a process of its own (`node --import tsx`): it links to
 * the seeder under fresh tracker connections, one after another, and sends well-formed junk as fast as its
 * channel takes it — requests and `interested` for random digests, chunk data nobody asked for — until
 * its share of frames is out, also while the seeder is closing the link. @roamhq/wrtc crashes its process
 * when a send races the channel's close on its own threads (node-webrtc issues #435, #576): in a process
 * of its own, that ends one attacker, which the suite starts again, not the test run.
 *
 * argv: tracker URL, seeder peer id, frames to send. Prints a JSON line `{sent, links}` after each link.
 */
import { randomBytes } from 'node:crypto'
import { encodeChunkFrames, encodeControl } from '../../../shared/wire-protocol.js'
import { HostileNode } from './hostile-peer.js'

/** Bytes kept queued on the channel at most, and frames sent between turns of the event loop. */
const QUEUE_BYTES = 1024 * 1024
const BURST = 64

const [trackerUrl, seederPeerId, framesArg] = process.argv.slice(2)
const frames = Number(framesArg)
if (!trackerUrl || !seederPeerId || !Number.isInteger(frames)) {
  console.error('usage: flood-attacker.ts TRACKER_URL SEEDER_PEER_ID FRAMES')
  process.exit(2)
}

function junk(i: number): Uint8Array {
  const digest = randomBytes(32).toString('hex')
  if (i % 3 === 0) return encodeControl({ type: 'request', id: i, digest, index: 0 })
  if (i % 3 === 1) return encodeControl({ type: 'interested', digest })
  return encodeChunkFrames(i, new Uint8Array(512), 1024)[0]!
}

let sent = 0
let links = 0
while (sent < frames) {
  // A fresh tracker connection each time: the seeder bans the one before.
  const node = await HostileNode.start(trackerUrl)
  try {
    const link = await node.dial(seederPeerId)
    links++
    link.hello()
    while (!link.closed && sent < frames) {
      await new Promise((resolve) => setImmediate(resolve))
      if (link.bufferedAmount > QUEUE_BYTES) continue
      for (let i = 0; i < BURST && !link.closed; i++) if (link.push(junk(sent))) sent++
    }
  } catch {
    // refused or not open in time: come back under a new id
  } finally {
    node.close()
  }
  console.log(JSON.stringify({ sent, links }))
}
process.exit(0)
