/** What the main thread asks a load worker to do, and what the worker answers. */

export type TrackerKind = 'swarmdrop' | 'bittorrent-tracker'

export type Command =
  | { op: 'connect'; firstPeer: number; count: number }
  /** Builds the announce messages ahead, so the timed phase measures the server, not JSON building. */
  | { op: 'prepare'; poolSize: number }
  | { op: 'announce' }
  | { op: 'catalog' }
  | { op: 'search'; count: number }
  | { op: 'peers' }
  | { op: 'relay-setup'; pairs: number }
  | {
      op: 'relay-step'
      /** This worker's share of offers per second; each offer is answered, so messages are twice this. */
      offersPerSecond: number
      durationMs: number
      drainMs: number
    }
  | { op: 'close' }

export interface WorkerInit {
  kind: TrackerKind
  /** The tracker's URL; several when instances share one swarm (Redis): peers are spread over them. */
  urls: string[]
  workerIndex: number
}

/** The outcome of one kind of request sent by every peer of a worker. */
export interface RequestsResult {
  ok: number
  failed: number
  /** Error replies by code (Swarmdrop) or failure reason (bittorrent-tracker). */
  errors: Record<string, number>
  /** Round-trip time of each successful request, in ms. */
  latenciesMs: Float64Array
  /** A figure of the replies, e.g. the mean number of peers in a `peers` reply. */
  meanItems?: number
}

export interface RelayStepResult {
  /** Offers the schedule called for. */
  scheduledOffers: number
  sentOffers: number
  /** Offers and answers delivered to their target during the step. */
  deliveredInWindow: number
  /** Offers and answers delivered at all, the drain included. */
  delivered: number
  /** Offers and answers sent but never delivered by the end of the drain. */
  missing: number
  /** Latency of each delivered offer and answer, in ms. */
  latenciesMs: Float64Array
  /** Other server messages received meanwhile (bittorrent-tracker answers each offer announce). */
  otherMessages: number
  /** Heartbeat pings received during the step and its drain: a tracker sweeping all its connections. */
  pings: number
  errors: Record<string, number>
  /** Longest event-loop delay of this worker during the step, in ms: a stalled generator delays replies. */
  loopMaxMs: number
}

export type CommandResult = RequestsResult | RelayStepResult | Record<string, never>

export type WorkerReply =
  | { id: number; ok: true; result: CommandResult }
  | { id: number; ok: false; error: string }
