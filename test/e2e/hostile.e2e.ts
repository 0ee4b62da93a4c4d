/**
 * A hostile peer cannot slow a swarm (issue 10, SPEC §7 "hostile peers"): one Chromium seeder of a 32 MiB
 * file, honest Chromium downloaders, and attackers in this Node process, each a real tracker connection
 * dialling over @roamhq/wrtc (support/hostile-peer.ts). For each attack the honest download runs clean and
 * then under attack, in the same run; the ratio of the two times is printed, never asserted (these
 * machines are shared and noisy), as is the longest the seeder's main thread was kept from answering.
 * What is asserted is what must hold whatever the timing: every download byte-identical, no chunk served
 * before hello, an abuser not accepted again, the seeder's heap flat under 100,000 hostile frames.
 * Run by scripts/test.mjs inside a network namespace that has only `lo` (SPEC §8).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { chunkLength } from '../../shared/manifest.js'
import { encodeChunkFrames, FRAME_KIND, parseFrame } from '../../shared/wire-protocol.js'
import { ORIGIN_ABUSIVE_LINKS_BURST } from '../../web/peer/link-manager.js'
import { until } from '../support/until.js'
import { BrowserPeer, launchChromium } from './support/browsers.js'
import { type HarnessServer, serveHarness } from './support/build-harness.js'
import { type HostileLink, HostileNode } from './support/hostile-peer.js'
import { MiB, type SourceFile, writeSourceFile } from './support/source-files.js'
import { describing, finishDownload, shareFrom, startDownload } from './support/timed-download.js'

const FILE_BYTES = 32 * MiB
/** The link-cap attack as found: 34 tracker connections from one address, each re-offering every 5 s. */
const HOSTAGE_CONNECTIONS = 34
const HOSTAGE_REOFFER_MS = 5_000
/** Request-and-cancel pairs a second: 180 messages, just under the seeder's control budget (200/s). */
const PAIRS_PER_SECOND = 90
/** Hostile frames the junk case sends in all, across its links (SPEC §7: heap flat under 100,000). */
const HOSTILE_FRAMES = 100_000
/** The seeder's heap after the junk case, after a GC, stays within this of before it (SPEC §7). */
const HEAP_TOLERANCE_BYTES = 10 * MiB
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FLOOD_ATTACKER = fileURLToPath(new URL('./support/flood-attacker.ts', import.meta.url))
/** The seeder's allowance of links closed for abuse in this suite (see beforeAll). */
const SEEDER_ABUSIVE_LINKS = 1000
/** Crashes of the flood attacker's process (@roamhq/wrtc) tolerated before the case fails. */
const FLOOD_RESTARTS = 20
/** Longest the junk attacks may take to get their first link to the seeder. */
const FLOOD_LINK_TIMEOUT_MS = 30_000
/**
 * Where this case's attackers connect to the tracker from: another machine, as the tracker sees it (every
 * address of 127/8 is loopback), a new one for each case. What the seeder holds against an attacker's
 * address (link-manager.ts ORIGIN_ABUSIVE_LINKS_BURST) is then held neither against the honest browsers at
 * 127.0.0.1 nor against the next case's attacker.
 */
let attackerAddress = ''
let cases = 0
beforeEach(() => {
  attackerAddress = `127.0.0.${2 + cases++}`
})

let browser: Browser
let served: HarnessServer
let trackerUrl: string
let baseUrl: string
let sourceDir: string
let file: SourceFile
let seeder: BrowserPeer
const figures: string[] = []

beforeAll(async () => {
  sourceDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-hostile-'))
  file = await writeSourceFile(sourceDir, 'hostile 32MiB.bin', FILE_BYTES, 'hostile')
  served = await serveHarness('error')
  baseUrl = served.baseUrl
  trackerUrl = served.trackerUrl
  browser = await launchChromium()
  // Links closed for abuse do not lock every newcomer out here: an attacker rotating its address needs ~50
  // fresh peer ids to send 100,000 frames, past the tab's default allowance (16, then one each 15 s; tested
  // in link-manager.test.ts). The allowance per address stays the default (4, then one a minute).
  seeder = await BrowserPeer.open(browser, `${baseUrl}?abusiveLinksBurst=${SEEDER_ABUSIVE_LINKS}`, 'seeder')
  await shareFrom([seeder], file)
})

