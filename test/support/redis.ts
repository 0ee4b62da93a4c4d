/**
 * Redis for the server suites: the redis-server starter (redis-server.ts) and the choice of registry a
 * suite runs against (memory or Redis).
 */
import { afterAll, beforeAll } from 'vitest'
import { startRedis, type TestRedis } from './redis-server.js'

export { freePort, startRedis, type TestRedis } from './redis-server.js'

/** The registries a server suite runs against: memory (one process) and Redis (an instance of a cluster). */
export const REGISTRY_KINDS = ['memory', 'redis'] as const
export type RegistryKind = (typeof REGISTRY_KINDS)[number]

let prefixes = 0

/**
 * The Redis command timeout of the servers under test, longer than the product's 2 s
 * (redis-link.ts DEFAULT_COMMAND_TIMEOUT_MS) on purpose: the suites run two files at once on a shared
 * 2-core machine, where a live redis-server starved of CPU (load 20 and more) has taken over 2 s to answer,
 * and a request that timed out then failed its test as CLUSTER_UNAVAILABLE although nothing was wrong.
 * No test relies on a command timing out: Redis going away is seen when its connection closes (at once),
 * and the one test of a Redis that hangs sets its own short timeout.
 */
export const TEST_REDIS_COMMAND_TIMEOUT_MS = 10_000

/**
 * Server options for a registry kind: none for memory; for Redis, `redis` on a key prefix of its own (so
 * the tests of one file share one redis-server without seeing each other's swarms).
 */
export function registryOptions(
  kind: RegistryKind,
  redis: TestRedis | undefined,
): { redis?: { url: string; prefix: string; commandTimeoutMs: number } } {
  if (kind === 'memory') return {}
  if (!redis) throw new Error('start a redis-server (startRedis) before a Redis-backed server')
  return {
    redis: {
      url: redis.url,
      prefix: `t${process.pid}-${++prefixes}:`,
      commandTimeoutMs: TEST_REDIS_COMMAND_TIMEOUT_MS,
    },
  }
}

/**
 * For a suite that runs against both registries: one redis-server for the file (started before its tests,
 * stopped after), the kind the running `describe.each` chose, and the server options for it.
 */
export function bothRegistries(): {
  use(kind: RegistryKind): void
  readonly kind: RegistryKind
  options(): ReturnType<typeof registryOptions>
} {
  let redis: TestRedis | undefined
  let kind: RegistryKind = 'memory'
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  return {
    use: (chosen) => {
      kind = chosen
    },
    get kind() {
      return kind
    },
    options: () => registryOptions(kind, redis),
  }
}
