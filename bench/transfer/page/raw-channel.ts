/**
 * The baseline: one plain RTCDataChannel between the two browsers, signalled through the real server's
 * /ws relay (the page's own TrackerClient, as a Signaller), with nothing of Swarmdrop on the data path.
 * The sender sends fixed-size messages while `bufferedAmount` is under a high-water mark and waits for
 * `bufferedamountlow` above it (SPEC §8); the receiver times first byte to last.
 *
 * bench/cli runs the same code in Node with @roamhq/wrtc's RTCPeerConnection (passed in): that one fires
 * no `bufferedamountlow`, so there the sender polls `bufferedAmount`, as SimplePeerLink does in Node.
 */
import type { Signaller } from '../../../web/peer/peer-link.js'
import type { RawReceiveResult, RawSendOptions, RawSendResult } from './api.js'
import { GapCounter } from './gaps.js'

/** `bufferedamountlow` fires at half the high-water mark, as in web/peer/simple-peer-link.ts. */
const LOW_WATER_FRACTION = 0.5
/** crypto.getRandomValues fills at most this many bytes per call. */
const RANDOM_FILL_BYTES = 65_536
/** Where there is no `bufferedamountlow` (@roamhq/wrtc), a waiting sender looks again this often: SimplePeerLink's. */
const POLL_MS = 2

/** The RTCPeerConnection to use: the page's own, or @roamhq/wrtc's in Node. */
export type PeerConnectionClass = new (configuration?: RTCConfiguration) => RTCPeerConnection

/** What the two ends say to each other through the relay. */
type RawSignal =
  | { raw: 'offer' | 'answer'; sdp: string }
  | { raw: 'candidate'; candidate: RTCIceCandidateInit }

function asRawSignal(data: Record<string, unknown>): RawSignal | undefined {
  if ((data.raw === 'offer' || data.raw === 'answer') && typeof data.sdp === 'string') {
    return { raw: data.raw, sdp: data.sdp }
  }
  if (data.raw === 'candidate' && typeof data.candidate === 'object' && data.candidate !== null) {
    return { raw: 'candidate', candidate: data.candidate as RTCIceCandidateInit }
  }
  return undefined
}

/** One RTCPeerConnection with trickle ICE over the relay; candidates that come early wait for the SDP. */
class RawPeer {
  readonly pc: RTCPeerConnection
  #remote: string | undefined
  readonly #early: RTCIceCandidateInit[] = []
  readonly #offSignal: () => void

  constructor(
    private readonly signaller: Signaller,
    iceServers: RTCIceServer[],
    remote: string | undefined,
    onOffer: (from: string, sdp: string) => void,
    PeerConnection: PeerConnectionClass,
  ) {
    this.#remote = remote
    this.pc = new PeerConnection({ iceServers })
    this.pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate && this.#remote) this.#send({ raw: 'candidate', candidate: candidate.toJSON() })
    })
    this.#offSignal = signaller.onSignal((from, data) => {
      const signal = asRawSignal(data)
      if (!signal) return
      if (this.#remote === undefined && signal.raw === 'offer') {
        this.#remote = from
        onOffer(from, signal.sdp)
        return
      }
      if (from !== this.#remote) return
      if (signal.raw === 'answer') void this.#setRemote({ type: 'answer', sdp: signal.sdp })
      else if (signal.raw === 'candidate') void this.#addCandidate(signal.candidate)
    })
  }

  async offer(): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer())
    this.#send({ raw: 'offer', sdp: this.pc.localDescription!.sdp })
  }

  async answer(sdp: string): Promise<void> {
    await this.#setRemote({ type: 'offer', sdp })
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    this.#send({ raw: 'answer', sdp: this.pc.localDescription!.sdp })
  }

  close(): void {
    this.#offSignal()
    this.pc.close()
  }

  #send(signal: RawSignal): void {
    this.signaller.send(this.#remote!, signal as unknown as Record<string, unknown>)
  }

  async #setRemote(description: RTCSessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(description)
    for (const candidate of this.#early.splice(0)) await this.pc.addIceCandidate(candidate)
  }

  async #addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.pc.remoteDescription) await this.pc.addIceCandidate(candidate)
    else this.#early.push(candidate)
  }
}

/** Answers the first raw offer and counts `bytes` arriving on its channel. */
export class RawReceiver {
  readonly result: Promise<RawReceiveResult>
  readonly #peer: RawPeer

