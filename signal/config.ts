/**
 * Configuration from environment variables, validated once at start-up. A bad value is reported in one
 * line naming the variable, and the process exits with code 2 (signal/main.ts).
 */
import { statSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { type IceServer, IceServersSchema } from '../shared/tracker-protocol.js'
import { DEFAULT_INSTANCE_TTL_MS, DEFAULT_REDIS_PREFIX } from './cluster.js'
import { LOG_LEVELS, type LogLevel } from './logger.js'
import { normaliseOrigin } from './origin-policy.js'
import { DEFAULT_COMMAND_TIMEOUT_MS } from './redis-link.js'

export interface Config {
  port: number
  host: string
  /** 0 disables the embedded STUN responder. */
  stunPort: number
  /** Where STUN listens; undefined: `host`. */
  stunHost: string | undefined
  /** Name or address browsers use to reach this server's STUN; undefined: the Host header of the request. */
  publicHost: string | undefined
  /** Replaces the default ICE servers (the embedded STUN) when set. */
  iceServers: IceServer[] | undefined
  turn: { urls: string[]; secret: string; ttlSeconds: number } | undefined
  logLevel: LogLevel
  connectionsPerAddress: number
  /** Take the client address from X-Forwarded-For (set when behind a reverse proxy). */
  trustProxy: boolean
  /** Pages allowed to open the tracker besides the site's own origin, normalised (`https://host[:port]`). */
  allowedOrigins: string[]
  /** Serve the web app's source maps (`*.map`); off by default. */
  serveSourceMaps: boolean
  /** Redis shared by every instance of one swarm; undefined: this process alone, state in memory. */
  redis: { url: string; prefix: string; instanceTtlMs: number; commandTimeoutMs: number } | undefined
  /** Another build of the web app (the absolute path of a folder with index.html); undefined: the bundled one. */
  webRoot: string | undefined
}

/** Shortest instance TTL accepted: a heartbeat (a third of it) must fit well inside a GC pause or two. */
const MIN_INSTANCE_TTL_MS = 3000
/**
 * Shortest Redis command timeout accepted: below a few round trips of a busy Redis every request would
 * fail as CLUSTER_UNAVAILABLE (a whole-catalog search takes tens of milliseconds).
 */
const MIN_COMMAND_TIMEOUT_MS = 100

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** A host name or an IP address, the forms a STUN URL can carry. */
export function isHostOrAddress(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME_PATTERN.test(value)
}

const port = (name: string) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= 0 && n <= 65_535, `${name} must be a port number, 0 to 65535`)

/**
 * Shortest TURN credential lifetime accepted: a credential must outlive gathering and connecting (seconds),
 * and each connection is sent fresh ones at 80% of it, so a few seconds would re-mint for every peer on
 * every sweep.
 */
const MIN_TURN_TTL_S = 60

const positiveInteger = (name: string) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, `${name} must be a positive whole number`)
    .transform(Number)

/** A comma-separated list, each item trimmed, empty items dropped. */
const commaList = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )

const flag = (name: string) =>
  z.enum(['true', 'false', '1', '0'], { message: `${name} must be true or false` }).optional()

/** An IP address to listen on, or localhost. */
const listenAddress = (name: string) =>
  z
    .string()
    .refine(
      (v) => isIP(v) !== 0 || v === 'localhost',
      `${name} must be an IP address to listen on (or localhost)`,
    )

