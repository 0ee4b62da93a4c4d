/**
 * bench/tracker-load: Swarmdrop's tracker against bittorrent-tracker's WebSocket tracker (SPEC §7),
 * each in its own child process, loaded by simulated peers in worker threads, in the same run.
 *
 *   npm run bench -- tracker-load [--peers 1000,10000] [--rates 500,1000,…] [--relay-pairs 1000]
 *     [--step-seconds 4] [--workers 2] [--searches 200] [--trackers swarmdrop,bittorrent-tracker]
 *     [--cpu-prof]              profiles each tracker child into bench/results/profiles/
 *     [--heartbeat-ms N]        diagnosis only: Swarmdrop's heartbeat interval
 *     [--tracker-flags=FLAGS]   Node flags for the tracker children, e.g. --tracker-flags=--trace-gc
 *     [--also-flags=FLAGS]      also Swarmdrop's one process started with these Node flags, in the same run
 *                               (e.g. --also-flags=--max-semi-space-size=2: what V8's young generation costs)
 *     [--instances 1,2,4 --redis]  also Swarmdrop as N instances sharing one swarm through a redis-server
 *                               started for each run (issue 15): peers and relay pairs spread over them
 *     [--baseline DIR]          also Swarmdrop built from another checkout (e.g. main's), in the same run
 *     [--attack-rounds 2]       rounds of the search-under-attack step (0: none)
 *
 * (or `node --import tsx bench/tracker-load/main.ts …` in a shell whose `ulimit -n` is high enough).
 *
 * Phase 1, at each peer count: connect, announce 100 files each, list the catalog, search it and ask for
 * the peers of a file; the tracker's RSS afterwards. Phase 2, with those peers still connected: offers
 * and answers relayed between pairs of peers at rising rates, with latency and the rate that gets through.
 * With --instances and --redis, Swarmdrop runs again as N instances behind one Redis (the relay pairs' two
 * ends on different instances, so every signal crosses Redis), and Redis's memory counts with the
 * instances'. Phase 3, Swarmdrop as one process only: search under attack, the relay at 2,000/s with and without hostile searches
 * from one address at its catalog budget (search-attack.ts), alternated, in the same run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULT_HEARTBEAT_MS, DEFAULT_TRACKER_LIMITS, type TrackerLimits } from '../../shared/limits.js'
import { type Bundles, buildBundles } from './build.js'
import type { RelayStepResult, RequestsResult, TrackerKind } from './commands.js'
import { Deployment, type DeploymentPlan, type RedisMemory } from './deployment.js'
import {
  formatCount,
  formatCounts,
  formatMiB,
  formatMs,
  type PhaseFigures,
  phaseFigures,
  SATURATION_MIN_DELIVERED,
  SATURATION_P99_MS,
  type StepFigures,
  stepFigures,
} from './figures.js'
import { PEERS_PER_ADDRESS } from './load-client.js'
import {
  ATTACK_ADDRESS,
  ATTACK_CONNECTIONS,
  ATTACK_SEARCHES_PER_SECOND,
  type AttackCounts,
  SearchAttack,
} from './search-attack.js'
import { WorkerPool } from './worker-pool.js'
import { FILES_PER_PEER, HOLDERS_PER_FILE, MIN_POOL_FILES, poolSizeFor, SDP_BYTES } from './workload.js'

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))

const DEFAULTS = {
  peers: '1000,10000',
  // Up to past bittorrent-tracker's measured saturation (SPEC §7: 16,000–24,000/s).
  rates: '500,1000,2000,4000,8000,16000,24000,32000',
  // One per core: the trackers and the generator share this machine's two cores.
  workers: '2',
  // 1,000 pairs keep each sender at 16 msg/s at the top rate of 32,000/s: under Swarmdrop's default
  // limit of 50/s with room for jitter, as browsers would be.
  relayPairs: '1000',
  stepSeconds: '4',
  searches: '200',
  trackers: 'swarmdrop,bittorrent-tracker',
} as const

/** SPEC §7 targets for one server process. */
const TARGET_RSS_BYTES = 512 * 1024 * 1024
const TARGET_RSS_PEERS = 10_000
const TARGET_RELAY_RATE = 2000
const TARGET_RELAY_P99_MS = 10

/** Per-connection rate the relay may ask of a sender; Swarmdrop's default limit is 50/s, burst 200. */
const MAX_SENDER_RATE = 20
/** Wait after a phase before reading memory, so sockets and timers settle. */
const SETTLE_MS = 2000
/** A first, unrecorded step at the lowest rate: the JIT warms up on both sides. */
const WARMUP_MS = 2000
/** Longest wait after a step for offers and answers still in flight. */
const DRAIN_MS = 2000
/** Pause between steps, so one step's tail does not land in the next. */
const PAUSE_MS = 500
/** File descriptors used besides the peers' sockets (node, workers, pipes). */
const SPARE_FDS = 256
/** A one-minute load average above this before the run means something else is using the cores. */
const BUSY_LOAD_AVERAGE = 0.5
/** Pairs of relay steps, without and with the search attack, alternated so that drift hits both alike. */
const ATTACK_ROUNDS = 2
/**
 * The attack runs this long before its relay step is timed: its burst (twice the rate) is spent by then,
 * so the step sees the address held to its sustained budget, the state an attacker can keep up.
 */