/** Flood attackers still running: stopped after each case, whatever happened. */
const flooding = new Set<ReturnType<typeof floodAttacker>>()
afterEach(async () => {
  await Promise.all([...flooding].map((flooder) => flooder.stop()))
  flooding.clear()
})

afterAll(async () => {
  if (figures.length > 0) {
    console.log(
      `\nhostile peers, ${FILE_BYTES / MiB} MiB from one Chromium seeder (same run):\n` +
        `| attack | clean s | attacked s | ratio | seeder's longest main-thread delay |\n|---|---|---|---|---|\n` +
        figures.join('\n'),
    )
  }
  await seeder?.close()
  await browser?.close()
  await served?.close()
  if (sourceDir) rmSync(sourceDir, { recursive: true, force: true })
  const log = served?.log ?? []
  if (log.length > 0) console.log(`server errors:\n${log.slice(-20).join('\n')}`)
})

/**
 * One honest download on a fresh Chromium profile; its seconds and the seeder's longest delay meanwhile.
 * `beforeClick` runs once the downloader's page is up, right before the click (an attack starts there, so
 * that it is under way when the download starts, not while a page loads).
 */
async function honestDownload(
  label: string,
  beforeClick?: () => Promise<void>,
): Promise<{ seconds: number; lagMs: number }> {
  const receiver = await BrowserPeer.open(browser, baseUrl, label)
  try {
    await beforeClick?.()
    await seeder.longestLag() // from here on
    const started = await startDownload(receiver, file)
    const done = await finishDownload(receiver, file, started, label, describing([seeder]))
    return { seconds: done.seconds, lagMs: await seeder.longestLag() }
  } finally {
    await receiver.close()
  }
}

/**
 * The honest download clean, then with the attack `start` starts running (until the stop it returns is
 * called); prints and records the ratio.
 */
async function measure(attack: string, start: () => Promise<() => Promise<void> | void>): Promise<void> {
  const clean = await honestDownload(`${attack}, clean`)
  const profiling = await profileSeeder(attack)
  let stop: (() => Promise<void> | void) | undefined
  let attacked: { seconds: number; lagMs: number }
  try {
    attacked = await honestDownload(`${attack}, attacked`, async () => {
      stop = await start()
    })
  } finally {
    await stop?.()
    await profiling?.()
  }
  const ratio = attacked.seconds / clean.seconds
  console.log(
    `${attack}: clean ${clean.seconds.toFixed(1)} s, attacked ${attacked.seconds.toFixed(1)} s, ratio ` +
      `${ratio.toFixed(2)}; seeder's longest main-thread delay ${clean.lagMs} ms clean, ${attacked.lagMs} ms attacked`,
  )
  figures.push(
    `| ${attack} | ${clean.seconds.toFixed(1)} | ${attacked.seconds.toFixed(1)} | ${ratio.toFixed(2)} | ${attacked.lagMs} ms |`,
  )
}

/**
 * With HOSTILE_CPU_PROFILE=DIR, records a CPU profile of the seeder's page (Chrome DevTools Protocol) from
 * the start of an attack to its end, written to DIR/<attack>.cpuprofile (open it in DevTools, or read it
 * with any .cpuprofile tool): what keeps the seeder's main thread busy. Returns the stop, or undefined.
 */
async function profileSeeder(attack: string): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.HOSTILE_CPU_PROFILE
  if (!dir) return undefined
  const cdp = await seeder.context.newCDPSession(seeder.page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 })
  await cdp.send('Profiler.start')
  return async () => {
    const { profile } = await cdp.send('Profiler.stop')
    writeFileSync(join(dir, `${attack.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`), JSON.stringify(profile))
    await cdp.detach()
  }
}

/**
 * A real offer (one data channel) as Chromium makes it, before any ICE candidate is gathered: the seeder
 * accepts it as it would a browser's, and it can never connect.
 */
async function chromiumOfferWithoutCandidates(): Promise<string> {
  const page = await browser.newPage()
  try {
    return await page.evaluate(async () => {
      const pc = new RTCPeerConnection()
      pc.createDataChannel('x')
      const offer = await pc.createOffer()
      pc.close()
      return offer.sdp ?? ''
    })
  } finally {
    await page.close()
  }
}

