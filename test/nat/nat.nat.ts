/**
 * Crossing NAT for real (SPEC §6, issue "Cross NAT"): two people at home, each behind their own NAT router,
 * share a file through the real server on a public segment, in a lab of network namespaces (support/lab.ts)
 * with headless Chromium in each home driving the real built app (and, in one case, the swarmdrop command
 * as the peer in one home). Each case builds its own lab, so no
 * conntrack state or allocation carries over, and tears it down whatever happens. Needs root: skipped
 * with the reason printed otherwise (CI runs as root).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Locator } from 'playwright-core'
import { afterEach, describe, expect, it } from 'vitest'
import { mintTurnCredentials } from '../../signal/turn-credentials.js'
import { UNREACHABLE_RETRY_MS } from '../../web/peer/source-finder.js'
import { CliProcess } from '../e2e/support/cli-process.js'
import { MiB, type SourceFile, writeSourceFile } from '../e2e/support/source-files.js'
import { type HomeNet, labUnavailableReason, type NatKind, NatLab, SERVER_ADDRESS } from './support/lab.js'
import { type HomeBrowser, openHomeBrowser, type SelectedPair } from './support/lab-browser.js'
import { type LabCoturn, type LabServer, startLabCoturn, startLabServer } from './support/lab-services.js'
import type { ProbeRequest, ProbeResult } from './support/turn-probe.js'

const TURN_PROBE = fileURLToPath(new URL('./support/turn-probe.ts', import.meta.url))

/** Longest ingesting the shared file may take. */
const SHARE_TIMEOUT_MS = 30_000
/** Longest a download may take from the click to the saved file (ICE over TURN included). */
const DOWNLOAD_TIMEOUT_MS = 90_000
/** Longest the page may take to show what it was told (the catalog entry, a problem). */
const UI_TIMEOUT_MS = 15_000
/**
 * Longest the downloader may take to say it cannot connect: a connect attempt gives up after 15 s
 * (CONNECT_TIMEOUT_MS), plus the tracker round trips and the page's refresh.
 */
const EXPLAIN_TIMEOUT_MS = 45_000
/** How long the path between the two homes is cut mid-transfer (the figure). */
const OUTAGE_MS = 10_000
/** Long enough for Chromium's ICE to declare the connection failed (consent lost for ~30 s). */
const ICE_FAILING_OUTAGE_MS = 45_000
/** The cut comes once this share of the file is here. */
const CUT_AT_FRACTION = 0.25
/** Longest coturn may take to write a log line after it answered. */
const LOG_WAIT_MS = 5_000
/** Setting a case up: the lab, the server, two browsers, ingesting the file. */
const CASE_SETUP_MS = 60_000
/** A second coturn, with the documented configuration alone, beside the lab's on TURN_PORT. */
const DOCUMENTED_TURN_PORT = 3480
/** How long a browser, or coturn, gets to close at teardown before the lab's destruction kills it. */
const BROWSER_CLOSE_MS = 10_000
/** Longest the TURN probe may run: an allocation and a few permissions, each retried for at most 5 s. */
const PROBE_TIMEOUT_MS = 60_000
/** The seeder's uplink in the outage case: slow enough that the transfer is still running when it is cut. */
const OUTAGE_UPLINK_MBIT = 16

const skipReason = labUnavailableReason()
if (skipReason) console.log(`NAT lab skipped: ${skipReason}`)

interface Case {
  lab: NatLab
  server: LabServer
  seeder: HomeBrowser
  downloader: HomeBrowser
  homes: [HomeNet, HomeNet]
  workDir: string
}

let cleanup: (() => Promise<void>) | undefined

afterEach(async () => {
  await cleanup?.()
  cleanup = undefined
})

/**
 * Tears a case down: the browsers first (each given a few seconds: destroying the lab kills whatever
 * still runs in its namespaces anyway), then every namespace and process of the lab, then the files.
 */
function teardownOf(lab: NatLab, browsers: HomeBrowser[], stops: (() => Promise<void>)[], workDir: string) {
  return async () => {
    try {
      for (const browser of browsers) await withinMs(browser.close(), BROWSER_CLOSE_MS)
      for (const stop of stops) await withinMs(stop(), BROWSER_CLOSE_MS)
    } finally {
      await lab.destroy()
      rmSync(workDir, { recursive: true, force: true })
    }
  }
}