const EnvSchema = z
  .object({
    PORT: port('PORT').default(8080),
    HOST: listenAddress('HOST').default('0.0.0.0'),
    STUN_PORT: port('STUN_PORT').default(3478),
    STUN_HOST: listenAddress('STUN_HOST').optional(),
    PUBLIC_HOST: z
      .string()
      .refine(isHostOrAddress, 'PUBLIC_HOST must be a host name or an IP address')
      .optional(),
    ICE_SERVERS: z
      .string()
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown
        } catch {
          ctx.addIssue({ code: 'custom', message: 'ICE_SERVERS must be JSON' })
          return z.NEVER
        }
      })
      .pipe(IceServersSchema)
      .optional(),
    TURN_URLS: commaList()
      .pipe(
        z
          .array(z.string().regex(/^turns?:/, 'TURN_URLS must be turn: or turns: URLs, comma-separated'))
          .min(1),
      )
      .optional(),
    TURN_SECRET: z.string().min(16, 'TURN_SECRET must be at least 16 characters').optional(),
    TURN_TTL_S: positiveInteger('TURN_TTL_S')
      .refine((v) => v >= MIN_TURN_TTL_S, `TURN_TTL_S must be at least ${MIN_TURN_TTL_S} seconds`)
      .default(3600),
    LOG_LEVEL: z
      .enum(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
      .default('info'),
    MAX_CONNECTIONS_PER_ADDRESS: positiveInteger('MAX_CONNECTIONS_PER_ADDRESS').optional(),
    TRUST_PROXY: flag('TRUST_PROXY'),
    ALLOWED_ORIGINS: commaList()
      .transform((origins, ctx) => {
        const normalised: string[] = []
        for (const origin of origins) {
          const one = normaliseOrigin(origin)
          if (one === undefined) {
            ctx.addIssue({
              code: 'custom',
              message: `ALLOWED_ORIGINS must be comma-separated origins like https://swarm.example.org, not ${JSON.stringify(origin.slice(0, 80))}`,
            })
            return z.NEVER
          }
          normalised.push(one)
        }
        return normalised
      })
      .optional(),
    SERVE_SOURCE_MAPS: flag('SERVE_SOURCE_MAPS'),
    REDIS_URL: z
      .string()
      .refine(isRedisUrl, 'REDIS_URL must be a redis:// or rediss:// URL, like redis://127.0.0.1:6379/0')
      .optional(),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'REDIS_PREFIX must be 1 to 64 letters, digits or : . _ -')
      .default(DEFAULT_REDIS_PREFIX),
    REDIS_INSTANCE_TTL_MS: positiveInteger('REDIS_INSTANCE_TTL_MS')
      .refine(
        (v) => v >= MIN_INSTANCE_TTL_MS,
        `REDIS_INSTANCE_TTL_MS must be at least ${MIN_INSTANCE_TTL_MS} milliseconds`,
      )
      .default(DEFAULT_INSTANCE_TTL_MS),
    REDIS_COMMAND_TIMEOUT_MS: positiveInteger('REDIS_COMMAND_TIMEOUT_MS')
      .refine(
        (v) => v >= MIN_COMMAND_TIMEOUT_MS,
        `REDIS_COMMAND_TIMEOUT_MS must be at least ${MIN_COMMAND_TIMEOUT_MS} milliseconds`,
      )
      .default(DEFAULT_COMMAND_TIMEOUT_MS),
    // A relative path is taken from the working directory, and resolved once here.
    SWARMDROP_WEB_ROOT: z
      .string()
      .transform((path) => resolve(path))
      .refine(isWebRoot, 'SWARMDROP_WEB_ROOT must be a folder holding index.html (a build of the web app)')
      .optional(),
  })
  .refine((env) => (env.TURN_URLS === undefined) === (env.TURN_SECRET === undefined), {
    message: 'TURN_URLS and TURN_SECRET go together: set both or neither',
    path: ['TURN_URLS'],
  })

/** Reads the configuration; throws ConfigError with one readable line when a value is bad. */
export function loadConfig(
  env: Record<string, string | undefined>,
  defaultConnectionsPerAddress: number,
): Config {
  // An empty variable means unset, as shells make it easy to export one by accident.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  )
  const parsed = EnvSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const variable = String(issue.path[0] ?? 'environment')
    const value = present[variable]
    // Secrets are not echoed: the TURN secret, and a Redis URL may carry a password.
    const secret = variable === 'TURN_SECRET' || variable === 'REDIS_URL'
    const shown = value === undefined || secret ? '' : ` (got ${JSON.stringify(value.slice(0, 80))})`
    throw new ConfigError(`${variable}: ${issue.message}${shown}`)
  }
  const e = parsed.data
  return {
    port: e.PORT,
    host: e.HOST,
    stunPort: e.STUN_PORT,
    publicHost: e.PUBLIC_HOST,
    iceServers: e.ICE_SERVERS,
    turn:
      e.TURN_URLS && e.TURN_SECRET
        ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlSeconds: e.TURN_TTL_S }
        : undefined,
    logLevel: e.LOG_LEVEL,
    connectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS ?? defaultConnectionsPerAddress,
    trustProxy: isSet(e.TRUST_PROXY),
    allowedOrigins: e.ALLOWED_ORIGINS ?? [],
    serveSourceMaps: isSet(e.SERVE_SOURCE_MAPS),
    stunHost: e.STUN_HOST,
    redis: e.REDIS_URL
      ? {
          url: e.REDIS_URL,
          prefix: e.REDIS_PREFIX,
          instanceTtlMs: e.REDIS_INSTANCE_TTL_MS,
          commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
        }
      : undefined,
    webRoot: e.SWARMDROP_WEB_ROOT,
  }
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
  } catch {
    return false
  }
}

function isWebRoot(path: string): boolean {
  try {
    return statSync(path).isDirectory() && statSync(join(path, 'index.html')).isFile()
  } catch {
    return false
  }
}

function isSet(flagValue: string | undefined): boolean {
  return flagValue === 'true' || flagValue === '1'
}
