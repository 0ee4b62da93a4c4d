/**
 * Limits of the tracker protocol, each with its unit and the reason for its default.
 * The server announces the ones a client must respect in its `welcome` message.
 */

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Protocol version carried in `challenge` and `welcome`; a client that speaks another refuses to go on.
 * 2: signed hellos (a challenge first, peer ids derived from the client's key).
 */
export const TRACKER_PROTOCOL_VERSION = 2
/** How long a new connection has to answer the challenge with its hello before it is closed. */
export const HELLO_TIMEOUT_MS = 10_000

/** Default chunk size (SPEC §3): IndexedDB costs 1–2 ms per value, so values below 1 MiB waste throughput. */
export const DEFAULT_CHUNK_BYTES = 1 * MiB
/** Smallest chunk size a manifest may carry; smaller chunks only make manifests and bookkeeping grow. */
export const MIN_CHUNK_BYTES = 16 * KiB
/** Largest chunk size: one chunk is one IndexedDB value and is verified whole before it is stored. */
export const MAX_CHUNK_BYTES = 64 * MiB
/**
 * Most chunks a file may have. Keeps a manifest (32 bytes a chunk) under 128 KiB raw and well under
 * `MAX_MESSAGE_BYTES` in JSON, and a bitfield under 512 bytes. Large files get larger chunks instead.
 */
export const MAX_CHUNK_COUNT = 4096
/** Largest file a manifest can describe: 4096 chunks of 64 MiB, 256 GiB. */
export const MAX_FILE_BYTES = MAX_CHUNK_COUNT * MAX_CHUNK_BYTES

/** Most files one collection lists (shared/collection.ts): a 10,000-file folder is ~1.5 MB of JSON. */
export const MAX_COLLECTION_FILES = 10_000

/** Longest file name kept, in UTF-16 code units; longer names are refused, not cut, so none is silently changed. */
export const MAX_NAME_LENGTH = 255
/** Longest MIME type kept. */
export const MAX_MIME_LENGTH = 127
/** Distinct names remembered per file: the same bytes may be shared under several names. */
export const MAX_NAMES_PER_FILE = 8
/** Longest search query, in UTF-16 code units. */
export const MAX_QUERY_LENGTH = 200

export interface TrackerLimits {
  /** Largest WebSocket message accepted, in bytes; a larger one closes the connection with 1009. */
  maxMessageBytes: number
  /** Sustained messages per second per connection (token bucket refill rate). */
  messagesPerSecond: number
  /** Burst of messages a connection may send before the rate applies. */
  messageBurst: number
  /** Files in one `announce` message. */
  filesPerAnnounce: number
  /** Files one peer may hold in the catalog at once. */
  filesPerPeer: number
  /** Largest catalog page. */
  catalogPageSize: number
  /** Peers returned for one digest. */
  peersPerReply: number
  /** Largest `signal` message, in bytes of its UTF-8 text, envelope included. */
  maxSignalBytes: number
  /** WebSocket connections from one address at once. */
  connectionsPerAddress: number
}

export const DEFAULT_TRACKER_LIMITS: Readonly<TrackerLimits> = Object.freeze({
  // A manifest of MAX_CHUNK_COUNT chunks is ~270 KiB of JSON; ws's default of 100 MiB is an attack surface.
  maxMessageBytes: 512 * KiB,
  // A browser sends a few messages a second (chunk reports are batched to one a second, ICE trickles a
  // dozen candidates per connection attempt); 50/s leaves room for connecting to many peers at once.
  messagesPerSecond: 50,
  // Connecting to a swarm sends a burst (announce, catalog, peers, then an offer and a dozen candidates
  // for each of up to ~10 peers); 200 covers it without letting a client queue seconds of work at once.
  messageBurst: 200,
  // A browser re-announces everything it holds after each reconnect; 1,000 files is one message of at most
  // ~200 KiB, within maxMessageBytes.
  filesPerAnnounce: 1000,
  // What one peer can make the server remember: 10,000 holdings cost ~1.5 MiB of server memory.
  filesPerPeer: 10_000,
  // A page of 200 entries is ~80 KiB of JSON: a screenful many times over, small enough to send at once.
  catalogPageSize: 200,
  // A download keeps a few dozen sources at most (SPEC §5 caps sources per file); 50 leaves room to choose.
  peersPerReply: 50,
  // An SDP offer with many candidates is a few KiB; 64 KiB is generous and still bounded.
  maxSignalBytes: 64 * KiB,
  // Households and offices share one address; 64 tabs is many people, and few enough to slow an attacker.
  connectionsPerAddress: 64,
})

/** Default catalog page when the client does not ask for a size. */
export const DEFAULT_CATALOG_PAGE_SIZE = 50
/** Default heartbeat interval; a connection that misses one ping is dropped at the next. */
export const DEFAULT_HEARTBEAT_MS = 30_000