/** Waits for `work` at most `ms`; a failure or a timeout is ignored (teardown goes on regardless). */
async function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** A lab with two homes, the server (and coturn when asked), and a browser in each home. */
async function setUp(kinds: [NatKind, NatKind], options: { turn?: boolean } = {}): Promise<Case> {
  const workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-nat-'))
  const lab = new NatLab()
  const opened: HomeBrowser[] = []
  const stops: (() => Promise<void>)[] = []
  cleanup = teardownOf(lab, opened, stops, workDir)
  const homes: [HomeNet, HomeNet] = [lab.addHome(kinds[0]), lab.addHome(kinds[1])]
  const coturn = options.turn ? await startLabCoturn(lab) : undefined
  if (coturn) stops.push(coturn.stop)
  const server = await startLabServer(lab, coturn ? { turnSecret: coturn.secret } : {})
  const seeder = await openHomeBrowser(lab, homes[0], server.origin, 'seeder', workDir)
  opened.push(seeder)
  const downloader = await openHomeBrowser(lab, homes[1], server.origin, 'downloader', workDir)
  opened.push(downloader)
  return { lab, server, seeder, downloader, homes, workDir }
}

/** The seeder shares a fresh file; resolves once it is in the downloader's catalog. */
async function share(c: Case, size: number, seed: string): Promise<SourceFile> {
  const file = await writeSourceFile(c.workDir, `${seed}.bin`, size, seed)
  await c.seeder.app.share([file.path])
  await c.seeder.app
    .myFile(file.digest)
    .and(c.seeder.app.page.locator('[data-state="seeding"]'))
    .waitFor({ timeout: SHARE_TIMEOUT_MS })
  await c.downloader.app.catalogEntry(file.digest).waitFor({ timeout: UI_TIMEOUT_MS })
  return file
}

/** Clicks the file's digest in the downloader's catalog, as a person does. */
async function clickDigest(c: Case, file: SourceFile): Promise<void> {
  await c.downloader.app.catalogEntry(file.digest).locator('button.digest').click()
}

async function downloadAndCheck(
  c: Case,
  file: SourceFile,
  duringTransfer?: () => Promise<void>,
  timeoutMs = DOWNLOAD_TIMEOUT_MS,
): Promise<void> {
  const saved = c.downloader.app.nextDownload(timeoutMs, file.name)
  await clickDigest(c, file)
  await duringTransfer?.()
  const result = await saved
  expect(result.size).toBe(file.size)
  expect(result.sha256).toBe(file.sha256)
}

/** The connection type the downloader's peers view shows for the seeder. */
async function shownConnection(c: Case, file: SourceFile): Promise<string | null> {
  const app = c.downloader.app
  await app
    .myFile(file.digest)
    .getByRole('button', { name: `Show peers: ${file.name}` })
    .click()
  const seederId = await c.seeder.app.peerId()
  const row = app.page.locator(`swarmdrop-peers dialog[open] tr[data-peer-id="${seederId}"]`)
  await row.waitFor({ timeout: UI_TIMEOUT_MS })
  await app.until(
    async () => (await row.getAttribute('data-connection')) !== 'not connected',
    'the seeder connected in the peers view',
    UI_TIMEOUT_MS,
  )
  return row.getAttribute('data-connection')
}

function describePairs(pairs: SelectedPair[]): string {
  return pairs
    .map(
      (p) =>
        `${p.local.candidateType} ${p.local.address}:${p.local.port} → ${p.remote.candidateType} ${p.remote.address}:${p.remote.port}`,
    )
    .join('; ')
}

