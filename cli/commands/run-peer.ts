/**
 * What `share` and `get` have in common: the headless peer opened over the folder, with WebRTC links,
 * its events reported on an Output, and one way to stop — quit, Ctrl-C or SIGTERM — that says goodbye
 * to the tracker, closes every link and releases the folder before the process exits.
 */
import type { Folder } from '../folder/folder.js'
import { HeadlessPeer } from '../headless-peer.js'
import { webrtcLinkFactory } from '../node-links.js'
import type { Output } from '../output/output.js'
import { reportEngine, reportFolder } from '../output/reporter.js'
import { SocketPool } from '../sockets.js'
import { onSupervisorStop } from '../supervisor.js'
import { GOODBYE_MS } from './tracker-session.js'

export interface RunningPeer {
  peer: HeadlessPeer
  /** Resolves on quit, Ctrl-C or SIGTERM. */
  readonly stopped: Promise<void>
  /** Asks to stop (as quit does). */
  stop(): void
  /** Says goodbye, closes everything; resolves once the goodbye has left (or GOODBYE_MS passed). */
  shutdown(): Promise<void>
}

export async function openPeer(options: {
  dir: string
  trackerUrl: string
  only?: readonly string[]
  output: Output
  /** More listeners on the folder before its start-up scan. */
  listen?(folder: Folder): void
  /** `share --listen PORT` and `--entry URL` (issue 13). */
  listenPort?: number
  entryUrls?: readonly string[]
}): Promise<RunningPeer> {
  const sockets = new SocketPool()
  let peer: HeadlessPeer | undefined
  const nameOf = (digest: string) => peer?.nameOf(digest) ?? digest
  peer = await HeadlessPeer.open({
    dir: options.dir,
    trackerUrl: options.trackerUrl,
    createSocket: sockets.create,
    createLink: await webrtcLinkFactory(),
    ...(options.only ? { only: options.only } : {}),
    ...(options.listenPort !== undefined ? { listenPort: options.listenPort } : {}),
    ...(options.entryUrls ? { entryUrls: options.entryUrls } : {}),
    listen: (folder) => {
      reportFolder(folder, options.output, nameOf)
      options.listen?.(folder)
    },
  })
  reportEngine(peer, options.output, () => sockets.lastError)
  let stop!: () => void
  const stopped = new Promise<void>((resolve) => {
    stop = resolve
  })
  // A second Ctrl-C while the goodbye is on its way exits at once.
  let signals = 0
  const onSignal = () => (++signals > 1 ? process.exit(130) : stop())
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // The watching process's stop (cli/supervisor.ts) is the first signal, never a second one: it passes on a
  // signal that this process may have had as well.
  const detach = onSupervisorStop(() => stop())
  const opened = peer
  return {
    peer: opened,
    stopped,
    stop,
    shutdown: async () => {
      await opened.close()
      await sockets.closed(GOODBYE_MS)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      detach()
    },
  }
}
