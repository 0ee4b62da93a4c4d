/**
 * The ring's parameters, each with its default and the reason for it (docs/DHT.md has the design).
 */

export interface RingOptions {
  /** Successor list length r. Default 20: at 50% failure P(a node loses all r) ≈ N·2^-r, 1% at N = 10^4. */
  successors?: number
  /**
   * Successors held as live links (the rest are ids). Default 2: each one more costs every node two of its
   * 16 links, and ~3 new connections for every member that joins or leaves (docs/DHT.md, "Connections under
   * churn": 3 linked successors measured 62.7 new connections a node an hour under churn at N = 1,000, over
   * the ≤ 60 asked; 2 measured 49.8). After a 50% failure 1 node in 4 must dial a new successor (both linked
   * ones dead); the other 18 are known by id (the suite's 50% failure at N = 1,000 passes). With 10% hostile
   * nodes at N = 10,000 lookups measured 95.40% with 2 and 95.60% with 3 (target 99%: missed either way).
   */
  linkedSuccessors?: number
  /** Replicas k of each record, on the key's first k successors. Default 8 (DHT.md): 0.5^8 lost at 50% failure. */
  replicas?: number
  /** Ring links a node may hold, its own and those others opened to it. Default 16: half the tab's 32. */
  maxRingLinks?: number
  /**
   * Finger intervals a node tries to link, spread evenly from the ring's half to its successors' range.
   * Default 7: measured in a static model at N = 10^4 with 16 links (docs/DHT.md, "Fingers").
   */
  fingers?: number
  /** Stabilise period, jittered ±20%. Default 5 s (DHT.md); Chord's simulation used 30 s. */
  stabiliseMs?: number
  /** Wait for a direct answer (neighbours, ping). Default 1 s: 40 round trips of a 25 ms link. */
  requestTimeoutMs?: number
  /**
   * A ring link quiet this long is pinged. Default 15 s (DHT.md). Successor and predecessor hear from each
   * other every stabilise period anyway; a finger that died is found by its ping, by the lookups that
   * stop getting through it (they try other paths meanwhile), or by the link's own close.
   */
  pingIdleMs?: number
  /** One finger is checked every this long, and at most one finger link is opened. Default 15 s (DHT.md). */
  fingerFixMs?: number
  /** Hops a routed message may take. Default 32 (DHT.md); lookups at N = 10^4 take under 15. */
  hopLimit?: number
  /** A lookup tries again by another path after this long without an answer. Default 1 s. */
  lookupAttemptMs?: number
  /** A lookup gives up after this many attempts. Default 12. */
  lookupAttempts?: number
  /** Routed requests one origin may make through this node, per second and at once. Default 30 and 120. */
  routeRatePerSecond?: number
  routeBurst?: number
  /** Routed requests this node remembers the way back for. Default 4,096. */
  maxPendingRoutes?: number
  /** Provider records live 20 min and are republished every 10 (DHT.md). */
  providerTtlS?: number
  providerRepublishMs?: number
  /** Name records live 24 h and are republished every 12 h. */
  nameTtlS?: number
  nameRepublishMs?: number
  /** Records this node publishes are sent at most this many a second, so no hop rate-limits them. Default 10. */
  publishPerSecond?: number
  /**
   * A new node takes a position on the ring only after this long online, routing through a member until
   * then (DHT.md: sessions are minutes with a heavy tail; one that lasted will likely last). Default
   * 10 min: with Weibull sessions (shape 0.5, median 2 min) 21% of arrivals live that long, against 50% for
   * 2 min, and each member costs ~9 neighbour connections and ~7 fingers in its life (docs/DHT.md,
   * "Connections under churn": 140 → 67 new connections a node an hour in bench/dht's churn); 54% of the
   * nodes online are members at equilibrium, the long-lived ones.
   */
  memberAfterMs?: number
  /**
   * How long a node has been a member before it takes fingers from others (a find for room passes it by).
   * Default 10 min: a finger to a node that has lasted is re-dialled less often (decreasing hazard).
   */
  fingerMinAgeMs?: number
  /**
   * New RTCPeerConnections a node spends on finger duty — dialling a finger, or giving a slot to a node that
   * wants it as its finger — an hour, and at once. Default 8 an hour, burst 16 (a ring started whole dials its
   * ~7 fingers and takes about as many at once). Chromium allows ~500 PeerConnections in a tab's life, and
   * the acceptance list ≤ 60 new connections a node an hour: under churn (Weibull, median 2 min) fingers
   * died and were re-dialled beyond that (docs/DHT.md, "Connections under churn"). Beyond the budget a
   * missing interval is served by the successors and other fingers, and hops rise a little.
   */
  fingerConnectionsPerHour?: number
  fingerConnectionBurst?: number
  /**
   * An owner pushes the records of its range down its replica set again this often, whatever changed
   * (anti-entropy). Default 10 min, as often as providers republish.
   */
  syncMs?: number
  /** A record out of this node's replica range is dropped after this long (its range may come back). Default 60 s. */
  pruneGraceMs?: number
  /** A peer that refused a ring link is not asked again for this long. Default 5 min. */
  refusedBackoffMs?: number
  /** Longest wait before dialling again a node that could not be dialled (from 5 s, doubling). Default 60 s. */
  dialBackoffMs?: number
  /**
   * A client moves its gateway to the member that follows its own id, so that signals routed to it
   * through the ring (issue 13) reach it. Default false: the simulator routes no signals, and its hostile
   * case (N = 200, 10% hostile) measured 100% → 98.7% of lookups with it on (a hostile owner of the
   * client's id becomes the gateway of its lookups too). The product turns it on (ring-host.ts).
   */
  gatewayAtOwnId?: boolean
}

export type ResolvedRingOptions = Required<RingOptions>

export const RING_DEFAULTS: ResolvedRingOptions = Object.freeze({
  successors: 20,
  linkedSuccessors: 2,
  replicas: 8,
  maxRingLinks: 16,
  fingers: 7,
  stabiliseMs: 5_000,
  requestTimeoutMs: 1_000,
  pingIdleMs: 15_000,
  fingerFixMs: 15_000,
  hopLimit: 32,
  lookupAttemptMs: 1_000,
  lookupAttempts: 12,
  routeRatePerSecond: 30,
  routeBurst: 120,
  maxPendingRoutes: 4_096,
  providerTtlS: 20 * 60,
  providerRepublishMs: 10 * 60_000,
  nameTtlS: 24 * 60 * 60,
  nameRepublishMs: 12 * 60 * 60_000,
  publishPerSecond: 10,
  memberAfterMs: 10 * 60_000,
  fingerMinAgeMs: 10 * 60_000,
  fingerConnectionsPerHour: 8,
  fingerConnectionBurst: 16,
  syncMs: 10 * 60_000,
  pruneGraceMs: 60_000,
  refusedBackoffMs: 5 * 60_000,
  dialBackoffMs: 60_000,
  gatewayAtOwnId: false,
})

/**
 * The ring's budget on the frame router, per remote peer: its upkeep sends about one frame a second to a
 * neighbour; lookups forwarded for others and replica pushes come in bursts.
 */
export const RING_LINK_BUDGET = Object.freeze({ framesPerSecond: 50, burst: 200 })
