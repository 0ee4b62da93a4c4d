/**
 * One headless peer of bench/cli, in a child process of its own driven over IPC: the real HeadlessPeer
 * (the folder's stores, @roamhq/wrtc links, the engine) as `swarmdrop` composes it, and, between the same
 * two processes, the raw @roamhq/wrtc channel it is measured against (bench/transfer's raw-channel.ts).
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import wrtc from '@roamhq/wrtc'
import { HeadlessPeer } from '../../cli/headless-peer.js'
import { webrtcLinkFactory } from '../../cli/node-links.js'
import { trackerUrlOf } from '../../cli/server-url.js'
import { SocketPool } from '../../cli/sockets.js'
import { FRAME_KIND } from '../../shared/wire-protocol.js'
import type { PeerSession } from '../../web/peer/peer-session.js'
import { type PeerConnectionClass, RawReceiver, RawSender } from '../transfer/page/raw-channel.js'
import { FrameCounter } from './frame-counter.js'
import type { CliDownload, PeerAnswers, PeerReply, PeerRequest } from './ipc.js'
import { threadCpuMs } from './thread-cpu.js'

const PeerConnection = (wrtc as unknown as { RTCPeerConnection: PeerConnectionClass }).RTCPeerConnection

let peer: HeadlessPeer | undefined
let receiver: RawReceiver | undefined
let sender: RawSender | undefined
const sockets = new SocketPool()
const frames = new FrameCounter()
/** The inspector session profiling this process, between `profile-start` and `profile-stop`. */
let profiler: Session | undefined

function needPeer(): HeadlessPeer {
  if (!peer) throw new Error('open first')
  return peer
}

function iceServers(): RTCIceServer[] {
  const status = needPeer().engine.tracker.status
  return status.state === 'online' ? (status.iceServers as RTCIceServer[]) : []
}

/** Opens the peer on `dir`, with the server's address as `--server` takes it. */
async function open(dir: string, server: string): Promise<{ peerId: string }> {
  peer = await HeadlessPeer.open({
    dir,
    trackerUrl: trackerUrlOf(server),
    createSocket: sockets.create,
    createLink: await webrtcLinkFactory(),
  })
  for (const session of peer.engine.swarm.sessions) frames.watch(session)
  peer.engine.swarm.on('session', (session) => frames.watch(session))
  while (peer.engine.tracker.status.state !== 'online') await peer.engine.once('status')
  return { peerId: peer.engine.tracker.peerId! }
}

/** Downloads a file into the folder, times it, then deletes it again so that the next run starts empty. */
async function download(digest: string): Promise<CliDownload> {
  const headless = needPeer()
  const combined = new Promise<number>((resolve) => {
    const off = headless.folder.on('combined', (event) => {
      if (event.digest !== digest) return
      off()
      resolve(performance.now())
    })
  })
  // The first chunk frame on any link, old or new, as bench/transfer's page watches for it.
  let firstFrameAt = Number.NaN
  const offs: (() => void)[] = []
  const watch = (session: PeerSession) =>
    offs.push(
      session.link.on('frame', (frame) => {
        if (frame[0] === FRAME_KIND.chunk && Number.isNaN(firstFrameAt)) firstFrameAt = performance.now()
      }),
    )
  for (const session of headless.engine.swarm.sessions) watch(session)
  offs.push(headless.engine.swarm.on('session', watch))
  const started = performance.now()
  try {
    const running = await headless.get(digest)
    if (running.state !== 'complete') await running.once('complete')
    const completed = performance.now()
    const assembled = await combined
    const { manifest } = running.file.record
    await headless.remove(digest)
    return {
      bytes: manifest.size,
      chunkCount: manifest.hashes.length,
      ms: completed - started,
      firstFrameMs: firstFrameAt - started,
      assembleMs: assembled - completed,
    }
  } finally {
    for (const off of offs) off()
  }
}

async function handle(request: PeerRequest): Promise<PeerAnswers[PeerRequest['type']]> {
  switch (request.type) {
    case 'open':
      return open(request.dir, request.trackerUrl)
    case 'download':
      return download(request.digest)
    case 'raw-arm':
      receiver?.close()
      receiver = new RawReceiver(needPeer().engine.tracker, iceServers(), request.bytes, PeerConnection)
      return null
    case 'raw-result':
      if (!receiver) throw new Error('raw-arm first')
      return receiver.result
    case 'raw-send':
      sender?.close()
      sender = new RawSender(needPeer().engine.tracker, iceServers(), request.options, PeerConnection)
      return sender.send()
    case 'raw-close':
      receiver?.close()
      sender?.close()
      receiver = sender = undefined
      return null
    case 'profile-start':
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
      return null
    case 'profile-stop': {
      if (!profiler) throw new Error('profile-start first')
      const { profile } = await profiler.post('Profiler.stop')
      profiler.disconnect()
      profiler = undefined
      await writeFile(request.path, JSON.stringify(profile))
      return null
    }
    case 'cpu': {
      const { user, system } = process.cpuUsage()
      return user + system
    }
    case 'frames':
      return frames.take()
    case 'threads':
      return threadCpuMs()
    case 'close':
      receiver?.close()
      sender?.close()
      await peer?.close()
      await sockets.closed(1_000)
      setTimeout(() => process.exit(0), 50)
      return null
  }
}

process.on('message', (message: { id: number; request: PeerRequest }) => {
  handle(message.request).then(
    (value) => process.send!({ id: message.id, ok: true, value } satisfies PeerReply),
    (error: unknown) =>
      process.send!({
        id: message.id,
        ok: false,
        error: String((error as Error)?.stack ?? error),
      } satisfies PeerReply),
  )
})
process.on('disconnect', () => process.exit(0))
