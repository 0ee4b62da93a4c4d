/**
 * Counts the frames one bench peer sends and receives on its engine's links, by what they are: each control
 * message by its type, chunk and manifest frames by kind, other protocols by kind byte. bench/cli prints
 * them per chunk (issue 11: which messages a chunk costs beside its data, on both sides).
 */
import { FRAME_KIND, parseFrame } from '../../shared/wire-protocol.js'
import type { PeerSession } from '../../web/peer/peer-session.js'
import type { FrameCounts } from './ipc.js'

export class FrameCounter {
  #counts: FrameCounts = { sent: {}, received: {} }

  /** Counts every frame of this session's link from now on, both ways. */
  watch(session: PeerSession): void {
    const link = session.link
    const send = link.send.bind(link)
    link.send = (frame) => {
      this.#count('sent', frame)
      return send(frame)
    }
    link.on('frame', (frame) => this.#count('received', frame))
  }

  /** The counts since the last take, and a fresh start. */
  take(): FrameCounts {
    const counts = this.#counts
    this.#counts = { sent: {}, received: {} }
    return counts
  }

  #count(way: keyof FrameCounts, frame: Uint8Array): void {
    const what = describe(frame)
    this.#counts[way][what] = (this.#counts[way][what] ?? 0) + 1
  }
}

function describe(frame: Uint8Array): string {
  switch (frame[0]) {
    case FRAME_KIND.chunk:
      return 'chunk frame'
    case FRAME_KIND.manifest:
      return 'manifest frame'
    case FRAME_KIND.control: {
      const parsed = parseFrame(frame)
      return parsed.ok && parsed.frame.kind === 'control' ? parsed.frame.message.type : 'bad control'
    }
    default:
      return `kind 0x${(frame[0] ?? 0).toString(16)}`
  }
}
