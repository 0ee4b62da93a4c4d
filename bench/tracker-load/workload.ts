/**
 * The simulated swarm, the same for both trackers: which files each peer holds and what a signal looks
 * like. Deterministic, so two runs (and the two servers in one run) see the same catalog.
 */
import { createHash } from 'node:crypto'
import { Bitfield } from '../../shared/bitfield.js'

/** SPEC §7: "10,000 connected peers with 100 files each". */
export const FILES_PER_PEER = 100
/**
 * Holders per file. Real catalogs are long-tailed; 10 holders each keeps swarms small enough that a
 * `peers` reply is realistic (about 9 peers) and makes the pool 10× the peer count, so the catalog is big.
 */
export const HOLDERS_PER_FILE = 10
/** Smallest file pool, so a small run still has a catalog worth paging. */
export const MIN_POOL_FILES = 1000
/** One holding in this many is partial (a leecher with a bitfield); the rest are seeders ('all'). */
const PARTIAL_EVERY = 10
/** The default chunk size (shared/limits.ts DEFAULT_CHUNK_BYTES). */
const CHUNK_BYTES = 1024 * 1024
/** File sizes cycle through 1..64 MiB, so chunk counts (and bitfields) differ between files. */
const SIZE_CYCLE_MIB = 64
/**
 * Bytes of the SDP carried by each relayed offer and answer. A Chromium data-channel offer with trickle
 * ICE (no candidates inline) is about 500–700 bytes; both trackers relay the same string.
 */
export const SDP_BYTES = 600

export function poolSizeFor(peers: number): number {
  return Math.max(MIN_POOL_FILES, Math.ceil((peers * FILES_PER_PEER) / HOLDERS_PER_FILE))
}

export interface PoolFile {
  index: number
  /** 64 lowercase hex characters, as Swarmdrop announces it. */
  digest: string
  name: string
  size: number
  chunkSize: number
}

export function poolFile(index: number): PoolFile {
  const digest = createHash('sha256').update(`swarmdrop-bench-file-${index}`).digest('hex')
  const size = (1 + (index % SIZE_CYCLE_MIB)) * CHUNK_BYTES - (index % 1000)
  return { index, digest, name: `bench-file-${index}.bin`, size, chunkSize: CHUNK_BYTES }
}

/** Pool files by index, each computed once (a SHA-256) though about ten peers of a worker hold it. */
export class PoolFiles {
  readonly #files = new Map<number, PoolFile>()

  get(index: number): PoolFile {
    let file = this.#files.get(index)
    if (!file) {
      file = poolFile(index)
      this.#files.set(index, file)
    }
    return file
  }

  clear(): void {
    this.#files.clear()
  }
}

/**
 * The pool indices of the files peer `peer` holds: a contiguous run, wrapping around the pool, so with a
 * pool of peers × 10 every file has exactly HOLDERS_PER_FILE holders.
 */
export function filesOfPeer(peer: number, poolSize: number): number[] {
  const files: number[] = []
  for (let k = 0; k < FILES_PER_PEER; k++) files.push((peer * FILES_PER_PEER + k) % poolSize)
  return files
}

/** Whether peer `peer` holds file `file` only partly. */
export function isPartial(peer: number, file: number): boolean {
  return (peer + file) % PARTIAL_EVERY === 0
}

/** The chunks a partial holder has: the first half, as Swarmdrop's canonical base64 bitfield. */
export function partialHave(file: PoolFile): string {
  const chunks = Math.ceil(file.size / file.chunkSize)
  const field = new Bitfield(chunks)
  for (let i = 0; i < Math.floor(chunks / 2); i++) field.set(i)
  return field.toBase64()
}

/** Bytes a partial holder still lacks, for bittorrent-tracker's `left`. */
export function partialLeft(file: PoolFile): number {
  return file.size - Math.floor(Math.ceil(file.size / file.chunkSize) / 2) * file.chunkSize
}

/** A plausible SDP body of SDP_BYTES bytes; its content is opaque to both trackers. */
export function fakeSdp(): string {
  const head =
    'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n' +
    'a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' +
    'c=IN IP4 0.0.0.0\r\na=ice-ufrag:bNch\r\na=ice-pwd:1u0n3yZ2bZQ0fL8fB7l2Q4Xz\r\n' +
    'a=ice-options:trickle\r\na=fingerprint:sha-256 '
  const fingerprint = Array.from({ length: 32 }, (_, i) => (i * 37).toString(16).padStart(2, '0').slice(-2))
  let sdp = `${head}${fingerprint.join(':').toUpperCase()}\r\na=setup:actpass\r\na=mid:0\r\n`
  sdp += 'a=sctp-port:5000\r\na=max-message-size:262144\r\n'
  while (sdp.length < SDP_BYTES) sdp += 'a=x-pad\r\n'
  return sdp.slice(0, SDP_BYTES)
}
