/**
 * The NAT lab (SPEC §6): network namespaces joined by veth pairs, with no link to the machine's own network
 * or any other. One public segment (a bridge in the `pub` namespace, where the Swarmdrop server and coturn
 * run) and any number of home networks, each a host namespace behind a router namespace that NATs it onto
 * the public segment:
 *
 *   home h1 (10.0.1.2) ── r1 (10.0.1.1 | 203.0.113.11) ──┐
 *   home h2 (10.0.2.2) ── r2 (10.0.2.1 | 203.0.113.12) ──┼── br0 in pub (203.0.113.1: server, STUN, coturn)
 *   …                                                     ┘
 *
 * A cone router is `MASQUERADE` (Linux keeps the source port, so one mapping serves every destination); a
 * symmetric one is `MASQUERADE --random-fully` (a new random port per destination, which defeats hole
 * punching). Both drop unsolicited inbound packets, as home routers do; for the cone this also matters for
 * correctness (SPEC §8): an early connectivity check from the other peer, if let in, would claim the
 * preserved port in conntrack and turn the cone symmetric.
 *
 * The public segment is 203.0.113.0/24 (TEST-NET-3, RFC 5737: never routed on the internet), so coturn's
 * deny list for private ranges, which a real deployment has, applies here as it would there. Every
 * namespace gets an empty resolv.conf, so no name lookup can leave the lab. Needs root.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { stopChild } from '../../support/child-process.js'

/** The public segment: TEST-NET-3, documentation addresses that no real network routes. */
export const PUBLIC_PREFIX = '203.0.113'
export const PUBLIC_PREFIX_LENGTH = 24
/** Where the server, its STUN and coturn listen. */
export const SERVER_ADDRESS = `${PUBLIC_PREFIX}.1`
/** Every lab namespace's name starts with this, then the owning process id, so stale labs can be found. */
const NAMESPACE_PREFIX = 'sdlab-'
/** How long a child started in the lab gets to exit after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 3_000
/** Longest a one-off command in the lab (ip, iptables, tc, sysctl) may take. */
const RUN_TIMEOUT_MS = 30_000
/** Most home networks one lab holds: their addresses are 10.0.<n>.0/24 and 203.0.113.<10 + n>. */
const MAX_HOMES = 40

export type NatKind = 'cone' | 'symmetric'

export interface HomeNet {
  readonly index: number
  readonly kind: NatKind
  /** The namespace of the home's one host (where its browser runs). */
  readonly hostNs: string
  /** The namespace of its NAT router. */
  readonly routerNs: string
  /** The host's private address. */
  readonly hostAddress: string
  /** The router's address on the public segment: what the rest of the lab sees of this home. */
  readonly publicAddress: string
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces'
  if (process.getuid?.() !== 0) {
    return 'the NAT lab needs root to create network namespaces, veth pairs and iptables rules (CI runs it as root)'
  }
  for (const tool of ['ip', 'iptables', 'tc']) {
    if (!['/usr/sbin', '/sbin', '/usr/bin'].some((dir) => existsSync(`${dir}/${tool}`))) {
      return `the NAT lab needs "${tool}": apt-get install -y iproute2 iptables`
    }
  }
  return undefined
}

let labsMade = 0

export class NatLab {
  readonly publicNs: string
  readonly #name: string
  readonly #namespaces: string[] = []
  readonly #homes: HomeNet[] = []
  readonly #children = new Set<ChildProcess>()
  readonly #exitGuard = () => this.#removeNamespacesNow()
  #destroyed = false

