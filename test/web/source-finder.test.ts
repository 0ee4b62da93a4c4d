/**
 * SourceFinder alone: a fake tracker, a fake swarm whose dials succeed or fail as the test says, and a fake
 * clock, so that back-off, refresh and reporting are checked to the millisecond without any network.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { type ErrorCode, SwarmError } from '../../shared/errors.js'
import { type DownloadState, MAX_SOURCES_PER_FILE } from '../../web/peer/download.js'
import type { PeerSession } from '../../web/peer/peer-session.js'
import {
  RECONNECT_DELAY_MS,
  SOURCE_REFRESH_MS,
  SourceFinder,
  type SourceSwarm,
  UNREACHABLE_RETRY_MAX_MS,
  UNREACHABLE_RETRY_MS,
} from '../../web/peer/source-finder.js'
import { FakeClock } from '../support/fake-clock.js'

class FakeDownload {
  state: DownloadState = 'downloading'
  readonly sources = new Set<string>()

  get sourceIds(): string[] {
    return [...this.sources]
  }

  get wantsSources(): boolean {
    return this.state === 'downloading' && this.sources.size < MAX_SOURCES_PER_FILE
  }

  hasSource(peerId: string): boolean {
    return this.sources.has(peerId)
  }

  addSource(session: PeerSession): void {
    this.sources.add(session.peerId)
  }
}

/** Peers the fake tracker lists, how a dial to each ends, and every dial made. */
class FakeSwarm implements SourceSwarm {
  readonly downloads = new Map<string, FakeDownload>()
  /** A peer listed here fails every dial with this code; any other peer answers. */
  readonly failWith = new Map<string, ErrorCode>()
  readonly dials: { peerId: string; atMs: number }[] = []

  constructor(private readonly clock: FakeClock) {}

  session(peerId: string): Promise<PeerSession> {
    this.dials.push({ peerId, atMs: this.clock.now() })
    const code = this.failWith.get(peerId)
    if (code) return Promise.reject(new SwarmError(code, `${peerId}: ${code}`))
    // The finder reads only the peer id of a session and hands the session on to the download.
    return Promise.resolve({ peerId } as PeerSession)
  }

  getDownload(digest: string): FakeDownload | undefined {
    return this.downloads.get(digest)
  }

  isBanned(): boolean {
    return false
  }
}

const DIGEST = 'a'.repeat(64)
const finders: SourceFinder[] = []

afterEach(() => {
  for (const finder of finders.splice(0)) finder.destroy()
})

function setup(peerIds: string[] = ['far']) {
  const clock = new FakeClock()
  const swarm = new FakeSwarm(clock)
  const tracker = {
    online: true,
    isOnline: () => tracker.online,
    peers: async () => ({ peers: peerIds.map((peerId) => ({ peerId })) }),
  }
  const finder = new SourceFinder({ tracker, swarm, clock })
  finders.push(finder)
  const problems: { digest: string; code: ErrorCode }[] = []
  finder.on('problem', ({ digest, error }) => problems.push({ digest, code: error.code }))
  const download = new FakeDownload()
  swarm.downloads.set(DIGEST, download)
  return { clock, swarm, tracker, finder, problems, download }
}

/** Lets the finder's promise chains (tracker reply, dials) run to their end. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** Moves the fake clock on second by second, settling after each step. */
async function run(clock: FakeClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 1000) {
    clock.advance(Math.min(1000, ms - done))
    await settle()
  }
}

