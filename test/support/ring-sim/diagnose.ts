/**
 * Why lookups failed (issue 12, hostile nodes at N = 10,000): for each failed lookup, the key's replicas
 * (hostile, honest holding the record, honest without it) and, looked up again from the same node with
 * the network tapped, where each attempt's route went and where it stopped — at a hostile node that
 * swallowed it, or at the replicas, and what came back to the asker.
 */
import { parseRingMessage } from '../../../shared/ring-protocol.js'
import { recordSlot } from '../../../shared/ring-records.js'
import { lowerBound } from './invariants.js'
import type { LookupOutcome } from './scenarios.js'
import type { SimNode, Simulation } from './simulation.js'

export interface FailureClass {
  /** Per replica of the key, in order: H hostile, + honest with the record, - honest without it. */
  replicas: string
  /** The lookup tried again from the same node, tapped: did it succeed this time. */
  retrySucceeded: boolean
  /** Per attempt of the retried lookup: the route's nodes (H marks hostile), and how it ended. */
  attempts: string[]
  /** Answers the asker got: records (verified or not is the lookup's business), empty, failed codes. */
  answers: string[]
  /** Attempts of the retried lookup that ended at a hostile node on the way (not a replica asked). */
  swallowed: number
  /** Attempts that were handed to replicas (`deliver`). */
  delivered: number
}

/** Counts over classified failures: what a table row says. */
export function summariseFailures(classes: FailureClass[]): string {
  const count = (test: (c: FailureClass) => boolean) => classes.filter(test).length
  const attempts = classes.reduce((sum, c) => sum + c.attempts.length, 0)
  const swallowed = classes.reduce((sum, c) => sum + c.swallowed, 0)
  const delivered = classes.reduce((sum, c) => sum + c.delivered, 0)
  return (
    `${classes.length} failures: no honest copy ${count((c) => !c.replicas.includes('+'))}, ` +
    `an honest replica without the record ${count((c) => c.replicas.includes('-'))}, ` +
    `found when asked again ${count((c) => c.retrySucceeded)}; ` +
    `their ${attempts} attempts again: ${swallowed} swallowed on the way, ${delivered} handed to replicas`
  )
}

/** Classifies up to `limit` failures of `outcome`; lookups are run again one by one (simulated time passes). */
export async function classifyFailures(
  sim: Simulation,
  outcome: LookupOutcome,
  limit = 50,
): Promise<FailureClass[]> {
  const byPeer = new Map<string, SimNode>()
  for (const node of sim.nodes.values()) byPeer.set(node.peerId, node)
  const out: FailureClass[] = []
  for (const { from, target } of outcome.failures.slice(0, limit)) {
    if (!from.alive) continue
    const nowS = Math.floor(sim.now / 1000)
    const members = sim
      .liveMembers()
      .map((node) => node.id)
      .sort()
    const owner = lowerBound(members, target.key) % members.length
    // A node near the key by its place from the key's owner (r0 the owner, r3 the 4th replica, p1 the
    // owner's predecessor), others by their id; H marks a hostile one.
    const mark = (peerId: string) => {
      const node = byPeer.get(peerId)
      if (!node) return peerId.slice(0, 4)
      const n = members.length
      const offset = (((lowerBound(members, node.id) - owner) % n) + n) % n
      const place = offset < 20 ? `r${offset}` : n - offset <= 20 ? `p${n - offset}` : node.id.slice(0, 4)
      return `${place}${node.hostile ? 'H' : ''}`
    }
    let at = owner
    let replicas = ''
    for (let i = 0; i < 8 && i < members.length; i++) {
      const node = sim.nodes.get(members[at]!)!
      const held = node.node.store
        .recordsUnder(target.key, nowS)
        .some((record) => recordSlot(record) === recordSlot(target.record))
      replicas += node.hostile ? 'H' : held ? '+' : '-'
      at = (at + 1) % members.length
    }
    // Routes by attempt: the hops each route message took (a route's req changes each hop, so follow
    // the key and the attempt number).
    const paths = new Map<number, string[]>()
    const ends = new Map<number, string>()
    const answers: string[] = []
    sim.network.tap = (fromPeer, toPeer, payload) => {
      const parsed = parseRingMessage(payload)
      if (!parsed.ok) return
      const message = parsed.message
      if (message.type === 'route' && message.key === target.key && message.request.op === 'get') {
        const path = paths.get(message.attempt) ?? [mark(fromPeer)]
        path.push(`${message.deliver ? '>' : ''}${mark(toPeer)}`)
        paths.set(message.attempt, path)
        ends.set(message.attempt, toPeer)
      } else if (message.type === 'route-reply' && toPeer === from.peerId) {
        const result = message.result
        answers.push(
          `${mark(sim.nodes.get(message.from)?.peerId ?? message.from)}:` +
            (result.op === 'records'
              ? `${result.records.length} rec`
              : result.op === 'failed'
                ? result.code
                : result.op),
        )
      }
    }
    const result = await sim.lookup(from, target.record.kind, target.key)
    sim.network.tap = null
    const ended = [...ends.entries()]
    out.push({
      swallowed: ended.filter(
        ([attempt, peer]) => byPeer.get(peer)?.hostile && !paths.get(attempt)!.at(-1)!.startsWith('>'),
      ).length,
      delivered: [...paths.values()].filter((path) => path.some((hop) => hop.startsWith('>'))).length,
      replicas,
      retrySucceeded: result.records.some((record) => recordSlot(record) === recordSlot(target.record)),
      attempts: [...paths.entries()]
        .sort(([a], [b]) => a - b)
        .map(
          ([attempt, path]) =>
            `#${attempt} ${path.join(' ')}${byPeer.get(ends.get(attempt)!)?.hostile ? ' [swallowed]' : ''}`,
        ),
      answers,
    })
  }
  return out
}