  /** Builds the public segment. Call `destroy()` in a `finally` or `afterAll`: it always tears down. */
  constructor() {
    removeStaleLabs()
    this.#name = `${NAMESPACE_PREFIX}${process.pid}-${++labsMade}`
    // A run killed before its `destroy()` must not leave namespaces behind for the next run to trip on.
    process.once('exit', this.#exitGuard)
    this.publicNs = this.#addNamespace('pub')
    try {
      this.#ip(this.publicNs, 'link', 'add', 'br0', 'type', 'bridge')
      this.#ip(this.publicNs, 'addr', 'add', `${SERVER_ADDRESS}/${PUBLIC_PREFIX_LENGTH}`, 'dev', 'br0')
      this.#ip(this.publicNs, 'link', 'set', 'br0', 'up')
    } catch (error) {
      this.#removeNamespacesNow()
      throw error
    }
  }

  get homes(): readonly HomeNet[] {
    return this.#homes
  }

  /** Adds a home network behind a NAT router of the given kind. */
  addHome(kind: NatKind): HomeNet {
    const index = this.#homes.length + 1
    if (index > MAX_HOMES) throw new RangeError(`at most ${MAX_HOMES} home networks`)
    const routerNs = this.#addNamespace(`r${index}`)
    const hostNs = this.#addNamespace(`h${index}`)
    const home: HomeNet = {
      index,
      kind,
      hostNs,
      routerNs,
      hostAddress: `10.0.${index}.2`,
      publicAddress: `${PUBLIC_PREFIX}.${10 + index}`,
    }
    const routerLan = `10.0.${index}.1`
    // The router's uplink: one end in the router, the other on the public bridge.
    this.#ip(
      this.publicNs,
      'link',
      'add',
      `w${index}`,
      'type',
      'veth',
      'peer',
      'name',
      'wan',
      'netns',
      routerNs,
    )
    this.#ip(this.publicNs, 'link', 'set', `w${index}`, 'master', 'br0', 'up')
    this.#ip(routerNs, 'addr', 'add', `${home.publicAddress}/${PUBLIC_PREFIX_LENGTH}`, 'dev', 'wan')
    this.#ip(routerNs, 'link', 'set', 'wan', 'up')
    // The home's one wire: router to host.
    this.#ip(routerNs, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', hostNs)
    this.#ip(routerNs, 'addr', 'add', `${routerLan}/24`, 'dev', 'lan')
    this.#ip(routerNs, 'link', 'set', 'lan', 'up')
    this.#ip(hostNs, 'addr', 'add', `${home.hostAddress}/24`, 'dev', 'eth0')
    this.#ip(hostNs, 'link', 'set', 'eth0', 'up')
    this.#ip(hostNs, 'route', 'add', 'default', 'via', routerLan)

    this.run(routerNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE']
    this.#iptables(routerNs, ...(kind === 'symmetric' ? [...masquerade, '--random-fully'] : masquerade))
    // Only answers come in from the public side, to the router itself or forwarded to the host.
    for (const chain of ['INPUT', 'FORWARD']) {
      this.#iptables(
        routerNs,
        '-A',
        chain,
        '-i',
        'wan',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      )
      this.#iptables(routerNs, '-A', chain, '-i', 'wan', '-j', 'DROP')
    }
    this.#homes.push(home)
    return home
  }

