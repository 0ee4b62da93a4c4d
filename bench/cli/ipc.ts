/** What bench/cli/main.ts asks its headless peer processes (bench-peer.ts), and what they answer. */
import type { RawReceiveResult, RawSendOptions, RawSendResult } from '../transfer/page/api.js'

export type PeerRequest =
  | { type: 'open'; dir: string; trackerUrl: string }
  | { type: 'download'; digest: string }
  | { type: 'raw-arm'; bytes: number }
  | { type: 'raw-result' }
  | { type: 'raw-send'; options: RawSendOptions }
  | { type: 'raw-close' }
  /** Starts the V8 CPU profiler in this process (bench/cli's `--cpu-prof`). */
  | { type: 'profile-start' }
  /** Stops it and writes the profile, in Chrome DevTools' .cpuprofile format, to `path`. */
  | { type: 'profile-stop'; path: string }
  /** CPU time this process has used so far, every thread of it (process.cpuUsage, in µs). */
  | { type: 'cpu' }
  /** CPU time of this process so far by thread name, in ms (thread-cpu.ts). */
  | { type: 'threads' }
  /** The frames this process's links sent and received since the last such call (frame-counter.ts). */
  | { type: 'frames' }
  | { type: 'close' }

export interface CliDownload {
  bytes: number
  /**
   * From `get` to the download's `complete`: every chunk verified and in its .chunk file. It includes
   * finding the seeder through the tracker, linking to it (ICE, DTLS, SCTP) and fetching the manifest.
   */
  ms: number
  /**
   * From `get` to the first chunk frame arriving: what the transfer's time starts after, as the raw arm's
   * runs from its first message to its last (bench/transfer/page/raw-channel.ts).
   */
  firstFrameMs: number
  /** Then the chunk files combined into the file in the folder. */
  assembleMs: number
  /** Chunks in the file: what frame counts are divided by. */
  chunkCount: number
}

/** Frames by what they are (a control message's type, 'chunk frame', …), each way. */
export interface FrameCounts {
  sent: Record<string, number>
  received: Record<string, number>
}

export interface PeerAnswers {
  open: { peerId: string }
  download: CliDownload
  'raw-arm': null
  'raw-result': RawReceiveResult
  'raw-send': RawSendResult
  'raw-close': null
  'profile-start': null
  'profile-stop': null
  cpu: number
  frames: FrameCounts
  threads: Record<string, number>
  close: null
}

export type PeerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }
