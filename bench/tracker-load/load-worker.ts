/**
 * A load-generating worker thread: holds a share of the simulated peers and runs, on command, each phase
 * of the benchmark for them. The main thread times the phases and merges the workers' figures.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'
import { BittorrentLoad } from './bittorrent-client.js'
import type { Command, CommandResult, RelayStepResult, WorkerInit, WorkerReply } from './commands.js'
import type { LoadClient, RelayPair } from './load-client.js'
import { SwarmdropLoad } from './swarmdrop-client.js'
import { RelayRecorder, sleep } from './tally.js'

/** The send schedule's tick: offers due since the last tick go out together. */
const TICK_MS = 1
/** How often the drain checks whether every offer and answer has arrived. */
const DRAIN_POLL_MS = 10

const init = workerData as WorkerInit
const recorder = new RelayRecorder()
const client: LoadClient =
  init.kind === 'swarmdrop'
    ? new SwarmdropLoad(init.urls, recorder, init.workerIndex)
    : new BittorrentLoad(init.urls[0]!, recorder)

async function run(command: Command): Promise<CommandResult> {
  switch (command.op) {
    case 'connect':
      return client.connect(command.firstPeer, command.count)
    case 'prepare':
      client.prepare(command.poolSize)
      return {}
    case 'announce':
      return client.announce()
    case 'catalog':
      return client.catalog()
    case 'search':
      return client.search(command.count)
    case 'peers':
      return client.peers()
    case 'relay-setup':
      return client.relaySetup(command.pairs)
    case 'relay-step':
      return relayStep(client.pairs, command.offersPerSecond, command.durationMs, command.drainMs)
    case 'close':
      client.close()
      return {}
  }
}

/**
 * Sends offers at a fixed rate for `durationMs` (open loop: the schedule does not wait for replies), each
 * pair in turn so every connection sends at the same low rate, then waits up to `drainMs` for stragglers.
 */
async function relayStep(
  pairs: readonly RelayPair[],
  offersPerSecond: number,
  durationMs: number,
  drainMs: number,
): Promise<RelayStepResult> {
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  recorder.start(durationMs)
  const started = performance.now()
  let sent = 0
  let next = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - started, durationMs)
      const due = Math.floor((elapsed * offersPerSecond) / 1000)
      // At most one offer per pair a tick: a generator that fell behind catches up without bursting
      // a single connection past the server's per-connection rate limit.
      for (let budget = pairs.length; sent < due && budget > 0; budget--) {
        pairs[next]!.offer(sent)
        next = (next + 1) % pairs.length
        sent++
      }
      if (elapsed >= durationMs) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  const drainUntil = performance.now() + drainMs
  while (recorder.delivered < sent * 2 && performance.now() < drainUntil) await sleep(DRAIN_POLL_MS)
  loop.disable()
  const NS_PER_MS = 1e6
  return recorder.result(Math.floor((durationMs * offersPerSecond) / 1000), sent, loop.max / NS_PER_MS)
}

parentPort!.on('message', async ({ id, command }: { id: number; command: Command }) => {
  let reply: WorkerReply
  try {
    reply = { id, ok: true, result: await run(command) }
  } catch (error) {
    reply = { id, ok: false, error: (error as Error).message }
  }
  // Latency arrays move to the main thread instead of being copied.
  const latencies = reply.ok && 'latenciesMs' in reply.result ? reply.result.latenciesMs : undefined
  parentPort!.postMessage(reply, latencies ? [latencies.buffer as ArrayBuffer] : [])
})
