/**
 * The junk flooder of the hostile-peer suite, as a process of its own (`node --import tsx`): it links to
 * the seeder under fresh tracker connections, one after another, and sends well-formed junk as fast as its
 * channel takes it — requests and `interested` for random digests, chunk data nobody asked for — until
 * its share of frames is out, also while the seeder is closing the link. @roamhq/wrtc crashes its process
 * when a send races the channel's close on its own threads (node-webrtc issues #435, #576): in a process
 * of its own, that ends one attacker, which the suite starts again, not the test run.
 *
 * argv: tracker URL, seeder peer id, frames to send, `fresh` (a new tracker connection, so a new peer
 * id, for each link: what one machine can do to escape bans by id) or `same` (one peer id throughout,
 * dialling again whenever its link is closed, half a second after a refusal), and where it connects from:
 * a loopback address (one machine other than the honest browsers' 127.0.0.1) or `rotate` (a new address
 * for every tracker connection: many machines, or one with many addresses). Prints a JSON line
 * `{sent, links, declined}` after each attempt.
 */
import { randomBytes } from 'node:crypto'
import { encodeChunkFrames, encodeControl } from '../../../shared/wire-protocol.js'
import { HostileNode } from './hostile-peer.js'

/** Bytes kept queued on the channel at most, and frames sent between turns of the event loop. */
const QUEUE_BYTES = 1024 * 1024
const BURST = 64

/** How long a `same` flooder waits after the seeder refused it before it dials again. */
const REFUSED_WAIT_MS = 500

const [trackerUrl, seederPeerId, framesArg, mode, from] = process.argv.slice(2)
const frames = Number(framesArg)
if (
  !trackerUrl ||
  !seederPeerId ||
  !Number.isInteger(frames) ||
  (mode !== 'fresh' && mode !== 'same') ||
  !from
) {
  console.error('usage: flood-attacker.ts TRACKER_URL SEEDER_PEER_ID FRAMES fresh|same ADDRESS|rotate')
  process.exit(2)
}

/** The address of the next tracker connection: `from`, or a random one of 127/8 other than 127.0.0.x. */
function address(): string {
  if (from !== 'rotate') return from!
  const byte = () => Math.floor(Math.random() * 254) + 1
  return `127.${byte()}.${byte()}.${byte()}`
}

function junk(i: number): Uint8Array {
  const digest = randomBytes(32).toString('hex')
  if (i % 3 === 0) return encodeControl({ type: 'request', id: i, digest, index: 0 })
  if (i % 3 === 1) return encodeControl({ type: 'interested', digest })
  return encodeChunkFrames(i, new Uint8Array(512), 1024)[0]!
}

let sent = 0
let links = 0
let declined = 0
let node = await HostileNode.start(trackerUrl, [], address())
while (sent < frames) {
  try {
    const link = await node.dial(seederPeerId)
    links++
    link.hello()
    while (!link.closed && sent < frames) {
      await new Promise((resolve) => setImmediate(resolve))
      if (link.bufferedAmount > QUEUE_BYTES) continue
      for (let i = 0; i < BURST && !link.closed; i++) if (link.push(junk(sent))) sent++
    }
    link.close()
  } catch {
    // refused or not open in time
    declined++
    if (mode === 'same') await new Promise((resolve) => setTimeout(resolve, REFUSED_WAIT_MS))
  }
  if (mode === 'fresh') {
    // A fresh tracker connection each time: the seeder bans the one before by its id.
    node.close()
    node = await HostileNode.start(trackerUrl, [], address())
  }
  console.log(JSON.stringify({ sent, links, declined }))
}
node.close()
process.exit(0)