const ATTACK_LEAD_MS = 2000
/** Swarmdrop's default catalog budget of one address (signal/tracker.ts DEFAULT_CATALOG_BUDGETS). */
const ADDRESS_RECORDS_PER_SECOND = 250_000

const TRACKER_NAMES: Record<TrackerKind, string> = {
  swarmdrop: 'Swarmdrop',
  'bittorrent-tracker': 'bittorrent-tracker',
}

interface Options {
  peers: number[]
  rates: number[]
  workers: number
  relayPairs: number
  stepMs: number
  searches: number
  trackers: TrackerKind[]
  cpuProfile: boolean
  /** Swarmdrop's heartbeat interval, when overridden to see what its ping sweep costs. */
  heartbeatMs: number | undefined
  /** Extra Node flags for the tracker children, e.g. --trace-gc. */
  trackerFlags: string[]
  /** Node flags of an extra set-up, Swarmdrop's one process started with them (empty: none). */
  alsoFlags: string[]
  /** Instance counts to run Swarmdrop at on Redis (empty: the single process only). */
  instances: number[]
  /** A checkout whose Swarmdrop server runs too, as the baseline (e.g. main's). */
  baseline: string | undefined
  attackRounds: number
}

interface LoadRun {
  tracker: TrackerKind
  /** What ran: "one process", "main's build", "2 instances + Redis"… */
  label: string
  instances: number
  /** Redis's memory after phase 1, when it ran on Redis. */
  redis?: RedisMemory
  peers: number
  poolFiles: number
  phases: PhaseFigures[]
  connectedAtEnd: number
  filesHeld: number
  warnings: number
  rssBytes: number
  peakRssBytes: number
  rssAfterGcBytes: number
  heapUsedAfterGcBytes: number
  /** V8's committed heap after the full GC: what RSS holds for the heap beyond what is live. */
  heapTotalAfterGcBytes: number
  relay?: RelayRun
}

/** The last rate before the first step that failed a rule; when no step failed, the last rate run (`atLeast`). */
interface Limit {
  rate: number
  atLeast: boolean
}

interface RelayLimits {
  /** The first rate that failed the saturation rule; null when none of the rates run did. */
  saturationRate: number | null
  /** Up to where p99 stayed within 100 ms. */
  p99Under100UpTo: Limit
  /** Up to where at least 90% of the target rate got through. */
  heldUpTo: Limit
}

interface AttackRound {
  quiet: StepFigures
  hostile: StepFigures
  attack: AttackCounts
  /** Catalog records the tracker touched a second while the attack ran (its whole work for the attack). */
  recordsPerSecond: number
}

interface RelayRun extends RelayLimits {
  backgroundPeers: number
  pairs: number
  steps: StepFigures[]
  rssAfterBytes: number
  peakRssBytes: number
  /** Search under attack (Swarmdrop only). */
  attack?: AttackRound[]
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      peers: { type: 'string', default: DEFAULTS.peers },
      rates: { type: 'string', default: DEFAULTS.rates },
      workers: { type: 'string', default: DEFAULTS.workers },
      'relay-pairs': { type: 'string', default: DEFAULTS.relayPairs },
      'step-seconds': { type: 'string', default: DEFAULTS.stepSeconds },
      searches: { type: 'string', default: DEFAULTS.searches },
      trackers: { type: 'string', default: DEFAULTS.trackers },
      'cpu-prof': { type: 'boolean', default: false },
      'heartbeat-ms': { type: 'string' },
      'tracker-flags': { type: 'string', default: '' },
      'also-flags': { type: 'string', default: '' },
      instances: { type: 'string' },
      redis: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'attack-rounds': { type: 'string', default: String(ATTACK_ROUNDS) },
    },
  })
  const numbers = (text: string, name: string) =>
    text.split(',').map((part) => {
      const n = Number(part.replaceAll('_', ''))
      if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: "${part}" is not a positive integer`)
      return n
    })
  const one = (text: string, name: string) => numbers(text, name)[0]!
  const trackers = values.trackers.split(',') as TrackerKind[]
  for (const tracker of trackers) {
    if (!(tracker in TRACKER_NAMES)) throw new Error(`--trackers: unknown tracker "${tracker}"`)
  }
  if (values.instances !== undefined && !values.redis)
    throw new Error('--instances: several instances share one swarm only through Redis; add --redis')
  return {
    instances: values.redis ? numbers(values.instances ?? '1,2,4', 'instances') : [],
    baseline: values.baseline,
    attackRounds: Number(values['attack-rounds']),
    peers: numbers(values.peers, 'peers'),
    rates: numbers(values.rates, 'rates').sort((a, b) => a - b),
    workers: one(values.workers, 'workers'),
    relayPairs: one(values['relay-pairs'], 'relay-pairs'),
    stepMs: one(values['step-seconds'], 'step-seconds') * 1000,
    searches: one(values.searches, 'searches'),
    trackers,
    cpuProfile: values['cpu-prof'],
    trackerFlags: values['tracker-flags'].split(' ').filter(Boolean),
    alsoFlags: values['also-flags'].split(' ').filter(Boolean),
    heartbeatMs:
      values['heartbeat-ms'] === undefined ? undefined : one(values['heartbeat-ms'], 'heartbeat-ms'),
  }
}

/** The soft limit on open files; each simulated peer holds one socket here and one in the tracker. */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))
  const soft = line?.split(/\s{2,}/)[1]
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
}

const split = (total: number, parts: number) =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function timed<T>(work: () => Promise<T>): Promise<{ wallMs: number; value: T }> {
  const started = performance.now()
  const value = await work()
  return { wallMs: performance.now() - started, value }
}

function printPhase(phase: PhaseFigures, itemsLabel?: string): void {
  const items = itemsLabel ? `  ${itemsLabel} ${phase.meanItems.toFixed(1)}` : ''
  const errors = Object.keys(phase.errors).length ? `  errors: ${formatCounts(phase.errors)}` : ''
  console.log(
    `  ${phase.name.padEnd(9)} ${formatCount(phase.ok).padStart(7)} ok ${formatCount(phase.failed).padStart(4)} failed` +
      `  ${(phase.wallMs / 1000).toFixed(2).padStart(7)} s` +
      `  p50 ${formatMs(phase.p50).padStart(6)} ms  p99 ${formatMs(phase.p99).padStart(6)} ms${items}${errors}`,
  )
}

/** One server set-up to load: a tracker kind, its bundle, and for Swarmdrop how many instances on Redis. */
interface Setup {
  kind: TrackerKind
  label: string
  script: string
  instances: number
  redis: boolean
  /** Node flags of this set-up's processes, after --tracker-flags. */
  nodeFlags?: string[]
}

function setupsFor(kind: TrackerKind, options: Options, bundles: Bundles): Setup[] {
  if (kind === 'bittorrent-tracker') {
    return [{ kind, label: 'one process', script: bundles.bittorrentServer, instances: 1, redis: false }]
  }
  const one = { kind, instances: 1, redis: false }
  return [
    ...(bundles.baselineServer ? [{ ...one, label: 'baseline build', script: bundles.baselineServer }] : []),
    { ...one, label: 'one process', script: bundles.swarmdropServer },
    ...(options.alsoFlags.length > 0
      ? [
          {
            ...one,
            label: `one process ${options.alsoFlags.join(' ')}`,
            script: bundles.swarmdropServer,
            nodeFlags: options.alsoFlags,
          },
        ]
      : []),
    ...options.instances.map((instances) => ({
      kind,
      label: `${instances} instance${instances === 1 ? '' : 's'} + Redis`,
      script: bundles.swarmdropServer,
      instances,
      redis: true,
    })),
  ]
}

async function runLoad(setup: Setup, peers: number, options: Options, bundles: Bundles): Promise<LoadRun> {
  const { kind } = setup
  const poolFiles = poolSizeFor(peers)
  console.log(
    `\n${TRACKER_NAMES[kind]} (${setup.label}), ${formatCount(peers)} peers × ${FILES_PER_PEER} files`,
  )
  // Defaults all: the simulated peers come from many loopback addresses (load-client.ts PEERS_PER_ADDRESS).
  const limits: Partial<TrackerLimits> = {}
  const plan: DeploymentPlan = {
    label: setup.label,
    script: setup.script,
    args:
      kind === 'swarmdrop'
        ? [JSON.stringify(limits), ...(options.heartbeatMs ? [String(options.heartbeatMs)] : [])]
        : [],
    instances: setup.instances,
    redis: setup.redis,
    cpuProfileDir: options.cpuProfile
      ? join(RESULTS_DIR, 'profiles', `${kind}-${setup.label.replaceAll(/\W+/g, '-')}-${peers}`)
      : undefined,
    nodeFlags: [...options.trackerFlags, ...(setup.nodeFlags ?? [])],
  }
  const tracker = await Deployment.start(plan)
  const pool = new WorkerPool(bundles.worker, kind, tracker.urls, options.workers)
  try {
    const phases: PhaseFigures[] = []
    const phase = async (name: string, run: () => Promise<RequestsResult[]>, itemsLabel?: string) => {
      const { wallMs, value } = await timed(run)
      const figures = phaseFigures(name, wallMs, value)
      phases.push(figures)
      printPhase(figures, itemsLabel)
      return figures
    }
    const shares = split(peers, pool.size)
    const firsts = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0))
    const connect = await phase('connect', () =>
      pool.all((i) => ({ op: 'connect', firstPeer: firsts[i]!, count: shares[i]! })),
    )
    if (connect.failed > 0) throw new Error(`${connect.failed} peers could not connect`)
    await pool.all(() => ({ op: 'prepare', poolSize: poolFiles }))
    await phase('announce', () => pool.all(() => ({ op: 'announce' })))
    if (kind === 'swarmdrop') {
      await phase('catalog', () => pool.all(() => ({ op: 'catalog' })), 'files/page')
      const searches = split(Math.min(options.searches, peers), pool.size)
      await phase('search', () => pool.all((i) => ({ op: 'search', count: searches[i]! })), 'matches')
      await phase('peers', () => pool.all(() => ({ op: 'peers' })), 'peers/reply')
    } else {
      console.log(
        '  (no catalog, search or peer list in its WebSocket protocol: peers only meet through offers)',
      )
    }
    await sleep(SETTLE_MS)
    const memory = tracker.memory()
    const stats = await tracker.stats()
    const collected = await tracker.collect()
    const afterGc = tracker.memory()
    const redis = await tracker.redisMemory()
    if (redis) {
      console.log(
        `  redis-server: used_memory ${formatMiB(redis.usedBytes)} MiB, RSS ${formatMiB(redis.rssBytes)} MiB;` +
          ` with the ${setup.instances} instance${setup.instances === 1 ? '' : 's'}' RSS` +
          ` ${formatMiB(memory.rssBytes + redis.rssBytes)} MiB in all`,
      )
    }
    console.log(
      `  tracker: ${formatCount(stats.peers)} connections, ${formatCount(stats.files)} ${kind === 'swarmdrop' ? 'files' : 'swarms'}` +
        `${stats.warnings ? `, ${stats.warnings} warnings` : ''}; RSS ${formatMiB(memory.rssBytes)} MiB` +
        ` (peak ${formatMiB(memory.peakRssBytes)} MiB; after a forced full GC ${formatMiB(afterGc.rssBytes)} MiB,` +
        ` heap used ${formatMiB(collected.heapUsedBytes)} of ${formatMiB(collected.heapTotalBytes ?? 0)} MiB,` +
        ` external ${formatMiB(collected.externalBytes ?? 0)} MiB)`,
    )
    const run: LoadRun = {
      tracker: kind,
      label: setup.label,
      instances: setup.instances,
      ...(redis ? { redis } : {}),
      peers,
      poolFiles,
      phases,
      connectedAtEnd: stats.peers,
      filesHeld: stats.files,
      warnings: stats.warnings,
      rssBytes: memory.rssBytes,
      peakRssBytes: memory.peakRssBytes,
      rssAfterGcBytes: afterGc.rssBytes,
      heapUsedAfterGcBytes: collected.heapUsedBytes,
      heapTotalAfterGcBytes: collected.heapTotalBytes ?? 0,
    }
    const attack = kind === 'swarmdrop' && setup.label === 'one process' && options.attackRounds > 0
    run.relay = await runRelay(peers, tracker, pool, options, attack)
    return run
  } finally {
    await pool.all(() => ({ op: 'close' })).catch(() => {})
    await pool.terminate()
    await tracker.stop()
  }
}