describe.skipIf(skipReason !== undefined)('NAT lab: two homes behind NAT routers', () => {
  it('cone ↔ cone with STUN only: hole punched (server-reflexive pair on both sides), bytes identical', async () => {
    const c = await setUp(['cone', 'cone'])
    const file = await share(c, 8 * MiB, 'cone-cone')
    await downloadAndCheck(c, file)

    const [seederPairs, downloaderPairs] = await Promise.all([
      c.seeder.selectedPairs(),
      c.downloader.selectedPairs(),
    ])
    expect(downloaderPairs, describePairs(downloaderPairs)).toHaveLength(1)
    expect(seederPairs, describePairs(seederPairs)).toHaveLength(1)
    for (const [pairs, self, other] of [
      [downloaderPairs, c.homes[1], c.homes[0]],
      [seederPairs, c.homes[0], c.homes[1]],
    ] as const) {
      const pair = pairs[0]!
      // Both ends are server-reflexive: each side's own public mapping (the port its router preserved,
      // learnt from the server's STUN) to the other's.
      expect(pair.local, describePairs(pairs)).toMatchObject({
        candidateType: 'srflx',
        address: self.publicAddress,
      })
      expect(pair.remote, describePairs(pairs)).toMatchObject({
        candidateType: 'srflx',
        address: other.publicAddress,
      })
    }
    expect(downloaderPairs[0]!.remote.port).toBe(seederPairs[0]!.local.port)
    expect(seederPairs[0]!.remote.port).toBe(downloaderPairs[0]!.local.port)
    expect(await shownConnection(c, file)).toBe('hole-punched')
  })

  it('cone ↔ cone, a swarmdrop CLI seeding in one home and a browser in the other: hole punched, bytes identical', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-nat-'))
    const lab = new NatLab()
    const opened: HomeBrowser[] = []
    const stops: (() => Promise<void>)[] = []
    cleanup = teardownOf(lab, opened, stops, workDir)
    const homes: [HomeNet, HomeNet] = [lab.addHome('cone'), lab.addHome('cone')]
    const server = await startLabServer(lab)
    const folder = join(workDir, 'nas')
    mkdirSync(folder)
    const file = await writeSourceFile(folder, 'from the nas.bin', 8 * MiB, 'nat-cli')
    // The CLI runs in the first home's host, as a seeder on a NAS behind a home router would.
    const cli = CliProcess.start('CLI at home', ['share', folder, '--server', server.origin], {
      launch: (command, args, options) => lab.spawn(homes[0].hostNs, command, args, options),
    })
    stops.push(() => cli.close())
    await cli.waitFor(
      (e) => e.event === 'shared' && e.digest === file.digest,
      'the CLI sharing',
      SHARE_TIMEOUT_MS,
    )
    const downloader = await openHomeBrowser(lab, homes[1], server.origin, 'downloader', workDir)
    opened.push(downloader)
    await downloader.app.catalogEntry(file.digest).waitFor({ timeout: UI_TIMEOUT_MS })

    const saved = downloader.app.nextDownload(DOWNLOAD_TIMEOUT_MS, file.name)
    await downloader.app.catalogEntry(file.digest).locator('button.digest').click()
    const result = await saved
    expect(result.size).toBe(file.size)
    expect(result.sha256).toBe(file.sha256)
    // The browser's own statistics: its public mapping to the CLI's, both learnt from the server's STUN.
    const pairs = await downloader.selectedPairs()
    expect(pairs, describePairs(pairs)).toHaveLength(1)
    expect(pairs[0]!.local, describePairs(pairs)).toMatchObject({
      candidateType: 'srflx',
      address: homes[1].publicAddress,
    })
    expect(pairs[0]!.remote, describePairs(pairs)).toMatchObject({
      candidateType: 'srflx',
      address: homes[0].publicAddress,
    })
  })

  it('symmetric ↔ symmetric with STUN only: no connection, and the page says why', async () => {
    const c = await setUp(['symmetric', 'symmetric'])
    const file = await share(c, 2 * MiB, 'sym-sym')
    await clickDigest(c, file)
    const problem = await explanation(c, 'NAT_BLOCKED')
    const text = (await problem.textContent()) ?? ''
    expect(text).toContain('symmetric NAT')
    expect(text).toContain('TURN')
    expect(await c.downloader.selectedPairs()).toEqual([])
    expect(await c.downloader.app.myFile(file.digest).getAttribute('data-state')).not.toBe('complete')
  })

  it('a home whose router drops UDP to the server: no connection, and the page says UDP is blocked', async () => {
    const c = await setUp(['cone', 'cone'])
    // The downloader's network lets the page and its WebSocket through, but no UDP to the server's STUN.
    c.lab.blockUdpTo(c.homes[1], SERVER_ADDRESS)
    const file = await share(c, 2 * MiB, 'udp-blocked')
    await clickDigest(c, file)
    const problem = await explanation(c, 'UDP_BLOCKED')
    expect(await problem.textContent()).toContain('UDP')
    expect(await c.downloader.selectedPairs()).toEqual([])
  })

  it('symmetric ↔ symmetric with TURN: relayed, bytes identical', async () => {
    const c = await setUp(['symmetric', 'symmetric'], { turn: true })
    const file = await share(c, 8 * MiB, 'sym-sym-turn')
    await downloadAndCheck(c, file)
    for (const pairs of [await c.downloader.selectedPairs(), await c.seeder.selectedPairs()]) {
      expect(pairs, describePairs(pairs)).toHaveLength(1)
      const [pair] = pairs
      expect([pair!.local.candidateType, pair!.remote.candidateType], describePairs(pairs)).toContain('relay')
    }
    expect(await shownConnection(c, file)).toBe('relayed')
  })

  it('coturn refuses to relay to the server’s loopback and to addresses outside the lab', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-nat-'))
    const lab = new NatLab()
    const stops: (() => Promise<void>)[] = []
    cleanup = teardownOf(lab, [], stops, workDir)
    const home = lab.addHome('cone')
    const other = lab.addHome('cone')
    // The documented configuration alone, and as the lab runs it (only the lab's public segment allowed).
    const documented = await startLabCoturn(lab, { port: DOCUMENTED_TURN_PORT, confineToLab: false })
    stops.push(documented.stop)
    const confined = await startLabCoturn(lab)
    stops.push(confined.stop)

    const byList = probeTurn(lab, home.hostNs, documented, [
      other.publicAddress, // another home: a public address, allowed
      '192.0.2.1', // public-looking and in no denied range: allowed, so the refusals below are the list's
      '127.0.0.1', // the server's own loopback: its STUN, its HTTP port, anything bound there
      '10.0.1.2', // private (RFC 1918): a neighbour's home network, or the server's own LAN
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1', // carrier-grade NAT (RFC 6598): the provider's side of other customers
      '169.254.169.254', // link-local: a cloud VM's metadata service
      '0.0.0.1', // "this network"
      '224.0.0.251', // multicast (mDNS)
      '240.0.0.1', // reserved
    ])
    expect(byList.relayedAddress).toBe(SERVER_ADDRESS)
    expect(byList.permissions[other.publicAddress]).toEqual({ ok: true })
    expect(byList.permissions['192.0.2.1']).toEqual({ ok: true })
    for (const refused of Object.keys(byList.permissions).slice(2)) {
      expect(byList.permissions[refused], refused).toMatchObject({ ok: false, code: 403 })
    }
    // Each refusal above but loopback's (which coturn refuses before any list) is the deny list's, logged.
    // (coturn writes its log through a buffer: the line may come a moment after the answer.)
    const deniedByList = /A peer IP 10\.0\.1\.2 denied in the range/
    for (
      let waited = 0;
      waited < LOG_WAIT_MS && !deniedByList.test(documented.log.join('\n'));
      waited += 100
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(documented.log.join('\n')).toMatch(deniedByList)

    const inLab = probeTurn(lab, home.hostNs, confined, [other.publicAddress, '192.0.2.1', '127.0.0.1'])
    expect(inLab.permissions[other.publicAddress]).toEqual({ ok: true })
    expect(inLab.permissions['192.0.2.1']).toMatchObject({ ok: false, code: 403 })
    expect(inLab.permissions['127.0.0.1']).toMatchObject({ ok: false, code: 403 })
  })

  it('cone ↔ cone, the path between the homes cut for 10 s mid-transfer: completes, bytes identical', async () => {
    await transferThroughCut(OUTAGE_MS)
  })

  it(
    'cone ↔ cone, cut long enough for ICE to fail: the link is negotiated afresh and the download completes',
    async () => {
      const { peerConnections } = await transferThroughCut(ICE_FAILING_OUTAGE_MS)
      // The first connection failed (Chromium gives up on a path after ~30 s without consent responses) and
      // the engine dialled the seeder again through the tracker: a second RTCPeerConnection carried the rest.
      expect(peerConnections).toBeGreaterThan(1)
    },
    outageBudgetMs(ICE_FAILING_OUTAGE_MS) + CASE_SETUP_MS,
  )
})

