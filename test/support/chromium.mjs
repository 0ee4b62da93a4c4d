// How every test and benchmark starts Chromium: Debian's own build (no browser is downloaded), with the
// flags that keep it on this machine (SPEC §8). Plain JS so that web-test-runner.config.mjs can import it.

export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * No GPU, no background traffic, no host name looked up but localhost. Chromium honours only the last
 * `--disable-features`, and Playwright passes its own: none is added here.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
])

/**
 * For pages that open WebRTC connections on loopback: Chromium then offers 127.0.0.1 host candidates, to
 * pages that hold microphone and camera permission (grant them in the browser context).
 */
export const LOOPBACK_WEBRTC_ARGS = Object.freeze(['--allow-loopback-in-peer-connection'])
