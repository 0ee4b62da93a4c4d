/**
 * What runs on the lab's public segment: the Swarmdrop server exactly as `npm start` runs it (with its
 * embedded STUN, reached by browsers at the server's public address), and coturn started from the example
 * configuration of docs/SELF-HOSTING.md, with the lab's addresses and secret on top.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type AppServer, startAppServer } from '../../e2e/support/app-server.js'
import { stopChild } from '../../support/child-process.js'
import { type NatLab, PUBLIC_PREFIX, SERVER_ADDRESS, STOP_GRACE_MS } from './lab.js'

export const HTTP_PORT = 8080
export const STUN_PORT = 3478
/** coturn beside the embedded STUN, as docs/SELF-HOSTING.md lays it out. */
export const TURN_PORT = 3479
/** The documented configuration: the lab checks the file people are told to use. */
export const COTURN_CONFIG = fileURLToPath(new URL('../../../docs/coturn/turnserver.conf', import.meta.url))
/** coturn logs this once its listeners and relays are up. */
const COTURN_READY_LINE = /Total General servers/
const COTURN_START_TIMEOUT_MS = 10_000
/** Relay ports: a small range is plenty for a handful of browsers. */
const RELAY_PORTS = { min: 49152, max: 49999 }

export interface LabServer extends AppServer {
  readonly origin: string
}

/** The server in the public namespace; with `turnSecret`, it mints credentials for the lab's coturn. */
export async function startLabServer(lab: NatLab, options: { turnSecret?: string } = {}): Promise<LabServer> {
  const env: NodeJS.ProcessEnv = {
    HOST: SERVER_ADDRESS,
    PORT: String(HTTP_PORT),
    STUN_PORT: String(STUN_PORT),
    PUBLIC_HOST: SERVER_ADDRESS,
    LOG_LEVEL: 'info',
  }
  if (options.turnSecret) {
    env.TURN_URLS = `turn:${SERVER_ADDRESS}:${TURN_PORT}?transport=udp`
    env.TURN_SECRET = options.turnSecret
  }
  const server = await startAppServer({
    env,
    host: SERVER_ADDRESS,
    launch: (command, args, launchOptions) => lab.spawn(lab.publicNs, command, args, launchOptions),
  })
  return Object.assign(server, { origin: `http://${SERVER_ADDRESS}:${HTTP_PORT}` })
}

export interface LabCoturn {
  readonly secret: string
  readonly port: number
  readonly log: string[]
  stop(): Promise<void>
}

/**
 * coturn from docs/coturn/turnserver.conf (its deny list of loopback, private and link-local peers, its
 * quotas), listening on the public segment at `port` (default TURN_PORT). Unless `confineToLab` is false,
 * the lab adds one rule a real server has no use for: only peers on the lab's public segment may be
 * relayed to, so nothing a browser asks the relay for can leave the lab, whatever the documented list says.
 */
export async function startLabCoturn(
  lab: NatLab,
  options: { port?: number; confineToLab?: boolean } = {},
): Promise<LabCoturn> {
  const port = options.port ?? TURN_PORT
  const secret = randomBytes(24).toString('base64url')
  const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-lab-coturn-'))
  const confinement =
    options.confineToLab === false
      ? []
      : [
          `--allowed-peer-ip=${PUBLIC_PREFIX}.0-${PUBLIC_PREFIX}.255`,
          '--denied-peer-ip=0.0.0.0-255.255.255.255',
        ]
  const args = [
    '-c',
    COTURN_CONFIG,
    `--listening-ip=${SERVER_ADDRESS}`,
    `--relay-ip=${SERVER_ADDRESS}`,
    `--listening-port=${port}`,
    `--static-auth-secret=${secret}`,
    '--realm=lab.swarmdrop.test',
    `--min-port=${RELAY_PORTS.min}`,
    `--max-port=${RELAY_PORTS.max}`,
    // The documented file sets up TLS with a certificate the lab does not have; browsers use plain UDP here.
    '--no-tls',
    '--no-dtls',
    ...confinement,
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ]
  const child = lab.spawn(lab.publicNs, 'turnserver', args)
  const log: string[] = []
  const ready = new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      log.push(line)
      if (COTURN_READY_LINE.test(line)) resolve()
    }
    createInterface({ input: child.stdout! }).on('line', onLine)
    createInterface({ input: child.stderr! }).on('line', onLine)
    child.once('exit', (code, signal) =>
      reject(new Error(`coturn exited (${signal ?? code}) before it was ready:\n${log.join('\n')}`)),
    )
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`coturn was not ready in ${COTURN_START_TIMEOUT_MS} ms:\n${log.join('\n')}`)),
      COTURN_START_TIMEOUT_MS,
    )
  })
  const stop = async () => {
    await stopChild(child, STOP_GRACE_MS)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await Promise.race([ready, timeout])
  } catch (error) {
    await stop()
    throw error
  } finally {
    clearTimeout(timer)
  }
  return { secret, port, log, stop }
}
