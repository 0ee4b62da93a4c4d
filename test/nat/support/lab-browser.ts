/**
 * A person at home in the lab: Debian's Chromium started inside a home network's namespace (Playwright
 * talks to it over a pipe, so the test itself needs no route into the lab), with the real app open. The
 * page is watched from outside the app: every RTCPeerConnection it makes is recorded by an init script, so
 * the test reads the selected ICE candidate pair from the browser's own statistics rather than trusting
 * what the app says about it.
 */
import type { Browser, BrowserContext } from 'playwright-core'
import { chromium } from 'playwright-core'
import { AppPage } from '../../e2e/support/app-page.js'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../support/chromium.mjs'
import type { HomeNet, NatLab } from './lab.js'

/** One side of a selected candidate pair, as the browser's stats report it. */
export interface PairEnd {
  candidateType: string
  address: string
  port: number
}

/** The pair a connected RTCPeerConnection of the page sends over. */
export interface SelectedPair {
  local: PairEnd
  remote: PairEnd
}

export interface HomeBrowser {
  readonly browser: Browser
  readonly app: AppPage
  /** The selected candidate pair of every connected peer connection of the page. */
  selectedPairs(): Promise<SelectedPair[]>
  /** How many RTCPeerConnections the page has made so far. */
  peerConnectionCount(): Promise<number>
  close(): Promise<void>
}

/**
 * Opens the app at `origin` in a browser in `home`. The lab's server speaks plain HTTP at a public-looking
 * address, which is not a secure context, and WebCrypto (chunk hashing) needs one: Chromium is told to
 * treat that one origin as secure, as HTTPS would make it for real (docs/SELF-HOSTING.md).
 */
export async function openHomeBrowser(
  lab: NatLab,
  home: HomeNet,
  origin: string,
  label: string,
  workDir: string,
): Promise<HomeBrowser> {
  const browser = await chromium.launch({
    executablePath: lab.wrapper(home.hostNs, CHROMIUM_PATH, workDir),
    headless: true,
    args: [
      ...CHROMIUM_ARGS.filter((arg) => !arg.startsWith('--host-resolver-rules=')),
      // Chromium maps even address literals through these rules: the server's address must pass.
      `--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE ${new URL(origin).hostname}`,
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    ],
  })
  let app: AppPage
  try {
    app = await AppPage.open(browser, `${origin}/`, label, workDir, recordPeerConnections)
  } catch (error) {
    await browser.close()
    throw error
  }
  return {
    browser,
    app,
    selectedPairs: () => app.page.evaluate(readSelectedPairs),
    peerConnectionCount: () =>
      app.page.evaluate(
        () =>
          (window as unknown as { __labPeerConnections?: RTCPeerConnection[] }).__labPeerConnections
            ?.length ?? 0,
      ),
    close: async () => {
      await app.close().catch(() => {})
      await browser.close()
    },
  }
}

async function recordPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection
    const made: RTCPeerConnection[] = []
    class Recorded extends Native {
      constructor(configuration?: RTCConfiguration) {
        super(configuration)
        made.push(this)
      }
    }
    ;(window as unknown as { __labPeerConnections: RTCPeerConnection[] }).__labPeerConnections = made
    window.RTCPeerConnection = Recorded
  })
}

/** Runs in the page: the selected pair of each connected peer connection, from getStats(). */
async function readSelectedPairs(): Promise<SelectedPair[]> {
  const all = (window as unknown as { __labPeerConnections?: RTCPeerConnection[] }).__labPeerConnections ?? []
  const pairs: SelectedPair[] = []
  for (const pc of all) {
    if (pc.connectionState !== 'connected') continue
    const stats = new Map<string, Record<string, unknown>>()
    ;(await pc.getStats()).forEach((value: Record<string, unknown>, key: string) => {
      stats.set(key, value)
    })
    for (const entry of stats.values()) {
      if (entry.type !== 'transport' || typeof entry.selectedCandidatePairId !== 'string') continue
      const pair = stats.get(entry.selectedCandidatePairId)
      const local = stats.get(String(pair?.localCandidateId))
      const remote = stats.get(String(pair?.remoteCandidateId))
      if (!local || !remote) continue
      const end = (c: Record<string, unknown>) => ({
        candidateType: String(c.candidateType),
        address: String(c.address ?? c.ip),
        port: Number(c.port),
      })
      pairs.push({ local: end(local), remote: end(remote) })
    }
  }
  return pairs
}