async function runRelay(
  backgroundPeers: number,
  tracker: Deployment,
  pool: WorkerPool,
  options: Options,
  withSearchAttack: boolean,
): Promise<RelayRun> {
  const pairShares = split(options.relayPairs, pool.size)
  const setup = phaseFigures(
    'pairs',
    0,
    await pool.all<RequestsResult>((i) => ({ op: 'relay-setup', pairs: pairShares[i]! })),
  )
  if (setup.failed > 0) throw new Error(`relay setup failed: ${formatCounts(setup.errors)}`)
  console.log(
    `  relay: ${formatCount(options.relayPairs)} pairs (${formatCount(2 * options.relayPairs)} more connections)` +
      ` beside the ${formatCount(backgroundPeers)} idle peers; ${options.stepMs / 1000} s a step`,
  )
  const step = async (rate: number, durationMs: number) => {
    await tracker.stats(true)
    const trackerCpu = tracker.cpuMs()
    const generatorCpu = process.cpuUsage()
    const { wallMs, value } = await timed(() =>
      pool.all<RelayStepResult>(() => ({
        op: 'relay-step',
        offersPerSecond: rate / 2 / pool.size,
        durationMs,
        drainMs: DRAIN_MS,
      })),
    )
    const generatorUsed = process.cpuUsage(generatorCpu)
    const trackerCpuUsed = tracker.cpuMs() - trackerCpu
    const { loopMaxMs, gc, longestGap } = await tracker.stats()
    const figures = stepFigures(
      rate,
      durationMs,
      wallMs,
      value,
      { trackerMs: trackerCpuUsed, generatorMs: (generatorUsed.user + generatorUsed.system) / 1000 },
      loopMaxMs,
    )
    return { ...figures, ...(gc ? { trackerGc: gc } : {}), ...(longestGap ? { trackerGap: longestGap } : {}) }
  }
  await step(options.rates[0]!, WARMUP_MS)
  console.log(
    '    target/s  achieved/s    p50 ms    p99 ms    max ms   tracker: CPU  stall ms   generator: CPU  stall ms  notes',
  )
  const steps: StepFigures[] = []
  for (const rate of options.rates) {
    await sleep(PAUSE_MS)
    const figures = await step(rate, options.stepMs)
    steps.push(figures)
    const notes = [
      figures.saturated ? 'SATURATED' : '',
      figures.generatorLimited ? `generator sent only ${formatCount(figures.sentRate)}/s` : '',
      figures.missing ? `${formatCount(figures.missing)} lost` : '',
      Object.keys(figures.errors).length ? `errors: ${formatCounts(figures.errors)}` : '',
      figures.otherRate ? `+${formatCount(figures.otherRate)}/s announce replies` : '',
      figures.pings ? `heartbeat: ${formatCount(figures.pings)} pings` : '',
      figures.trackerGc
        ? `tracker GC: longest ${formatMs(figures.trackerGc.maxMs)} ms (${figures.trackerGc.kind}), ${formatMs(figures.trackerGc.totalMs)} ms in all`
        : '',
      figures.trackerGap
        ? `longest gap ${formatMs(figures.trackerGap.wallMs)} ms with ${formatMs(figures.trackerGap.cpuMs)} ms CPU in it`
        : '',
    ].filter(Boolean)
    console.log(
      `    ${formatCount(rate).padStart(8)}  ${formatCount(figures.achievedRate).padStart(10)}` +
        `  ${formatMs(figures.p50).padStart(8)}  ${formatMs(figures.p99).padStart(8)}  ${formatMs(figures.max).padStart(8)}` +
        `  ${`${figures.trackerCpuPercent.toFixed(0)} %`.padStart(12)}  ${formatMs(figures.trackerLoopMaxMs).padStart(8)}` +
        `  ${`${figures.generatorCpuPercent.toFixed(0)} %`.padStart(15)}  ${formatMs(figures.generatorLoopMaxMs).padStart(8)}` +
        `  ${notes.join('; ')}`,
    )
    // Past the rate that gets through, higher rates only pile up a backlog. A latency failure alone may be
    // a one-off stall, so stepping goes on until a second one in a row.
    const previous = steps.at(-2)
    if (figures.achievedRate < SATURATION_MIN_DELIVERED * rate) break
    if (figures.saturated && previous?.saturated) break
  }
  const attack = withSearchAttack ? await searchUnderAttack(tracker, step, options) : undefined
  const memory = tracker.memory()
  console.log(
    `  tracker after the relay: RSS ${formatMiB(memory.rssBytes)} MiB, peak ${formatMiB(memory.peakRssBytes)} MiB`,
  )
  return {
    backgroundPeers,
    pairs: options.relayPairs,
    steps,
    ...relayLimits(steps),
    rssAfterBytes: memory.rssBytes,
    peakRssBytes: memory.peakRssBytes,
    ...(attack ? { attack } : {}),
  }
}

/**
 * The relay at the SPEC's 2,000 msg/s, alternately without and with hostile searches from one address at
 * its catalog budget (search-attack.ts): relay latency and tracker stalls of each, and what the attack got.
 */
async function searchUnderAttack(
  tracker: Deployment,
  step: (rate: number, durationMs: number) => Promise<StepFigures>,
  options: Options,
): Promise<AttackRound[]> {
  console.log(
    `  search under attack: relay at ${formatCount(TARGET_RELAY_RATE)}/s; ${ATTACK_CONNECTIONS} connections from` +
      ` ${ATTACK_ADDRESS} each sending ${ATTACK_SEARCHES_PER_SECOND} two-character searches a second` +
      ` (no trigram: every name is checked); the address's budget is ${formatCount(ADDRESS_RECORDS_PER_SECOND)} records/s`,
  )
  console.log(
    '    round  relay             p50 ms    p99 ms    max ms  tracker stall ms   searches run / refused   records/s',
  )
  const rounds: AttackRound[] = []
  const line = (round: number, label: string, figures: StepFigures, extra = '') =>
    console.log(
      `    ${String(round).padStart(5)}  ${label.padEnd(14)}  ${formatMs(figures.p50).padStart(8)}  ${formatMs(figures.p99).padStart(8)}` +
        `  ${formatMs(figures.max).padStart(8)}  ${formatMs(figures.trackerLoopMaxMs).padStart(16)}${extra}`,
    )
  for (let round = 1; round <= options.attackRounds; round++) {
    await sleep(PAUSE_MS)
    const quiet = await step(TARGET_RELAY_RATE, options.stepMs)
    line(round, 'quiet', quiet)
    await sleep(PAUSE_MS)
    const attack = await SearchAttack.start(tracker.url)
    await sleep(ATTACK_LEAD_MS)
    const before = (await tracker.stats()).recordsTouched
    const startedAt = performance.now()
    const hostile = await step(TARGET_RELAY_RATE, options.stepMs)
    const counts = { ...attack.stop() } // the lead included: every search it sent
    const touched = (await tracker.stats()).recordsTouched - before
    const recordsPerSecond = touched / ((performance.now() - startedAt) / 1000)
    const other = Object.keys(counts.other).length ? `; other replies: ${formatCounts(counts.other)}` : ''
    line(
      round,
      'under attack',
      hostile,
      `   ${formatCount(counts.answered).padStart(11)} / ${formatCount(counts.limited).padEnd(9)}` +
        `  ${formatCount(Math.round(recordsPerSecond)).padStart(9)}${other}`,
    )
    rounds.push({ quiet, hostile, attack: counts, recordsPerSecond })
  }
  return rounds
}

/** Reads the limits off the steps run; a limit not reached among the rates tried is null. */
function relayLimits(steps: readonly StepFigures[]): RelayLimits {
  const before = (failed: (s: StepFigures) => boolean): Limit => {
    const index = steps.findIndex(failed)
    if (index === -1) return { rate: steps.at(-1)?.targetRate ?? 0, atLeast: true }
    return { rate: index === 0 ? 0 : steps[index - 1]!.targetRate, atLeast: false }
  }
  const first = steps.find((s) => s.saturated)
  return {
    saturationRate: first ? first.targetRate : null,
    p99Under100UpTo: before((s) => s.p99 > SATURATION_P99_MS),
    heldUpTo: before((s) => s.achievedRate < SATURATION_MIN_DELIVERED * s.targetRate),
  }
}

const upTo = (limit: Limit) =>
  limit.rate === 0
    ? 'not even the lowest rate'
    : limit.atLeast
      ? `≥ ${formatCount(limit.rate)}/s (no step failed)`
      : `${formatCount(limit.rate)}/s`

function printSummary(runs: LoadRun[], options: Options): void {
  const find = (kind: TrackerKind, peers: number) =>
    runs.find((r) => r.tracker === kind && r.peers === peers && r.label === 'one process')
  console.log('\n== Side by side')
  console.log(
    '  Tracker RSS in MiB with N peers, 100 files (info_hashes) each: settled / after a full GC / peak in the relay',
  )
  for (const peers of options.peers) {
    const cell = (run: LoadRun | undefined) =>
      run
        ? `${formatMiB(run.rssBytes)} / ${formatMiB(run.rssAfterGcBytes)} / ${run.relay ? formatMiB(run.relay.peakRssBytes) : '—'}`
        : '—'
    console.log(
      `    ${formatCount(peers).padStart(7)} peers   Swarmdrop ${cell(find('swarmdrop', peers)).padEnd(16)}` +
        `  bittorrent-tracker ${cell(find('bittorrent-tracker', peers))}`,
    )
  }
  for (const peers of options.peers) {
    const ours = find('swarmdrop', peers)?.relay
    const theirs = find('bittorrent-tracker', peers)?.relay
    console.log(`  Relay with ${formatCount(peers)} idle peers connected: p50 / p99 in ms (achieved/s)`)
    for (const rate of options.rates) {
      const cell = (relay: RelayRun | undefined) => {
        const step = relay?.steps.find((s) => s.targetRate === rate)
        return step
          ? `${formatMs(step.p50)} / ${formatMs(step.p99)} (${formatCount(step.achievedRate)})${step.saturated ? ' SAT' : ''}`
          : '—'
      }
      console.log(
        `    ${formatCount(rate).padStart(7)}/s   Swarmdrop ${cell(ours).padEnd(26)}  bittorrent-tracker ${cell(theirs)}`,
      )
    }
    const limits = (relay: RelayRun | undefined) =>
      relay
        ? `saturates at ${relay.saturationRate === null ? 'none tried' : `${formatCount(relay.saturationRate)}/s`},` +
          ` p99 ≤ 100 ms up to ${upTo(relay.p99Under100UpTo)}, holds ≥ 90% up to ${upTo(relay.heldUpTo)}`
        : '—'
    console.log(`    Swarmdrop:          ${limits(ours)}`)
    console.log(`    bittorrent-tracker: ${limits(theirs)}`)
    if (ours?.attack) {
      const p99s = (pick: (round: AttackRound) => StepFigures) =>
        ours.attack!.map((round) => formatMs(pick(round).p99)).join(', ')
      console.log(
        `    Swarmdrop search under attack at ${formatCount(TARGET_RELAY_RATE)}/s: relay p99 ${p99s((r) => r.hostile)} ms` +
          ` under attack against ${p99s((r) => r.quiet)} ms without (each round)`,
      )
    }
  }

  console.log(`\n== SPEC §7 targets (at ${formatCount(TARGET_RSS_PEERS)} peers)`)
  const check = (ok: boolean | undefined, text: string) =>
    console.log(`  ${ok === undefined ? 'NOT SHOWN' : ok ? 'MET      ' : 'MISSED   '}  ${text}`)
  const ours = find('swarmdrop', TARGET_RSS_PEERS)
  const theirs = find('bittorrent-tracker', TARGET_RSS_PEERS)
  if (!ours) {
    console.log(`  not checked: run with --peers ${TARGET_RSS_PEERS}`)
    return
  }
  const peak = ours.relay?.peakRssBytes ?? ours.peakRssBytes
  check(
    ours.rssBytes < TARGET_RSS_BYTES && peak < TARGET_RSS_BYTES,
    `10,000 peers × 100 files < 512 MiB RSS: ${formatMiB(ours.rssBytes)} MiB settled, ${formatMiB(peak)} MiB peak`,
  )
  const at2000 = ours.relay?.steps.find((s) => s.targetRate === TARGET_RELAY_RATE)
  check(
    at2000 ? at2000.p99 < TARGET_RELAY_P99_MS && !at2000.saturated : undefined,
    `relay p99 < 10 ms at 2,000 msg/s: ${at2000 ? `${formatMs(at2000.p99)} ms` : 'rate not run'}`,
  )
  const ourRelay = ours.relay
  const theirRelay = theirs?.relay
  if (!ourRelay || !theirRelay) {
    console.log('  not compared: run both trackers (--trackers swarmdrop,bittorrent-tracker)')
    return
  }
  const theirStep = (rate: number) => theirRelay.steps.find((t) => t.targetRate === rate)
  const common = ourRelay.steps.filter((s) => theirStep(s.targetRate))
  const lower = common.filter((s) => s.p99 < theirStep(s.targetRate)!.p99)
  check(
    common.length > 0 ? lower.length === common.length : undefined,
    `lower p99 than bittorrent-tracker: lower at ${lower.length} of the ${common.length} rates both ran` +
      ` (${common.map((s) => `${formatCount(s.targetRate)}: ${formatMs(s.p99)} vs ${formatMs(theirStep(s.targetRate)!.p99)}`).join('; ')})`,
  )
  const ourSaturation = ourRelay.saturationRate ?? Number.POSITIVE_INFINITY
  const theirSaturation = theirRelay.saturationRate ?? Number.POSITIVE_INFINITY
  const neither = ourSaturation === Number.POSITIVE_INFINITY && theirSaturation === Number.POSITIVE_INFINITY
  const named = (rate: number) =>
    rate === Number.POSITIVE_INFINITY ? 'none of the rates tried' : `${formatCount(rate)}/s`
  check(
    neither ? undefined : ourSaturation > theirSaturation,
    `higher saturation rate than bittorrent-tracker: ${named(ourSaturation)} against ${named(theirSaturation)}` +
      (neither ? ' (neither saturated: raise --rates)' : ''),
  )
}