  /**
   * Drops every packet between two homes' public addresses (in both routers), as a link failure between
   * two networks would, leaving their paths to the server untouched. Returns the function that heals it.
   */
  cut(a: HomeNet, b: HomeNet): () => void {
    const rules: [HomeNet, string[]][] = []
    for (const [home, other] of [
      [a, b],
      [b, a],
    ] as const) {
      rules.push([home, ['FORWARD', '-d', other.publicAddress, '-j', 'DROP']])
      rules.push([home, ['FORWARD', '-s', other.publicAddress, '-j', 'DROP']])
    }
    for (const [home, rule] of rules) this.#iptables(home.routerNs, '-I', ...rule)
    let healed = false
    return () => {
      if (healed || this.#destroyed) return
      healed = true
      for (const [home, rule] of rules) this.#iptables(home.routerNs, '-D', ...rule)
    }
  }

  /**
   * Drops every UDP packet a home sends to `address` (its router's firewall), as networks that allow only
   * web traffic do: STUN and TURN over UDP to the server then get no answer, the page itself still loads.
   */
  blockUdpTo(home: HomeNet, address: string): void {
    this.#iptables(home.routerNs, '-I', 'FORWARD', '-p', 'udp', '-d', address, '-j', 'DROP')
  }

  /**
   * Caps what a home can send to the public segment (its uplink) at `megabitsPerSecond`, with a token
   * bucket on the router's public side, as a home connection's upload rate caps it.
   */
  capUplink(home: HomeNet, megabitsPerSecond: number): void {
    // A burst of ~10 ms at the rate, and a queue of at most ~100 ms, as a modem's buffer would be.
    const burstBytes = Math.max(16 * 1024, Math.round((megabitsPerSecond * 1e6) / 8 / 100))
    this.run(home.routerNs, [
      'tc',
      'qdisc',
      'add',
      'dev',
      'wan',
      'root',
      'tbf',
      'rate',
      `${megabitsPerSecond}mbit`,
      'burst',
      String(burstBytes),
      'latency',
      '100ms',
    ])
  }

  /**
   * Runs a command in a namespace and returns its standard output; throws with its stderr on failure, or
   * when it runs longer than `timeoutMs` (default RUN_TIMEOUT_MS).
   */
  run(ns: string, argv: readonly string[], options: { timeoutMs?: number } = {}): string {
    try {
      return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
        encoding: 'utf8',
        stdio: 'pipe',
        timeout: options.timeoutMs ?? RUN_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      })
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? ''
      throw new Error(`in ${ns}: ${argv.join(' ')} failed: ${stderr.trim() || String(error)}`)
    }
  }

  /** Starts a long-running command in a namespace; it is stopped by `destroy()`. */
  spawn(
    ns: string,
    command: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): ChildProcess {
    if (this.#destroyed) throw new Error('the lab is torn down')
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  /** An executable that runs `command` in `ns` with the arguments it is given: for Playwright's `executablePath`. */
  wrapper(ns: string, command: string, dir: string): string {
    const path = `${dir}/in-${ns}.sh`
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec '${ns}' '${command}' "$@"\n`, { mode: 0o755 })
    return path
  }

  /** Stops everything started in the lab and removes every namespace, once. Safe to call after a failure. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    await Promise.all([...this.#children].map((child) => stopChild(child, STOP_GRACE_MS)))
    this.#removeNamespacesNow()
    process.removeListener('exit', this.#exitGuard)
  }

  #removeNamespacesNow(): void {
    for (const ns of [...this.#namespaces].reverse()) removeNamespace(ns)
    this.#namespaces.length = 0
  }

  #addNamespace(role: string): string {
    const ns = `${this.#name}-${role}`
    // `ip netns exec` mounts this over /etc/resolv.conf: no resolver, so no lookup leaves the lab.
    // Tracked first: whatever of it exists is removed at teardown, even if making it fails half-way.
    this.#namespaces.push(ns)
    mkdirSync(`/etc/netns/${ns}`, { recursive: true })
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, '# NAT lab: no resolver\n')
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' })
    this.#ip(ns, 'link', 'set', 'lo', 'up')
    return ns
  }

  #ip(ns: string, ...args: string[]): void {
    try {
      execFileSync('ip', ['-n', ns, ...args], { stdio: 'pipe' })
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim()
      throw new Error(`ip -n ${ns} ${args.join(' ')} failed: ${stderr || String(error)}`)
    }
  }

  #iptables(ns: string, ...args: string[]): void {
    this.run(ns, ['iptables', '-w', ...args])
  }
}

/** Kills whatever still runs in a namespace, then deletes it and its /etc/netns folder. */
function removeNamespace(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: 'pipe' })
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // already gone
      }
    }
  } catch {
    // the namespace is gone already
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' })
  } catch {
    // the namespace is gone already
  }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true })
}

/** Removes namespaces of labs whose process is gone (a run killed before it could tear down). */
function removeStaleLabs(): void {
  let names: string[] = []
  try {
    names = readdirSync('/run/netns')
  } catch {
    return
  }
  for (const ns of names) {
    if (!ns.startsWith(NAMESPACE_PREFIX)) continue
    const pid = Number(ns.slice(NAMESPACE_PREFIX.length).split('-')[0])
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) removeNamespace(ns)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