/** Runs `tick` every `everyMs` until the returned stop is called; errors end nothing. */
function every(everyMs: number, tick: () => Promise<void> | void): () => void {
  let running = true
  const loop = async () => {
    while (running) {
      await Promise.resolve(tick()).catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  }
  void loop()
  return () => {
    running = false
  }
}

/** A hostile node linked to the seeder, saying hello; a fresh tracker connection when the seeder refuses it. */
async function hostileLink(nodes: HostileNode[], hello = true): Promise<HostileLink> {
  for (let attempt = 0; ; attempt++) {
    const node = nodes.at(-1)
    if (node) {
      try {
        const link = await node.dial(seeder.peerId)
        if (!hello) return link
        // As a well-behaved peer: hello, and nothing more until the seeder's own hello has come.
        link.hello()
        await until(() => link.report.helloed || link.closed, "the seeder's hello")
        if (!link.closed) return link
      } catch (error) {
        if (attempt >= 20) throw error
      }
    }
    nodes.push(await HostileNode.start(trackerUrl, [], attackerAddress)) // refused: come back as a new id
  }
}

function closeAll(nodes: HostileNode[]): void {
  for (const node of nodes.splice(0)) node.close()
}

describe('a hostile peer cannot slow a swarm', () => {
  it('keeps an honest download going beside a request-and-cancel flood of real chunks', async () => {
    const nodes: HostileNode[] = []
    let pairs = 0
    await measure('request + cancel flood', async () => {
      let link = await hostileLink(nodes)
      link.control({ type: 'interested', digest: file.digest })
      let id = 0
      const stop = every(100, async () => {
        if (link.closed) link = await hostileLink(nodes)
        for (let i = 0; i < PAIRS_PER_SECOND / 10; i++) {
          id++
          link.control({ type: 'request', id, digest: file.digest, index: id % file.manifest.hashes.length })
          link.control({ type: 'cancel', id })
          pairs++
        }
      })
      return () => {
        stop()
        closeAll(nodes)
      }
    })
    console.log(
      `request + cancel flood: ${pairs} pairs sent; seeder links ${JSON.stringify(await seeder.links())}`,
    )
  })

  it('keeps an honest download going while offers that never connect try to hold the link cap', async () => {
    const nodes = await Promise.all(
      Array.from({ length: HOSTAGE_CONNECTIONS }, () => HostileNode.start(trackerUrl, [], attackerAddress)),
    )
    const sdp = await chromiumOfferWithoutCandidates()
    await measure('offers holding the link cap', async () => {
      const offerAll = () => {
        for (const node of nodes) node.offerWithoutCandidates(seeder.peerId, sdp)
      }
      const stop = every(HOSTAGE_REOFFER_MS, offerAll)
      // The attack as found holds the cap continuously: let it take hold first.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      return () => {
        stop()
        closeAll(nodes)
      }
    })
  })

  it('serves nothing asked before hello, and closes the link', async () => {
    const nodes: HostileNode[] = []
    try {
      const link = await hostileLink(nodes, false)
      for (let index = 0; index < 4; index++) {
        link.control({ type: 'request', id: index + 1, digest: file.digest, index })
      }
      await until(() => link.closed, 'the seeder to close the link of a peer that did not say hello')
      console.log(`served before hello: ${link.report.chunkBytes} chunk bytes, errors ${link.report.errors}`)
      expect(link.report.chunkBytes).toBe(0)
      expect(link.report.errors).toEqual(['HELLO_REQUIRED'])
    } finally {
      closeAll(nodes)
    }
  })

  it('does not accept again a peer it closed for a bad frame, and the download goes on meanwhile', async () => {
    const node = await HostileNode.start(trackerUrl, [], attackerAddress)
    let dials = 0
    let accepted = 0
    await measure('a banned peer re-dialling', async () => {
      const stop = every(50, async () => {
        dials++
        const link = await node.dial(seeder.peerId)
        accepted++
        // A control frame that is not JSON: closed with BAD_MESSAGE, and remembered.
        link.hello()
        link.push(new Uint8Array([FRAME_KIND.control, 0x7b]))
        await until(() => link.closed, 'the seeder to close a link that sent a bad frame')
      })
      return () => {
        stop()
        node.close()
      }
    })
    console.log(`a banned peer re-dialling: accepted ${accepted} of ${dials} dials under the same peer id`)
    expect(dials).toBeGreaterThan(5)
    expect(accepted).toBe(1)
  })

  it('keeps an honest download going beside two links flooding well-formed junk', async () => {
    let flooders: ReturnType<typeof floodAttacker>[] = []
    await measure('well-formed junk, 2 links', async () => {
      // As found: two links, each flooding as fast as it can, dialling again under its id when closed.
      flooders = [floodAttacker(HOSTILE_FRAMES, 'same'), floodAttacker(HOSTILE_FRAMES, 'same')]
      await Promise.all(flooders.map((f) => f.linked))
      return () => Promise.all(flooders.map((f) => f.stop())).then(() => {})
    })
    const sent = flooders.reduce((sum, f) => sum + f.sent, 0)
    const links = flooders.reduce((sum, f) => sum + f.links, 0)
    console.log(
      `well-formed junk, 2 links: ${sent} frames sent over ${links} links; ${JSON.stringify(await seeder.links())}`,
    )
  })

  it('keeps an honest download going beside junk from fresh peer ids, declining their address before it builds anything', async () => {
    let flooders: ReturnType<typeof floodAttacker>[] = []
    const linksBefore = await seeder.links()
    await measure('junk from fresh peer ids', async () => {
      // One attacker (one address), flooding as the first measurement did (two processes), under a new
      // tracker connection, so a new peer id, for every link.
      flooders = [
        floodAttacker(HOSTILE_FRAMES / 2, 'fresh', attackerAddress),
        floodAttacker(HOSTILE_FRAMES / 2, 'fresh', attackerAddress),
      ]
      await Promise.race(flooders.map((f) => f.linked))
      return () => Promise.all(flooders.map((f) => f.stop())).then(() => {})
    })
    const linksAfter = await seeder.links()
    const built = linksAfter.budget.built - linksBefore.budget.built
    const links = flooders.reduce((sum, f) => sum + f.links, 0)
    const declined = flooders.reduce((sum, f) => sum + f.declined, 0)
    console.log(
      `junk from fresh peer ids: ${flooders.reduce((sum, f) => sum + f.sent, 0)} frames sent over ${links} ` +
        `links, ${declined} dials declined; the seeder received ${linksAfter.framesIn - linksBefore.framesIn} ` +
        `frames and built ${built} connections (the honest downloaders' two among them)`,
    )
    // Its address's allowance, and at most one more from its refill within the case's minute or two.
    expect(links).toBeLessThanOrEqual(ORIGIN_ABUSIVE_LINKS_BURST + 2)
    expect(declined).toBeGreaterThan(0)
  })

  it("keeps the seeder's heap flat under 100,000 frames of junk from fresh peer ids and fresh addresses", async () => {
    const linksBefore = await seeder.links()
    const heapBefore = await seeder.heapAfterGc()
    let flooders: ReturnType<typeof floodAttacker>[] = []
    await measure('junk from fresh ids and addresses', async () => {
      // A new tracker connection (a new peer id) from a new address for every link: what many machines, or
      // one with many addresses, can do. Only the tab's allowance would stop it (raised in this suite).
      flooders = [
        floodAttacker(HOSTILE_FRAMES / 2, 'fresh', 'rotate'),
        floodAttacker(HOSTILE_FRAMES / 2, 'fresh', 'rotate'),
      ]
      await Promise.all(flooders.map((f) => f.linked))
      return () => Promise.all(flooders.map((f) => f.done)).then(() => {})
    })
    const sent = flooders.reduce((sum, f) => sum + f.sent, 0)
    const links = flooders.reduce((sum, f) => sum + f.links, 0)
    const crashes = flooders.reduce((sum, f) => sum + f.crashes, 0)
    const heapAfter = await seeder.heapAfterGc()
    const linksAfter = await seeder.links()
    console.log(
      `junk from fresh ids and addresses: ${sent} frames sent over ${links} links (${crashes} attacker processes crashed in ` +
        `@roamhq/wrtc and were restarted); the seeder received ${linksAfter.framesIn - linksBefore.framesIn} ` +
        `frames and built ${linksAfter.budget.built - linksBefore.budget.built} connections; heap after GC ` +
        `${(heapBefore / MiB).toFixed(1)} → ${(heapAfter / MiB).toFixed(1)} MiB (${((heapAfter - heapBefore) / MiB).toFixed(1)} MiB)`,
    )
    expect(sent).toBeGreaterThanOrEqual(HOSTILE_FRAMES)
    expect(Math.abs(heapAfter - heapBefore)).toBeLessThan(HEAP_TOLERANCE_BYTES)
  })

  it('finishes from the honest seeder beside stalling, dribbling and lying sources', async () => {
    const nodes: HostileNode[] = []
    const count = file.manifest.hashes.length
    await measure('stalling or lying sources', async () => {
      const holding = [
        {
          digest: file.digest,
          name: file.name,
          size: file.size,
          chunkSize: file.manifest.chunkSize,
          have: 'all',
        },
      ]
      const behaviours = ['stall', 'stall', 'dribble', 'lie'] as const
      for (const behaviour of behaviours) {
        const node = await HostileNode.start(trackerUrl, holding, attackerAddress)
        nodes.push(node)
        node.answer((link) => fakeSource(link, behaviour, count))
      }
      return () => closeAll(nodes)
    })
  })
})