/**
 * Swarmdrop's set-ups side by side (the baseline build, one process, N instances on Redis): memory, the
 * relay at the SPEC's 2,000/s, where it saturates, and the server CPU a relayed message costs, which is
 * what projects a rate per core when the instances and Redis share fewer cores than they would in the field.
 */
function printSwarmdropSetups(runs: LoadRun[], options: Options): void {
  const ours = runs.filter((run) => run.tracker === 'swarmdrop')
  if (ours.length < 2) return
  console.log('\n== Swarmdrop set-ups side by side')
  for (const peers of options.peers) {
    const here = ours.filter((run) => run.peers === peers)
    const single = here.find((run) => run.label === 'one process')
    console.log(`  ${formatCount(peers)} peers × ${FILES_PER_PEER} files`)
    console.log(
      '    set-up                 RSS settled / peak MiB   Redis used / RSS MiB   total MiB' +
        '   2,000/s p50 / p99 ms   holds ≥ 90% up to   saturates at   msgs per server CPU-second (at 2,000/s)',
    )
    for (const run of here) {
      const at2000 = run.relay?.steps.find((s) => s.targetRate === TARGET_RELAY_RATE)
      const perCpuSecond =
        at2000 && at2000.trackerCpuPercent > 0 ? at2000.achievedRate / (at2000.trackerCpuPercent / 100) : 0
      const redis = run.redis ? `${formatMiB(run.redis.usedBytes)} / ${formatMiB(run.redis.rssBytes)}` : '—'
      const total = run.rssBytes + (run.redis?.rssBytes ?? 0)
      const saturation = run.relay?.saturationRate
      console.log(
        `    ${run.label.padEnd(21)}  ${`${formatMiB(run.rssBytes)} / ${formatMiB(run.relay?.peakRssBytes ?? run.peakRssBytes)}`.padStart(22)}` +
          `   ${redis.padStart(20)}   ${formatMiB(total).padStart(9)}` +
          `   ${(at2000 ? `${formatMs(at2000.p50)} / ${formatMs(at2000.p99)}` : '—').padStart(20)}` +
          `   ${(run.relay ? upTo(run.relay.heldUpTo) : '—').padStart(17)}` +
          `   ${(saturation === undefined ? '—' : saturation === null ? 'none tried' : `${formatCount(saturation)}/s`).padStart(12)}` +
          `   ${formatCount(perCpuSecond).padStart(8)}`,
      )
    }
    if (!single?.relay) continue
    for (const run of here) {
      if (run === single || !run.relay) continue
      const ratio = (a: Limit, b: Limit) => (b.rate === 0 ? '—' : `${(a.rate / b.rate).toFixed(2)}×`)
      console.log(
        `    ${run.label}: holds ≥ 90% up to ${ratio(run.relay.heldUpTo, single.relay.heldUpTo)} of one process's rate;` +
          ` memory ${((run.rssBytes + (run.redis?.rssBytes ?? 0)) / single.rssBytes).toFixed(2)}× one process's RSS`,
      )
    }
  }
}

