import type { CandidateType } from '../../web/peer/ice-diagnosis.js'
import { MemoryLink } from '../../web/peer/memory-link.js'
import type { LinkFactory, LinkOptions } from '../../web/peer/peer-link.js'

/**
 * A link factory whose links go through offer/answer and signal ICE candidates of the given types, but
 * never open: ICE finds no path between the two sides (symmetric NATs, strict firewalls). Candidates are
 * trickled, or with `inSdp` written into the offer or answer. Host candidates get private addresses.
 */
export function unopenableLinks(
  types: CandidateType[],
  { inSdp = false } = {},
): LinkFactory & { built: MemoryLink[] } {
  const built: MemoryLink[] = []
  const lines = types.map((type, i) => {
    const address = type === 'host' ? `10.0.0.${i + 1}` : `203.0.113.${i + 1}`
    return `candidate:${i} 1 udp ${2_000_000 - i} ${address} ${50_000 + i} typ ${type}`
  })
  const factory = (options: LinkOptions) => {
    const describe = (type: 'offer' | 'answer') => {
      const sdp = ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel']
      if (inSdp) sdp.push(...lines.map((line) => `a=${line}`))
      options.sendSignal({ type, sdp: `${sdp.join('\r\n')}\r\n` })
      if (inSdp) return
      for (const candidate of lines) {
        options.sendSignal({ type: 'candidate', candidate: { candidate, sdpMLineIndex: 0, sdpMid: '0' } })
      }
    }
    const link = new MemoryLink(options.remotePeerId, {}, (data) => {
      if (data.type === 'offer') describe('answer')
    })
    if (options.initiator) setImmediate(() => link.destroyed || describe('offer'))
    built.push(link)
    return link
  }
  return Object.assign(factory, { built })
}
