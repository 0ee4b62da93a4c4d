/** `swarmdrop peers DIGEST`: who holds a file and how many of its chunks each has, as a table (or JSON). */
import { Bitfield } from '../../shared/bitfield.js'
import type { Command } from '../args.js'
import { EXIT_OK, type ExitCode } from '../errors.js'
import { table } from '../output/text.js'
import type { Terminal } from './list.js'
import { completeDigest, withTracker } from './tracker-session.js'

export async function runPeers(
  command: Extract<Command, { kind: 'peers' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  const reply = await withTracker(command.trackerUrl, async (tracker) =>
    tracker.peers(await completeDigest(tracker, command.target.digest)),
  )
  const peers = reply.peers.map(({ peerId, have }) => ({
    peerId,
    chunks: have === 'all' ? reply.chunkCount : Bitfield.fromBase64(reply.chunkCount, have).count,
    chunkCount: reply.chunkCount,
  }))
  if (command.output.json) {
    terminal.stdout.write(`${JSON.stringify({ digest: reply.digest, peers })}\n`)
    return EXIT_OK
  }
  terminal.stdout.write(
    `${table(
      [{ title: 'PEER' }, { title: 'CHUNKS', align: 'right' }, { title: 'HAS', align: 'right' }],
      peers.map((p) => [
        p.peerId,
        `${p.chunks}/${p.chunkCount}`,
        `${Math.floor((p.chunks / Math.max(1, p.chunkCount)) * 100)}%`,
      ]),
    )}\n`,
  )
  return EXIT_OK
}
