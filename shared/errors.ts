/**
 * Stable error codes. The transport carries codes, never user-facing text; the UI maps each to words.
 * Adding a code is a protocol change: document it in docs/PROTOCOL.md.
 */
export const ERROR_CODES = [
  /** The message is not JSON, or does not match its schema. */
  'BAD_MESSAGE',
  /**
   * The message is a JSON object whose `type` this server does not know; or a peer sent a frame of a kind
   * no protocol is registered for on this link.
   */
  'UNKNOWN_TYPE',
  /**
   * The connection sent more messages than its rate allows: the tracker dropped the message; a peer over its
   * frame budget has its link closed.
   */
  'RATE_LIMITED',
  /** An announce listed more files than allowed, or the peer would hold more than allowed. */
  'TOO_MANY_FILES',
  /** A signal payload was larger than allowed. */
  'SIGNAL_TOO_LARGE',
  /**
   * Nobody has the file where it was asked for: the tracker's catalog has no holder of the digest (or no
   * manifest cached for it), or a peer answered that it does not hold it.
   */
  'FILE_NOT_FOUND',
  /** The announced size or chunk count disagrees with what the catalog holds for that digest. */
  'FILE_CONFLICT',
  /** A chunk report names a file this peer has not announced. */
  'NOT_ANNOUNCED',
  /** A chunk index or bitfield does not fit the file's chunk count. */
  'CHUNK_OUT_OF_RANGE',
  /** The manifest does not hash to the digest it was sent for, or is not a valid manifest. */
  'MANIFEST_MISMATCH',
  /** The target of a signal is not connected to the tracker (it left, or never was). */
  'PEER_NOT_FOUND',
  /** The target of a signal is not reading its messages fast enough; try again later. */
  'PEER_BUSY',
  /** Signalling to oneself. */
  'SELF_SIGNAL',
  /**
   * A `catalog` request was refused undone: this connection's or its address's catalog requests touched
   * more records lately than their budget allows (searches cost in proportion to what they look at).
   */
  'CATALOG_LIMITED',
  /** The server failed while handling a valid message. */
  'INTERNAL',
  /**
   * The request needs the swarm's shared state, which this server instance cannot reach right now (its
   * Redis is down): catalog, peers and manifests, and signals to peers of other instances. Announces are
   * kept and published when it returns; signals between peers of one instance go on.
   */
  'CLUSTER_UNAVAILABLE',
  // ---- the ring (DHT), between peers
  /** A routed ring message went further than its hop limit. */
  'HOP_LIMIT',
  /** No linked ring member can take a routed message further (this node is cut off or not joined). */
  'NO_ROUTE',
  /** The request needs a ring member and the receiver is not one (yet). */
  'NOT_MEMBER',
  /** A signature does not verify with the key it names. */
  'BAD_SIGNATURE',
  /** A record was sent to be stored under a key it does not derive to. */
  'KEY_MISMATCH',
  /** A record is expired, issued in the future, or lives longer than its kind may. */
  'RECORD_EXPIRED',
  /** A publisher already keeps as many records at this node, or under this key, as it may. */
  'PUBLISHER_QUOTA',
  /** The receiver has no room for another ring link. */
  'RING_FULL',
  // ---- local to a peer: never sent by the server; the UI maps them to words
  /** The tracker is not connected (offline, or reconnecting with backoff). */
  'TRACKER_OFFLINE',
  /** A request got no answer in time (the tracker, a peer's manifest, a peer's hello). */
  'TIMEOUT',
  /** The link to a peer closed before the answer came (the peer left, or the link failed). */
  'SESSION_CLOSED',
  /**
   * A peer is refused for abuse it committed (bad frames, floods, corrupt chunks: docs/PROTOCOL.md, "Bans");
   * or the other side refuses this one.
   */
  'PEER_BANNED',
  /**
   * A peer sent a frame other than `hello` before the handshake completed; or a client sent the tracker a
   * message other than `hello` before its welcome (docs/PROTOCOL.md).
   */
  'HELLO_REQUIRED',
  /**
   * An offer or answer from a peer is not signed by the key of the peer id it came from, or not for this
   * peer: the tracker or a relay forged or altered it. Nothing is built for it.
   */
  'SIGNAL_FORGED',
  /**
   * Another tab of this browser profile (or another process on this folder), which has the same identity,
   * connected to the tracker: the tracker keeps one connection per peer id, so this one stopped.
   */
  'IDENTITY_IN_USE',
  /**
   * This tab has built most of the RTCPeerConnections a browser allows in a tab's life (Chromium: ~500,
   * closed ones included): it now opens links only for the downloads the user asks for.
   */
  'LINK_BUDGET_LOW',
  /** This tab cannot build any more RTCPeerConnections; the links it has keep working. */
  'LINK_BUDGET_SPENT',
  /**
   * No connection to a peer could be made, and no more precise reason is known (the peer sent no ICE
   * candidates, or even the TURN relay found no path).
   */
  'PEER_UNREACHABLE',
  /**
   * No connection to a peer could be made: both sides gathered candidates, hole punching failed, and there
   * is no TURN relay to go around it (typical of symmetric NATs or strict firewalls on both sides).
   */
  'NAT_BLOCKED',
  /**
   * No connection to a peer could be made: this side got no server-reflexive or relay candidate although
   * STUN/TURN servers were given, so its network blocks the UDP that WebRTC needs to reach them.
   */
  'UDP_BLOCKED',
  /**
   * The page is not a secure context (plain HTTP from a name other than localhost), so the browser withholds
   * WebCrypto (`crypto.subtle`), which hashes every chunk and manifest: nothing can be shared or downloaded.
   */
  'INSECURE_CONTEXT',
  /**
   * A private share does not open with the key this browser has (a wrong password, or a link whose key
   * was mistyped): its chunks fail AES-GCM's check. Nothing is saved; the chunks stay shareable.
   */
  'WRONG_KEY',
  /**
   * An offer or answer from a peer carries its true signature, but this peer took that signature already, or
   * it was made too long ago (docs/PROTOCOL.md, "Signed offers and answers"): a relay replayed it. Nothing is
   * built for it.
   */
  'SIGNAL_REPLAYED',
  // ---- local storage (browser)
  /** Storage has no room for the file (checked before work starts, or hit mid-way). */
  'QUOTA_EXCEEDED',
  /** The file is larger than a manifest can describe (MAX_FILE_BYTES). */
  'FILE_TOO_LARGE',
  /** The user cancelled the work. */
  'CANCELLED',
  /** This browser does not hold the file (or not in full) that an action needs. */
  'NOT_HELD',
  /** Text given as a digest (typed, pasted, or in a link) is not 64 hex characters. */
  'INVALID_DIGEST',
  /** The file changed on disk while it was being shared: its bytes no longer match its manifest. */
  'SOURCE_CHANGED',
  /** A chunk does not match its hash in the manifest. */
  'CHUNK_CORRUPT',
  /** IndexedDB or the file failed in a way that is not one of the above. */
  'STORAGE_FAILED',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** The one error class of Swarmdrop: a stable code, a developer-facing message, optional cause. */
export class SwarmError extends Error {
  override readonly name = 'SwarmError'
  constructor(
    readonly code: ErrorCode,
    message: string = code,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** WebSocket close codes the server uses (4000–4999 is the application range of RFC 6455). */
export const CLOSE_CODES = {
  /** Normal closure after a `bye`. */
  NORMAL: 1000,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** Policy violation: kept flooding after rate-limit errors. */
  POLICY: 1008,
  /** Message too big (ws closes with this on its own when `maxPayload` is exceeded). */
  TOO_BIG: 1009,
  /** Missed a heartbeat. */
  HEARTBEAT_TIMEOUT: 4000,
  /** Did not read its own messages; the server stops buffering for it. */
  SLOW_CONSUMER: 4001,
  /** A newer connection with the same peer id (on any server instance) took this one's place. */
  REPLACED: 4002,
  /** No valid hello: none within HELLO_TIMEOUT_MS, another message first, or a proof that does not verify. */
  HELLO_FAILED: 4003,
} as const