describe('SourceFinder', () => {
  it('re-dials an unreachable peer after 15 s, then ever more slowly up to two minutes', async () => {
    const { clock, swarm, finder } = setup()
    swarm.failWith.set('far', 'NAT_BLOCKED')
    await finder.find(DIGEST)
    await run(clock, 400_000)

    // Dialled at 0, 15, 45, 105, 225 and 345 s: 15, 30, 60, 120, 120 s apart.
    const gaps = swarm.dials.slice(1).map((d, i) => d.atMs - swarm.dials[i]!.atMs)
    expect(swarm.dials[0]!.atMs).toBe(0)
    expect(gaps).toEqual([
      UNREACHABLE_RETRY_MS,
      2 * UNREACHABLE_RETRY_MS,
      4 * UNREACHABLE_RETRY_MS,
      UNREACHABLE_RETRY_MAX_MS,
      UNREACHABLE_RETRY_MAX_MS,
    ])
  })

  it('dials the holders the tracker pushes at once, not at the next refresh, and only while sources are wanted', async () => {
    const { swarm, finder, download } = setup([])
    await finder.find(DIGEST)
    finder.offer(DIGEST, ['late', 'later'])
    await settle()
    expect(swarm.dials.map((d) => [d.peerId, d.atMs])).toEqual([
      ['late', 0],
      ['later', 0],
    ])
    expect(download.sourceIds).toEqual(['late', 'later'])
    finder.offer(DIGEST, ['late']) // a source already: not dialled again
    download.state = 'complete'
    finder.offer(DIGEST, ['after']) // nothing more wanted
    finder.offer('b'.repeat(64), ['other']) // no such download
    await settle()
    expect(swarm.dials).toHaveLength(2)
  })

  it('dials a peer that only answered busy again on the next refresh', async () => {
    const { clock, swarm, finder } = setup()
    swarm.failWith.set('far', 'PEER_BUSY')
    await finder.find(DIGEST)
    await run(clock, 3 * SOURCE_REFRESH_MS)
    expect(swarm.dials.map((d) => d.atMs)).toEqual([0, 5_000, 10_000, 15_000])
  })

  it('dials a peer that left no more than once a refresh, and not at all once the tracker stops listing it', async () => {
    // The dial fails at once (PEER_NOT_FOUND): it starts no backoff, but neither does it bring the refresh on.
    const listed = ['gone']
    const { clock, swarm, finder, problems } = setup(listed)
    swarm.failWith.set('gone', 'PEER_NOT_FOUND')
    await finder.find(DIGEST)
    await run(clock, SOURCE_REFRESH_MS)
    expect(swarm.dials.map((d) => d.atMs)).toEqual([0, 5_000])
    // The tracker forgot it when it left: the next list, taken after that, no longer names it.
    listed.length = 0
    await run(clock, 3 * SOURCE_REFRESH_MS)
    expect(swarm.dials).toHaveLength(2)
    expect(problems).toEqual([{ digest: DIGEST, code: 'PEER_NOT_FOUND' }])
  })

  it('says once why no source can be reached, however many refreshes fail the same way', async () => {
    const { clock, swarm, finder, problems } = setup(['near', 'far'])
    swarm.failWith.set('near', 'PEER_UNREACHABLE')
    swarm.failWith.set('far', 'NAT_BLOCKED')
    await finder.find(DIGEST)
    await run(clock, 300_000)
    expect(swarm.dials.length).toBeGreaterThan(4)
    // The most telling of the failures, and only once.
    expect(problems).toEqual([{ digest: DIGEST, code: 'NAT_BLOCKED' }])
  })

  it('says so again when a later failure tells more, or after the download had a source', async () => {
    const { clock, swarm, finder, problems, download } = setup()
    swarm.failWith.set('far', 'PEER_UNREACHABLE')
    await finder.find(DIGEST)
    await run(clock, UNREACHABLE_RETRY_MS)
    expect(problems.map((p) => p.code)).toEqual(['PEER_UNREACHABLE'])

    swarm.failWith.set('far', 'UDP_BLOCKED')
    await run(clock, 2 * UNREACHABLE_RETRY_MS)
    expect(problems.map((p) => p.code)).toEqual(['PEER_UNREACHABLE', 'UDP_BLOCKED'])

    // It had a source for a while, then lost it: the same failure is news again.
    download.sources.add('other')
    finder.noteSourced(DIGEST)
    download.sources.delete('other')
    await run(clock, 4 * UNREACHABLE_RETRY_MS)
    expect(problems.map((p) => p.code)).toEqual(['PEER_UNREACHABLE', 'UDP_BLOCKED', 'UDP_BLOCKED'])
  })

  it('calls a peer it reached before, and cannot reach now, unreachable: not NAT_BLOCKED', async () => {
    const { clock, swarm, finder, problems, download } = setup()
    await finder.find(DIGEST)
    expect(download.sourceIds).toEqual(['far'])
    // The path between the two goes down: the session closes and the redial fails as ICE sees it.
    download.sources.delete('far')
    swarm.failWith.set('far', 'NAT_BLOCKED')
    finder.onSessionClosed('far')
    await run(clock, RECONNECT_DELAY_MS)
    expect(problems).toEqual([{ digest: DIGEST, code: 'PEER_UNREACHABLE' }])
  })

  it('ends a peer’s backoff once a session with it opens, whichever side dialled', async () => {
    const { clock, swarm, finder, download } = setup()
    swarm.failWith.set('far', 'PEER_UNREACHABLE')
    await finder.find(DIGEST)
    expect(swarm.dials).toHaveLength(1)
    // The peer dials us (or a glare resolves its way) before our backoff of 15 s is over.
    swarm.failWith.delete('far')
    finder.onSession('far')
    await run(clock, SOURCE_REFRESH_MS)
    expect(swarm.dials.map((d) => d.atMs)).toEqual([0, SOURCE_REFRESH_MS])
    expect(download.sourceIds).toEqual(['far'])
  })

  it('says nothing when a peer is only busy, nor when the download has a source', async () => {
    const { clock, swarm, finder, problems, download } = setup(['busy', 'far'])
    swarm.failWith.set('busy', 'PEER_BUSY')
    await finder.find(DIGEST)
    expect(download.sourceIds).toEqual(['far'])
    swarm.failWith.set('far', 'PEER_UNREACHABLE')
    await run(clock, 60_000)
    expect(problems).toEqual([])
  })

  it('tells of a file nobody holds', async () => {
    const { finder, tracker, problems } = setup()
    tracker.peers = () => Promise.reject(new SwarmError('FILE_NOT_FOUND', 'no such file'))
    await finder.find(DIGEST)
    expect(problems).toEqual([{ digest: DIGEST, code: 'FILE_NOT_FOUND' }])
  })

  it('asks again soon after a source session closed, well before the next refresh', async () => {
    const { clock, swarm, finder, download } = setup()
    await finder.find(DIGEST)
    expect(download.sourceIds).toEqual(['far'])
    // The session closed: the download drops the source, the swarm tells the finder.
    download.sources.delete('far')
    finder.onSessionClosed('far')
    await run(clock, RECONNECT_DELAY_MS)
    expect(swarm.dials.map((d) => d.atMs)).toEqual([0, RECONNECT_DELAY_MS])
    expect(download.sourceIds).toEqual(['far'])
  })

  it('dials a peer once for every download that wants it at the same time', async () => {
    const { swarm, finder, download } = setup()
    const other = new FakeDownload()
    swarm.downloads.set('b'.repeat(64), other)
    await Promise.all([finder.find(DIGEST), finder.find('b'.repeat(64))])
    expect(swarm.dials).toHaveLength(1)
    expect(download.sourceIds).toEqual(['far'])
    expect(other.sourceIds).toEqual(['far'])
  })

  it('does not ask while the tracker is offline, and asks on the next refresh once it is back', async () => {
    const { clock, swarm, finder, tracker } = setup()
    tracker.online = false
    await finder.find(DIGEST)
    expect(swarm.dials).toEqual([])
    tracker.online = true
    await run(clock, SOURCE_REFRESH_MS)
    expect(swarm.dials.map((d) => d.atMs)).toEqual([SOURCE_REFRESH_MS])
  })

  it('stops refreshing a download it was told to forget', async () => {
    const { clock, swarm, finder } = setup()
    swarm.failWith.set('far', 'PEER_BUSY')
    await finder.find(DIGEST)
    finder.forget(DIGEST)
    expect(clock.pendingTimers).toBe(0)
    await run(clock, 60_000)
    expect(swarm.dials).toHaveLength(1)
  })

  it('dials and emits nothing after destroy, which may be called twice', async () => {
    const { clock, swarm, finder, problems } = setup()
    swarm.failWith.set('far', 'NAT_BLOCKED')
    const finding = finder.find(DIGEST) // destroyed while the tracker's reply is on its way
    finder.destroy()
    finder.destroy()
    await finding
    finder.schedule(DIGEST, 0)
    finder.onSessionClosed('far')
    await finder.find(DIGEST)
    await run(clock, 60_000)
    expect(swarm.dials).toEqual([])
    expect(problems).toEqual([])
    expect(clock.pendingTimers).toBe(0)
  })
})
