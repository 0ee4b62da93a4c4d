import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../signal/config.js'
import { hostOfHeader } from '../../signal/ice-servers.js'

const load = (env: Record<string, string>) => loadConfig(env, 64)

/** A folder that looks like a build of the web app, and one that does not. */
const scratch = mkdtempSync(join(tmpdir(), 'swarmdrop-config-'))
const webBuild = join(scratch, 'web')
const notABuild = join(scratch, 'empty')
mkdirSync(webBuild)
mkdirSync(notABuild)
writeFileSync(join(webBuild, 'index.html'), '<!doctype html>')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(load({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      stunPort: 3478,
      publicHost: undefined,
      iceServers: undefined,
      turn: undefined,
      logLevel: 'info',
      connectionsPerAddress: 64,
      trustProxy: false,
      allowedOrigins: [],
      serveSourceMaps: false,
      stunHost: undefined,
      redis: undefined,
      webRoot: undefined,
    })
  })

  it('reads every variable', () => {
    expect(
      load({
        PORT: '9000',
        HOST: '::',
        STUN_PORT: '0',
        PUBLIC_HOST: 'swarm.example.org',
        ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]',
        TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349',
        TURN_SECRET: 'sixteen-chars-at-least',
        TURN_TTL_S: '600',
        LOG_LEVEL: 'debug',
        MAX_CONNECTIONS_PER_ADDRESS: '500',
        TRUST_PROXY: 'true',
        ALLOWED_ORIGINS: 'https://swarm.example.org, http://localhost:5173,https://Files.Example.com:443/',
        SERVE_SOURCE_MAPS: '1',
        STUN_HOST: '203.0.113.7',
        REDIS_URL: 'redis://:pw@10.0.0.5:6379/2',
        REDIS_PREFIX: 'swarm-a:',
        REDIS_INSTANCE_TTL_MS: '6000',
        REDIS_COMMAND_TIMEOUT_MS: '5000',
        SWARMDROP_WEB_ROOT: webBuild,
      }),
    ).toEqual({
      port: 9000,
      host: '::',
      stunPort: 0,
      publicHost: 'swarm.example.org',
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
      turn: {
        urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
        secret: 'sixteen-chars-at-least',
        ttlSeconds: 600,
      },
      logLevel: 'debug',
      connectionsPerAddress: 500,
      trustProxy: true,
      // normalised the way browsers write Origin: lowercase host, no default port, no trailing slash
      allowedOrigins: ['https://swarm.example.org', 'http://localhost:5173', 'https://files.example.com'],
      serveSourceMaps: true,
      stunHost: '203.0.113.7',
      redis: {
        url: 'redis://:pw@10.0.0.5:6379/2',
        prefix: 'swarm-a:',
        instanceTtlMs: 6000,
        commandTimeoutMs: 5000,
      },
      webRoot: webBuild,
    })
  })

  it('resolves a relative SWARMDROP_WEB_ROOT from the working directory', () => {
    expect(load({ SWARMDROP_WEB_ROOT: relative(process.cwd(), webBuild) }).webRoot).toBe(webBuild)
    expect(() => load({ SWARMDROP_WEB_ROOT: 'no/such/folder' })).toThrow(/^SWARMDROP_WEB_ROOT: .*index\.html/)
  })

  it('gives Redis its default prefix, instance TTL and command timeout when only REDIS_URL is set', () => {
    expect(load({ REDIS_URL: 'rediss://redis.internal' }).redis).toEqual({
      url: 'rediss://redis.internal',
      prefix: 'swarmdrop:',
      instanceTtlMs: 15_000,
      commandTimeoutMs: 2000,
    })
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT: PORT must be a whole number (got "eighty")'],
    [{ PORT: '70000' }, 'PORT: PORT must be a port number, 0 to 65535 (got "70000")'],
    [{ STUN_PORT: '-1' }, 'STUN_PORT: STUN_PORT must be a whole number (got "-1")'],
    [
      { HOST: 'example.org' },
      'HOST: HOST must be an IP address to listen on (or localhost) (got "example.org")',
    ],
    [
      { PUBLIC_HOST: 'bad host!' },
      'PUBLIC_HOST: PUBLIC_HOST must be a host name or an IP address (got "bad host!")',
    ],
    [{ ICE_SERVERS: '{not json' }, 'ICE_SERVERS: ICE_SERVERS must be JSON (got "{not json")'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL: LOG_LEVEL must be one of debug, info, warn, error, silent (got "loud")',
    ],
    [
      { TURN_URLS: 'turn:x.example:3478' },
      'TURN_URLS: TURN_URLS and TURN_SECRET go together: set both or neither (got "turn:x.example:3478")',
    ],
    [{ TURN_TTL_S: '0' }, 'TURN_TTL_S: TURN_TTL_S must be a positive whole number (got "0")'],
    [{ TURN_TTL_S: '59' }, 'TURN_TTL_S: TURN_TTL_S must be at least 60 seconds (got "59")'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY: TRUST_PROXY must be true or false (got "maybe")'],
    [
      { ALLOWED_ORIGINS: 'https://ok.example,swarm.example.org' },
      'ALLOWED_ORIGINS: ALLOWED_ORIGINS must be comma-separated origins like https://swarm.example.org, not "swarm.example.org" (got "https://ok.example,swarm.example.org")',
    ],
    [
      { ALLOWED_ORIGINS: 'https://swarm.example.org/app' },
      'ALLOWED_ORIGINS: ALLOWED_ORIGINS must be comma-separated origins like https://swarm.example.org, not "https://swarm.example.org/app" (got "https://swarm.example.org/app")',
    ],
    [
      { ALLOWED_ORIGINS: '*' },
      'ALLOWED_ORIGINS: ALLOWED_ORIGINS must be comma-separated origins like https://swarm.example.org, not "*" (got "*")',
    ],
    [{ SERVE_SOURCE_MAPS: 'yes' }, 'SERVE_SOURCE_MAPS: SERVE_SOURCE_MAPS must be true or false (got "yes")'],
    [
      { STUN_HOST: 'stun.example.org' },
      'STUN_HOST: STUN_HOST must be an IP address to listen on (or localhost) (got "stun.example.org")',
    ],
    // no value shown: a Redis URL may carry a password
    [
      { REDIS_URL: 'http://127.0.0.1:6379' },
      'REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL, like redis://127.0.0.1:6379/0',
    ],
    [
      { REDIS_URL: 'localhost:6379' },
      'REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL, like redis://127.0.0.1:6379/0',
    ],
    [
      { REDIS_PREFIX: 'has space' },
      'REDIS_PREFIX: REDIS_PREFIX must be 1 to 64 letters, digits or : . _ - (got "has space")',
    ],
    [
      { REDIS_INSTANCE_TTL_MS: '1000' },
      'REDIS_INSTANCE_TTL_MS: REDIS_INSTANCE_TTL_MS must be at least 3000 milliseconds (got "1000")',
    ],
    [
      { REDIS_COMMAND_TIMEOUT_MS: '20' },
      'REDIS_COMMAND_TIMEOUT_MS: REDIS_COMMAND_TIMEOUT_MS must be at least 100 milliseconds (got "20")',
    ],
    [
      { SWARMDROP_WEB_ROOT: notABuild },
      `SWARMDROP_WEB_ROOT: SWARMDROP_WEB_ROOT must be a folder holding index.html (a build of the web app) (got ${JSON.stringify(notABuild)})`,
    ],
  ])('refuses %j in one line naming the variable', (env, line) => {
    expect(() => load(env)).toThrow(new ConfigError(line))
  })

  it('refuses ICE servers that are not RTCIceServer-shaped', () => {
    expect(() => load({ ICE_SERVERS: '[{"urls":"http://example.org"}]' })).toThrow(/^ICE_SERVERS: /)
  })

  it('never prints the TURN secret', () => {
    expect(() => load({ TURN_URLS: 'turn:t.example:3478', TURN_SECRET: 'short' })).toThrow(ConfigError)
    try {
      load({ TURN_URLS: 'turn:t.example:3478', TURN_SECRET: 'short' })
    } catch (error) {
      expect((error as Error).message).not.toContain('short')
    }
  })

  it('treats an empty variable as unset', () => {
    expect(load({ PORT: '', TURN_URLS: '', TURN_SECRET: '' })).toMatchObject({ port: 8080, turn: undefined })
  })
})

describe('host of a Host header', () => {
  it.each([
    ['example.org:8080', 'example.org'],
    ['example.org', 'example.org'],
    ['127.0.0.1:8080', '127.0.0.1'],
    ['[::1]:8080', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['evil.example/../x', undefined],
    ['a b', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s → %s', (header, host) => {
    expect(hostOfHeader(header)).toBe(host)
  })
})
