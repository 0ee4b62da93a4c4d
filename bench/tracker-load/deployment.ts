/**
 * The Swarmdrop server under test as the benchmark runs it: one process with its registry in memory (the
 * default), or N instances sharing one swarm through a redis-server the benchmark starts for the run
 * (issue 15). Figures are taken across all of them: memory and CPU summed (Redis's included), stalls the
 * longest of any instance.
 */
import { Redis } from 'ioredis'
import { startRedis, type TestRedis } from '../../test/support/redis-server.js'
import type { ChildStats } from './server-ipc.js'
import { cpuMsOf, type Memory, memoryOf, TrackerProcess } from './tracker-process.js'

export interface DeploymentPlan {
  /** How the report names it, e.g. "2 instances + Redis". */
  label: string
  /** The bundled server child (swarmdrop-server.ts or bittorrent-server.ts). */
  script: string
  /** The child's arguments before the Redis URL. */
  args: string[]
  instances: number
  redis: boolean
  cpuProfileDir?: string | undefined
  nodeFlags?: readonly string[]
}

export interface RedisMemory {
  /** INFO memory's used_memory: what Redis's allocator holds for data. */
  usedBytes: number
  /** The redis-server process's resident set. */
  rssBytes: number
}

export class Deployment {
  private constructor(
    readonly plan: DeploymentPlan,
    readonly trackers: readonly TrackerProcess[],
    readonly redis: TestRedis | undefined,
  ) {}

  static async start(plan: DeploymentPlan): Promise<Deployment> {
    const redis = plan.redis ? await startRedis() : undefined
    const trackers: TrackerProcess[] = []
    try {
      for (let i = 0; i < plan.instances; i++) {
        const args = redis
          ? [...plan.args, ...Array(Math.max(0, 2 - plan.args.length)).fill(''), redis.url]
          : plan.args
        trackers.push(
          await TrackerProcess.start(plan.script, args, {
            cpuProfileDir: plan.cpuProfileDir && `${plan.cpuProfileDir}-${i}`,
            ...(plan.nodeFlags ? { nodeFlags: plan.nodeFlags } : {}),
          }),
        )
      }
    } catch (error) {
      await Promise.all(trackers.map((tracker) => tracker.stop()))
      await redis?.stop()
      throw error
    }
    return new Deployment(plan, trackers, redis)
  }

  get urls(): string[] {
    return this.trackers.map((tracker) => tracker.url)
  }

  /** The first instance's URL: where a single extra client (the search attack) connects. */
  get url(): string {
    return this.trackers[0]!.url
  }

  /** The instances' resident sets summed (and their peaks summed: an upper bound of the joint peak). */
  memory(): Memory {
    return sumMemory(this.trackers.map((tracker) => tracker.memory()))
  }

  /** Redis's own figures; undefined without Redis. */
  async redisMemory(): Promise<RedisMemory | undefined> {
    const pid = this.redis?.pid
    if (!this.redis || pid === undefined) return undefined
    const client = new Redis(this.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      await client.connect()
      const info = await client.info('memory')
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0)
      return { usedBytes: used, rssBytes: memoryOf(pid).rssBytes }
    } finally {
      client.disconnect()
    }
  }

  /** CPU time of every instance and of Redis, in ms. */
  cpuMs(): number {
    const redisPid = this.redis?.pid
    const redisMs = redisPid === undefined ? 0 : cpuMsOf(redisPid)
    return this.trackers.reduce((sum, tracker) => sum + tracker.cpuMs(), redisMs)
  }

  /** The instances' figures merged: counts summed, stalls the longest. */
  async stats(resetLoop = false): Promise<ChildStats> {
    return merge(await Promise.all(this.trackers.map((tracker) => tracker.stats(resetLoop))))
  }

  /** A full garbage collection in every instance, then their figures merged. */
  async collect(): Promise<ChildStats> {
    return merge(await Promise.all(this.trackers.map((tracker) => tracker.collect())))
  }

  async stop(): Promise<void> {
    await Promise.all(this.trackers.map((tracker) => tracker.stop()))
    await this.redis?.stop()
  }
}

function sumMemory(memories: readonly Memory[]): Memory {
  return {
    rssBytes: memories.reduce((sum, m) => sum + m.rssBytes, 0),
    peakRssBytes: memories.reduce((sum, m) => sum + m.peakRssBytes, 0),
  }
}

/**
 * Counts summed, except `files`: each instance counts the files its own peers hold, which overlap, so
 * the largest is shown (a lower bound of the swarm's).
 */
function merge(all: readonly ChildStats[]): ChildStats {
  const sum = (pick: (stats: ChildStats) => number) => all.reduce((total, stats) => total + pick(stats), 0)
  const max = (pick: (stats: ChildStats) => number) => Math.max(...all.map(pick))
  return {
    rssBytes: sum((s) => s.rssBytes),
    heapUsedBytes: sum((s) => s.heapUsedBytes),
    heapTotalBytes: sum((s) => s.heapTotalBytes ?? 0),
    externalBytes: sum((s) => s.externalBytes ?? 0),
    peers: sum((s) => s.peers),
    files: max((s) => s.files),
    warnings: sum((s) => s.warnings),
    recordsTouched: sum((s) => s.recordsTouched),
    loopMaxMs: max((s) => s.loopMaxMs),
    loopP99Ms: max((s) => s.loopP99Ms),
    ...gcOf(all),
    ...longestGapOf(all),
  }
}

/** The longest GC pause of any instance, and every instance's pauses summed; none from older builds. */
function gcOf(all: readonly ChildStats[]): Pick<ChildStats, 'gc'> {
  const reported = all.flatMap((stats) => (stats.gc ? [stats.gc] : []))
  if (reported.length === 0) return {}
  const longest = reported.reduce((a, b) => (b.maxMs > a.maxMs ? b : a))
  return { gc: { ...longest, totalMs: reported.reduce((sum, gc) => sum + gc.totalMs, 0) } }
}

/** The longest event-loop gap of any instance, with the CPU used in it; none from older builds. */
function longestGapOf(all: readonly ChildStats[]): Pick<ChildStats, 'longestGap'> {
  const reported = all.flatMap((stats) => (stats.longestGap ? [stats.longestGap] : []))
  if (reported.length === 0) return {}
  return { longestGap: reported.reduce((a, b) => (b.wallMs > a.wallMs ? b : a)) }
}