/**
 * How long a download through a cut may take: the transfer itself, the cut, and after it up to two failed
 * redials' backoff (a redial during the cut fails; the one after the first backoff may still come too soon).
 */
function outageBudgetMs(outageMs: number): number {
  return DOWNLOAD_TIMEOUT_MS + outageMs + 3 * UNREACHABLE_RETRY_MS
}

/** Downloads through a cut of `outageMs` between the two homes, starting a quarter of the way in. */
async function transferThroughCut(outageMs: number): Promise<{ peerConnections: number }> {
  const c = await setUp(['cone', 'cone'])
  // A narrow uplink, so that the transfer is still running when the cut comes and goes.
  c.lab.capUplink(c.homes[0], OUTAGE_UPLINK_MBIT)
  const file = await share(c, 40 * MiB, `cone-outage-${outageMs}`)
  let cutAt = 0
  await downloadAndCheck(
    c,
    file,
    async () => {
      await c.downloader.app.until(
        async () => (await fractionDone(c, file)) >= CUT_AT_FRACTION,
        `${CUT_AT_FRACTION * 100}% downloaded`,
        DOWNLOAD_TIMEOUT_MS,
      )
      cutAt = await fractionDone(c, file)
      const heal = c.lab.cut(c.homes[0], c.homes[1])
      await new Promise((resolve) => setTimeout(resolve, outageMs))
      const duringCut = await fractionDone(c, file)
      heal()
      // Nothing crossed while the path was cut (a chunk already in the socket may still have landed).
      expect(duringCut - cutAt).toBeLessThan(0.1)
    },
    outageBudgetMs(outageMs),
  )
  expect(cutAt).toBeLessThan(0.9)
  const pairs = await c.downloader.selectedPairs()
  expect(pairs.length, describePairs(pairs)).toBeGreaterThan(0)
  return { peerConnections: await c.downloader.peerConnectionCount() }
}