/** Other work on the machine steals the cores the trackers and the generator share: say so. */
function warnIfBusy(when: string): void {
  const [oneMinute] = loadavg()
  const note =
    oneMinute! > BUSY_LOAD_AVERAGE ? ': other processes were using the CPU; figures are pessimistic' : ''
  console.log(`  load average ${when}: ${oneMinute!.toFixed(2)}${note}`)
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const largest = Math.max(...options.peers)
  const fdsNeeded = largest + 2 * options.relayPairs + SPARE_FDS
  const fdLimit = openFilesLimit()
  if (fdLimit < fdsNeeded) {
    console.error(
      `tracker-load: needs ${fdsNeeded} open files per process (the generator and each tracker hold one socket per peer)` +
        ` but the limit is ${fdLimit}. Run it through \`npm run bench\`, which raises it, or \`ulimit -n 65536\` first.`,
    )
    process.exit(2)
  }
  const maxSenderRate = options.rates.at(-1)! / 2 / options.relayPairs
  console.log(
    'tracker-load: Swarmdrop tracker vs bittorrent-tracker (WebSocket), each in its own child process',
  )
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${formatMiB(totalmem())} MiB; Node ${process.version};` +
      ` ${new Date().toISOString()}`,
  )
  console.log(
    `  load: ${options.workers} worker threads in this process; they and the tracker child share the` +
      ` ${cpus().length} cores, so figures are lower bounds and the CPU columns say who was busy`,
  )
  console.log(
    `  files: pool = max(${MIN_POOL_FILES}, peers × ${FILES_PER_PEER} / ${HOLDERS_PER_FILE}), so each file has` +
      ` about ${HOLDERS_PER_FILE} holders; 1 holding in 10 is partial (a bitfield); the rest are seeders`,
  )
  console.log(
    `  Swarmdrop limits: all defaults (connectionsPerAddress ${DEFAULT_TRACKER_LIMITS.connectionsPerAddress},` +
      ` messagesPerSecond ${DEFAULT_TRACKER_LIMITS.messagesPerSecond}, burst ${DEFAULT_TRACKER_LIMITS.messageBurst}):` +
      ` the simulated peers come from 127.x.y.z loopback addresses, ${PEERS_PER_ADDRESS} each; the relay is spread over` +
      ` ${formatCount(2 * options.relayPairs)} connections, at most ${maxSenderRate.toFixed(1)} msg/s each`,
  )
  if (maxSenderRate > MAX_SENDER_RATE) {
    console.log(
      `  WARNING: ${maxSenderRate.toFixed(1)} msg/s per sender is above ${MAX_SENDER_RATE}/s: Swarmdrop may rate-limit; raise --relay-pairs`,
    )
  }
  console.log(
    `  relay: offer → answer between pairs, ${SDP_BYTES}-byte SDP; a rate counts offers and answers; latency is` +
      ' send → arrival on the same thread clock; saturated = first rate where less than' +
      ` ${SATURATION_MIN_DELIVERED * 100}% gets through within the step or p99 > ${SATURATION_P99_MS} ms`,
  )
  if (options.heartbeatMs) {
    console.log(
      `  DIAGNOSIS: Swarmdrop's heartbeat set to ${formatCount(options.heartbeatMs)} ms` +
        ` (default ${formatCount(DEFAULT_HEARTBEAT_MS)}); these figures are not the product's`,
    )
  }
  warnIfBusy('at the start')
  const bundles = await buildBundles(options.baseline)
  const runs: LoadRun[] = []
  for (const peers of options.peers) {
    for (const kind of options.trackers) {
      for (const setup of setupsFor(kind, options, bundles)) {
        runs.push(await runLoad(setup, peers, options, bundles))
        warnIfBusy(`after ${TRACKER_NAMES[kind]} (${setup.label})`)
      }
    }
  }
  warnIfBusy('at the end (this run itself counts here)')
  printSummary(runs, options)
  printSwarmdropSetups(runs, options)
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `tracker-load-${new Date().toISOString().replaceAll(':', '-')}.json`)
  writeFileSync(file, `${JSON.stringify({ options, runs }, null, 2)}\n`)
  console.log(`\nfigures saved to ${file}`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`tracker-load failed: ${error instanceof Error ? error.stack : String(error)}`)
    process.exit(1)
  },
)
