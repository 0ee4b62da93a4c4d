/**
 * The connection to Redis: a client for commands and scripts, one for this instance's pub/sub channel,
 * and whether Redis is reachable. Commands fail at once while it is not (no offline queue: a request the
 * tracker answers late is worse than one answered CLUSTER_UNAVAILABLE now), and the client reconnects by
 * itself, backing off to RECONNECT_MAX_MS.
 */
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { SwarmError } from '../shared/errors.js'
import type { ThrottledLogger } from './log-throttle.js'

/** Longest wait between reconnection attempts; the first come after 100 ms, 200 ms, ... */
const RECONNECT_MAX_MS = 2000
/**
 * The default for how long a command may go unanswered before it counts as Redis being unreachable for it
 * (the client is told CLUSTER_UNAVAILABLE; `REDIS_COMMAND_TIMEOUT_MS`). Scripts here run in well under a
 * millisecond and a whole-catalog search of 100,000 files in a few tens, so 2 s is ~100 times a slow
 * answer: it fires on a Redis that hangs (stopped, swapping, a network partition), not on a busy one, while
 * a browser waiting on the reply has not yet given up. A Redis far away, or on a host that is often
 * overloaded, is the reason to raise it.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000

export type ScriptArg = string | number

export class RedisLink {
  readonly commands: Redis
  readonly subscriber: Redis
  #up = false
  #everUp = false
  readonly #shas = new Map<string, string>()
  readonly #onReady: (() => void)[] = []
  readonly #onDown: (() => void)[] = []
  #closed = false

  constructor(
    url: string,
    private readonly log: ThrottledLogger,
    /** How long a command may go unanswered (DEFAULT_COMMAND_TIMEOUT_MS); also the connect timeout. */
    readonly commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
  ) {
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: commandTimeoutMs,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, RECONNECT_MAX_MS),
    }
    this.commands = new Redis(url, options)
    // The subscriber may queue its SUBSCRIBE until it is connected: it is sent again on every reconnect.
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined })
    this.commands.on('ready', () => this.#ready())
    this.commands.on('close', () => this.#down())
    // ioredis reports each failed attempt as 'error'; 'close' says it is down, and the logger is throttled.
    this.commands.on('error', (error: Error) => this.log.warn('Redis error', { error: error.message }))
    this.subscriber.on('error', (error: Error) =>
      this.log.debug('Redis subscriber error', { error: error.message }),
    )
  }

  get up(): boolean {
    return this.#up
  }

  /** Connects both clients; resolves when connected or when the first attempt failed (it keeps trying). */
  async connect(): Promise<void> {
    await Promise.all([
      this.commands.connect().catch(() => undefined),
      this.subscriber.connect().catch(() => undefined),
    ])
  }

  /** Called whenever Redis becomes reachable: at start, and after every outage. */
  onReady(callback: () => void): void {
    this.#onReady.push(callback)
  }

  onDown(callback: () => void): void {
    this.#onDown.push(callback)
  }

  /** Runs a script (by its SHA-1, loading it after a Redis restart). Redis failures become CLUSTER_UNAVAILABLE. */
  async run(script: string, args: readonly ScriptArg[]): Promise<unknown> {
    if (!this.#up) throw unavailable()
    const sha = this.#sha(script)
    try {
      try {
        return await this.commands.evalsha(sha, 0, ...args)
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return await this.commands.eval(script, 0, ...args)
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('ERR')) throw error // a bug of ours: INTERNAL
      throw unavailable(error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([quit(this.commands), quit(this.subscriber)])
  }

  #sha(script: string): string {
    let sha = this.#shas.get(script)
    if (!sha) {
      sha = createHash('sha1').update(script).digest('hex')
      this.#shas.set(script, sha)
    }
    return sha
  }

  #ready(): void {
    this.#up = true
    this.log.info(this.#everUp ? 'Redis reachable again' : 'Redis connected')
    this.#everUp = true
    for (const callback of this.#onReady) callback()
  }

  #down(): void {
    if (!this.#up || this.#closed) return
    this.#up = false
    this.log.error(
      'Redis unreachable: cross-instance requests fail with CLUSTER_UNAVAILABLE, local relays go on; reconnecting',
    )
    for (const callback of this.#onDown) callback()
  }
}

function unavailable(cause?: unknown): SwarmError {
  return new SwarmError('CLUSTER_UNAVAILABLE', 'the server cannot reach its cluster (Redis) right now', {
    cause,
  })
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