  constructor(
    signaller: Signaller,
    iceServers: RTCIceServer[],
    bytes: number,
    PeerConnection: PeerConnectionClass = RTCPeerConnection,
  ) {
    const armedAt = performance.now()
    let resolveResult!: (result: RawReceiveResult) => void
    let rejectResult!: (error: Error) => void
    this.result = new Promise((resolve, reject) => {
      resolveResult = resolve
      rejectResult = reject
    })
    this.#peer = new RawPeer(
      signaller,
      iceServers,
      undefined,
      (_from, sdp) => {
        this.#peer.answer(sdp).catch(rejectResult)
      },
      PeerConnection,
    )
    this.#peer.pc.addEventListener('datachannel', ({ channel }) => {
      channel.binaryType = 'arraybuffer'
      let connectMs = Number.NaN
      let received = 0
      let messages = 0
      let firstAt = 0
      const gaps = new GapCounter()
      channel.addEventListener('open', () => {
        connectMs = performance.now() - armedAt
      })
      channel.addEventListener('message', ({ data }: MessageEvent<ArrayBuffer>) => {
        if (messages === 0) firstAt = performance.now()
        gaps.note()
        messages++
        received += data.byteLength
        if (received >= bytes) {
          resolveResult({
            bytes: received,
            messages,
            ms: performance.now() - firstAt,
            connectMs,
            gaps: gaps.figures,
          })
        }
      })
      channel.addEventListener('close', () =>
        rejectResult(new Error(`raw channel closed at ${received} bytes`)),
      )
    })
  }

  close(): void {
    this.#peer.close()
  }
}

/** Offers a channel to `options.to` and sends `options.bytes` through it; resolves once all are queued. */
export class RawSender {
  readonly #peer: RawPeer

  constructor(
    signaller: Signaller,
    iceServers: RTCIceServer[],
    private readonly options: RawSendOptions,
    PeerConnection: PeerConnectionClass = RTCPeerConnection,
  ) {
    this.#peer = new RawPeer(signaller, iceServers, options.to, () => {}, PeerConnection)
  }

  async send(): Promise<RawSendResult> {
    const { bytes, messageBytes, highWaterBytes } = this.options
    // Ordered and reliable, as simple-peer's channel (web/peer/simple-peer-link.ts) is.
    const channel = this.#peer.pc.createDataChannel('raw')
    channel.binaryType = 'arraybuffer'
    channel.bufferedAmountLowThreshold = Math.floor(highWaterBytes * LOW_WATER_FRACTION)
    const opened = new Promise<void>((resolve, reject) => {
      channel.addEventListener('open', () => resolve(), { once: true })
      channel.addEventListener('close', () => reject(new Error('raw channel closed before opening')))
    })
    await this.#peer.offer()
    await opened
    const maxMessageSize = this.#peer.pc.sctp?.maxMessageSize ?? Number.NaN
    if (messageBytes > maxMessageSize)
      throw new Error(`${messageBytes} B is over maxMessageSize ${maxMessageSize}`)

    const payload = new Uint8Array(messageBytes)
    for (let offset = 0; offset < payload.length; offset += RANDOM_FILL_BYTES) {
      crypto.getRandomValues(payload.subarray(offset, offset + RANDOM_FILL_BYTES))
    }
    // One listener each for the whole transfer; a wait sets `wake` and the next event calls it.
    let wake: (() => void) | undefined
    let closed = false
    channel.addEventListener('bufferedamountlow', () => wake?.())
    channel.addEventListener('close', () => {
      closed = true
      wake?.()
    })
    const hasLowEvent = 'onbufferedamountlow' in Object.getPrototypeOf(channel)
    let waits = 0
    for (let sent = 0; sent < bytes; ) {
      // `bufferedamountlow` fires only when the queue crosses down to the threshold: wait only while above.
      if (channel.bufferedAmount > highWaterBytes && hasLowEvent) {
        waits++
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
      while (channel.bufferedAmount > highWaterBytes && !hasLowEvent && !closed) {
        waits++
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
      if (closed) throw new Error('raw channel closed while sending')
      const length = Math.min(messageBytes, bytes - sent)
      channel.send(length === messageBytes ? payload : payload.subarray(0, length))
      sent += length
    }
    return { maxMessageSize, waits }
  }

  close(): void {
    this.#peer.close()
  }
}
