/**
 * A Firefox peer for the end-to-end tests: Debian's Firefox ESR, headless, driven by puppeteer-core over
 * WebDriver BiDi (SPEC §8: playwright-core cannot drive a stock Firefox), in a fresh profile whose
 * preferences keep it on this machine, let it offer loopback ICE candidates, and save downloads without
 * a dialog into a folder the test reads.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'

export const FIREFOX = '/usr/bin/firefox-esr'

/** Longest Firefox may take to start and answer over WebDriver BiDi (a fresh profile is built first). */
const LAUNCH_TIMEOUT_MS = 30_000
/** How often a waiting test looks at the download folder. */
const POLL_MS = 100

/** Where Firefox's background services would go: nowhere that answers (`data:` URLs open no socket). */
const NOWHERE = 'data:,'

/**
 * Preferences that stop Firefox's background traffic. puppeteer-core and Firefox's remote agent set many
 * of their own (no updates, no safebrowsing, a dummy remote-settings server); these are the rest, and the
 * ones worth stating here whatever those defaults become. Remote settings honour `services.settings.server`
 * only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in the environment (see launchFirefox).
 */
export const QUIET_PREFS: Record<string, string | number | boolean> = {
  // Updates: of Firefox itself, of add-ons, of system add-ons, of search engines, of plugins (GMP).
  'app.update.auto': false,
  'app.update.disabledForTesting': true,
  'app.update.checkInstallTime': false,
  'extensions.update.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.systemAddon.update.url': NOWHERE,
  'extensions.getAddons.cache.enabled': false,
  'extensions.blocklist.enabled': false,
  'browser.search.update': false,
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-manager.url': NOWHERE,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  // Telemetry, health reports, studies (Normandy, Nimbus).
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': NOWHERE,
  'toolkit.telemetry.newProfilePing.enabled': false,
  'toolkit.telemetry.shutdownPingSender.enabled': false,
  'toolkit.telemetry.firstShutdownPing.enabled': false,
  'toolkit.telemetry.updatePing.enabled': false,
  'toolkit.telemetry.bhrPing.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.usage.uploadEnabled': false,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'app.shield.optoutstudies.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.discovery.enabled': false,
  // Captive portal and connectivity checks.
  'network.captive-portal-service.enabled': false,
  'captivedetect.canonicalURL': '',
  'network.connectivity-service.enabled': false,
  // Safe browsing (lists and download checks).
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.update.enabled': false,
  // Remote settings (blocklists, CRLite, intermediates), and what feeds on them.
  'services.settings.server': `${NOWHERE}#remote-settings-dummy/v1`,
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
  'security.OCSP.enabled': 0,
  // Web push, sync, accounts, region, geolocation.
  'dom.push.enabled': false,
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'identity.fxaccounts.enabled': false,
  'services.sync.engine.addons': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.enabled': false,
  'geo.provider.network.url': '',
  // Network prediction, prefetch, speculative connections, DNS over HTTPS.
  'network.predictor.enabled': false,
  'network.prefetch-next': false,
  'network.dns.disablePrefetch': true,
  'network.http.speculative-parallel-limit': 0,
  'browser.urlbar.speculativeConnect.enabled': false,
  'browser.places.speculativeConnect.enabled': false,
  'network.trr.mode': 5,
  'doh-rollout.disable-heuristics': true,
  // The new-tab page and its sponsored content.
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.feeds.snippets': false,
  'browser.newtabpage.activity-stream.showSponsored': false,
  'browser.newtabpage.activity-stream.showSponsoredTopSites': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.topsites.contile.enabled': false,
}

/**
 * Loopback WebRTC (SPEC §8): in a namespace that has only `lo`, Firefox offers 127.0.0.1 host candidates
 * only with `ice.loopback`, and only to pages that may use the microphone; host addresses stay plain
 * (no mDNS `.local` names, whose multicast would leave the machine).
 */
export const LOOPBACK_WEBRTC_PREFS: Record<string, string | number | boolean> = {
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'permissions.default.microphone': 1,
  'permissions.default.camera': 1,
}

/** Downloads saved at once, without a dialog or the downloads panel, into `dir`. */
export function downloadPrefs(dir: string): Record<string, string | number | boolean> {
  return {
    'browser.download.folderList': 2, // 2: the folder in browser.download.dir
    'browser.download.dir': dir,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.helperApps.neverAsk.saveToDisk': 'application/octet-stream',
    'browser.download.start_downloads_in_tmp_dir': false,
    'browser.download.alwaysOpenPanel': false,
    'browser.download.panel.shown': true,
    'browser.download.manager.showWhenStarting': false,
  }
}

export interface FirefoxDirs {
  /** A fresh, empty folder for the profile; puppeteer writes the preferences into it. */
  profileDir: string
  /** Where downloads are saved. */
  downloadDir: string
}

export function launchFirefox(dirs: FirefoxDirs): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    protocol: 'webDriverBiDi',
    headless: true,
    userDataDir: dirs.profileDir,
    timeout: LAUNCH_TIMEOUT_MS,
    extraPrefsFirefox: { ...QUIET_PREFS, ...LOOPBACK_WEBRTC_PREFS, ...downloadPrefs(dirs.downloadDir) },
    // Without it Firefox ignores `services.settings.server` and fetches remote settings from Mozilla.
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
  })
}

/** What the download folder holds: name and size of each entry, for failure messages. */
export function listFolder(dir: string): string {
  if (!existsSync(dir)) return `${dir} missing`
  const entries = readdirSync(dir).map((name) => `${name} (${statSync(join(dir, name)).size} B)`)
  return entries.length === 0 ? 'empty' : entries.join(', ')
}

/**
 * Waits until Firefox has saved `name` in `dir` whole: Firefox writes into `<name>.part` beside an empty
 * placeholder and renames it when done, so the file is saved once it has `size` bytes and no `.part` is
 * left. Returns its path; fails with what the folder holds, and what `describe` adds, after `timeoutMs`.
 */
export async function waitForSavedFile(
  dir: string,
  name: string,
  size: number,
  timeoutMs: number,
  describe: () => Promise<string> = async () => '',
): Promise<string> {
  const path = join(dir, name)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (existsSync(path) && !existsSync(`${path}.part`) && statSync(path).size === size) return path
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new Error(
    `Firefox did not save ${name} (${size} B) in ${dir} within ${timeoutMs} ms; the folder holds ` +
      `${listFolder(dir)}${await describe()}`,
  )
}