/** Runs support/turn-probe.ts in a lab namespace: a TURN client asking coturn for permissions to `peers`. */
function probeTurn(lab: NatLab, ns: string, coturn: LabCoturn, peers: string[]): ProbeResult {
  const { username, credential } = mintTurnCredentials({
    secret: coturn.secret,
    ttlSeconds: 600,
    peerId: 'probe',
    nowMs: Date.now(),
  })
  const request: ProbeRequest = {
    turn: { server: { host: SERVER_ADDRESS, port: coturn.port }, username, password: credential },
    peers,
  }
  const output = lab.run(ns, [process.execPath, '--import', 'tsx', TURN_PROBE, JSON.stringify(request)], {
    timeoutMs: PROBE_TIMEOUT_MS,
  })
  return JSON.parse(output.trim().split('\n').at(-1)!) as ProbeResult
}

/** The downloader's problem with `code`, once the page shows it. */
async function explanation(c: Case, code: string): Promise<Locator> {
  const problem = c.downloader.app.page.locator(`swarmdrop-problems li[data-code="${code}"]`)
  await problem
    .waitFor({ timeout: EXPLAIN_TIMEOUT_MS })
    .catch(() => c.downloader.app.fail(`the ${code} explanation`, EXPLAIN_TIMEOUT_MS))
  return problem
}

/** The share of the file the downloader's my-files entry shows as here. */
async function fractionDone(c: Case, file: SourceFile): Promise<number> {
  const progress = c.downloader.app.myFile(file.digest).locator('progress')
  if ((await progress.count()) === 0) return 0
  return progress.evaluate((element) => {
    const bar = element as HTMLProgressElement
    return bar.hasAttribute('max') ? bar.value / bar.max : 0
  })
}
