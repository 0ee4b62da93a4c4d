/**
 * Data-channel bytes of every RTCPeerConnection this page builds, from `getStats()` (`data-channel`
 * entries: the payload of every message either way, our frame headers and control messages included).
 * The page's RTCPeerConnection is wrapped before any engine starts, so each connection simple-peer builds
 * is seen; a connection's last figures are kept after it closes (a closed one answers no more stats).
 */
interface Bytes {
  sent: number
  received: number
}

const connections: RTCPeerConnection[] = []
const lastSeen = new Map<RTCPeerConnection, Bytes>()

export function watchPeerConnections(): void {
  const Native = window.RTCPeerConnection
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration)
      connections.push(this)
    }
  } as typeof RTCPeerConnection
}

async function bytesOf(pc: RTCPeerConnection): Promise<Bytes> {
  const known = lastSeen.get(pc) ?? { sent: 0, received: 0 }
  if (pc.connectionState === 'closed') return known
  try {
    const report = await pc.getStats()
    const bytes = { sent: 0, received: 0 }
    for (const entry of report.values()) {
      if (entry.type !== 'data-channel') continue
      bytes.sent += Number(entry.bytesSent ?? 0)
      bytes.received += Number(entry.bytesReceived ?? 0)
    }
    // A report taken as the connection closes can come back empty: never count backwards.
    const kept = {
      sent: Math.max(known.sent, bytes.sent),
      received: Math.max(known.received, bytes.received),
    }
    lastSeen.set(pc, kept)
    return kept
  } catch {
    return known
  }
}

/** Data-channel bytes sent and received over every connection this page has built, closed ones included. */
export async function dataChannelBytes(): Promise<Bytes> {
  const all = await Promise.all(connections.map(bytesOf))
  return all.reduce((sum, b) => ({ sent: sum.sent + b.sent, received: sum.received + b.received }), {
    sent: 0,
    received: 0,
  })
}