/**
 * Runs support/flood-attacker.ts in processes of its own until `frames` are sent (or `stop()`): a process
 * that @roamhq/wrtc crashes is started again for the rest.
 */
function floodAttacker(frames: number, mode: 'fresh' | 'same', from = attackerAddress) {
  let child: ChildProcess | undefined
  let stopped = false
  let firstLink!: () => void
  let neverLinked!: (error: Error) => void
  const state = {
    sent: 0,
    links: 0,
    declined: 0,
    crashes: 0,
    /** Resolves once the attacker has its first link: the attack is on. */
    linked: new Promise<void>((resolve, reject) => {
      firstLink = resolve
      neverLinked = reject
    }),
    done: Promise.resolve(),
    /** Ends the attack now. */
    stop: async () => {
      stopped = true
      child?.kill('SIGKILL')
      await state.done.catch(() => {})
    },
  }
  const runOnce = (remaining: number) =>
    new Promise<void>((resolve, reject) => {
      let sentHere = 0
      let linksHere = 0
      let declinedHere = 0
      child = spawn(
        process.execPath,
        ['--import', 'tsx', FLOOD_ATTACKER, trackerUrl, seeder.peerId, String(remaining), mode, from],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      )
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const report = JSON.parse(line) as { sent: number; links: number; declined: number }
        state.sent += report.sent - sentHere
        state.links += report.links - linksHere
        state.declined += report.declined - declinedHere
        sentHere = report.sent
        linksHere = report.links
        declinedHere = report.declined
        if (state.links > 0) firstLink()
      })
      child.once('error', reject)
      child.once('exit', (code) => {
        if (code !== 0 && !stopped) state.crashes++
        if (state.crashes > FLOOD_RESTARTS)
          reject(new Error(`the flood attacker crashed ${state.crashes} times`))
        else resolve()
      })
    })
  const linkTimer = setTimeout(
    () => neverLinked(new Error(`the flood attacker had no link in ${FLOOD_LINK_TIMEOUT_MS} ms`)),
    FLOOD_LINK_TIMEOUT_MS,
  )
  state.linked.then(() => clearTimeout(linkTimer)).catch(() => {})
  state.done = (async () => {
    while (state.sent < frames && !stopped) await runOnce(frames - state.sent)
  })()
  flooding.add(state)
  return state
}

/** A source that says it has everything and then stalls, dribbles a byte a second, or sends garbage. */
function fakeSource(link: HostileLink, behaviour: 'stall' | 'dribble' | 'lie', count: number): void {
  link.hello()
  link.link.on('frame', (data) => {
    const parsed = parseFrame(data)
    if (!parsed.ok || parsed.frame.kind !== 'control') return
    const message = parsed.frame.message
    if (message.type === 'interested') {
      link.control({ type: 'have', digest: file.digest, chunkCount: count, have: 'all' })
    }
    if (message.type !== 'request' || behaviour === 'stall') return
    if (behaviour === 'dribble') {
      const drip = setInterval(() => {
        if (link.closed || !link.push(encodeChunkFrames(message.id, new Uint8Array(1), 1024)[0]!)) {
          clearInterval(drip)
        }
      }, 1000)
      return
    }
    const garbage = new Uint8Array(randomBytes(chunkLength(file.manifest, message.index)))
    for (const frame of encodeChunkFrames(message.id, garbage, 64 * 1024)) link.push(frame)
  })
}
