// `npm test`: every test. Checks the system packages the suites drive (Debian's chromium, firefox-esr and
// coturn; iproute2 and iptables for the NAT lab, which runs only as root), installing them when root, then
// lint, type check, build, and the test suites. Exits non-zero on any failure.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Debian packages whose binaries the tests run, and the binary that shows each is there. */
const SYSTEM_PACKAGES = [
  { name: 'chromium', binary: '/usr/bin/chromium' },
  { name: 'firefox-esr', binary: '/usr/bin/firefox-esr' },
  { name: 'coturn', binary: '/usr/bin/turnserver' },
  // The headless peer's text UI, driven in a real terminal (test/e2e/cli.e2e.ts).
  { name: 'tmux', binary: '/usr/bin/tmux' },
  // The NAT lab, which needs root: namespaces, veth pairs and tc (iproute2), NAT routers (iptables).
  { name: 'iproute2', binary: '/usr/sbin/ip', rootOnly: true },
  { name: 'iptables', binary: '/usr/sbin/iptables', rootOnly: true },
]

function ensureSystemPackages() {
  const isRoot = process.getuid?.() === 0
  const missing = SYSTEM_PACKAGES.filter((p) => (isRoot || !p.rootOnly) && !existsSync(p.binary)).map(
    (p) => p.name,
  )
  if (missing.length === 0) return
  const hasApt = existsSync('/usr/bin/apt-get')
  if (!isRoot || !hasApt) {
    console.error(
      `npm test needs Debian packages that are missing: run "sudo apt-get install -y ${missing.join(' ')}"`,
    )
    process.exit(1)
  }
  console.log(`installing ${missing.join(', ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env })
}

function step(title, command, args) {
  console.log(`\n▶ ${title}`)
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`✗ ${title} failed`)
    process.exit(result.status ?? 1)
  }
}

const node = process.execPath
ensureSystemPackages()
step('lint and format (biome)', node, ['node_modules/@biomejs/biome/bin/biome', 'check', '.'])
step('type check (tsc)', node, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'])
step('build (vite, esbuild)', node, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'])
step('build server', node, ['scripts/build-server.mjs'])
step('build the headless peer (swarmdrop)', node, ['scripts/build-cli.mjs'])

const reports = mkdtempSync(join(tmpdir(), 'swarmdrop-test-'))
/** A vitest run of one config (none: vitest.config), writing its JSON report to `reportPath`. */
const vitestCommand = (reportPath, config) => [
  node,
  'node_modules/vitest/vitest.mjs',
  'run',
  ...(config ? ['--config', config] : []),
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${reportPath}`,
]
const report = join(reports, 'vitest.json')
console.log('\n▶ unit and server tests (vitest)')
const [vitestNode, ...vitestArgs] = vitestCommand(report)
const vitest = spawnSync(vitestNode, vitestArgs, { stdio: 'inherit' })

// Browser tests in Chromium (web-test-runner.config.mjs). SPEC §8: they run inside a network namespace
// that has only `lo`, so nothing they start can reach beyond this machine; that needs root.
const browserReport = join(reports, 'browser.json')
console.log('\n▶ browser tests (web-test-runner, Chromium)')
const wtrCommand = [
  node,
  'node_modules/@web/test-runner/dist/bin.js',
  '--config',
  'web-test-runner.config.mjs',
]
const wtrOptions = { stdio: 'inherit', env: { ...process.env, SWARMDROP_WTR_SUMMARY: browserReport } }
let browser
if (process.getuid?.() === 0) {
  const inNamespace = ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...wtrCommand]
  browser = spawnSync('unshare', inNamespace, wtrOptions)
} else {
  console.log('browser tests run without a network namespace (only lo): not root, so none can be made')
  browser = spawnSync(wtrCommand[0], wtrCommand.slice(1), wtrOptions)
}

// End-to-end tests (vitest.e2e.config.ts): several Chromium profiles, Node peers and the swarmdrop command
// (its text UI in tmux) downloading from each other through the real signal server. Same namespace rule
// as the browser tests (SPEC §8).
const e2eReport = join(reports, 'e2e.json')
console.log('\n▶ end-to-end tests (vitest, several Chromium browsers, Firefox ESR, Node peers and swarmdrop)')
const e2eCommand = vitestCommand(e2eReport, 'vitest.e2e.config.ts')
let e2e
if (process.getuid?.() === 0) {
  const inNamespace = ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...e2eCommand]
  e2e = spawnSync('unshare', inNamespace, { stdio: 'inherit' })
} else {
  console.log('end-to-end tests run without a network namespace (only lo): not root, so none can be made')
  e2e = spawnSync(e2eCommand[0], e2eCommand.slice(1), { stdio: 'inherit' })
}

// The NAT lab (vitest.nat.config.ts, test/nat): it builds its own network namespaces (NAT routers, a public
// segment with the server and coturn, Chromium in each home network), none linked to any real network, so
// it runs outside `unshare`. Without root it skips every case and says why.
const natReport = join(reports, 'nat.json')
console.log('\n▶ NAT lab (network namespaces, NAT routers, coturn, Chromium in each home network)')
const [natNode, ...natArgs] = vitestCommand(natReport, 'vitest.nat.config.ts')
const nat = spawnSync(natNode, natArgs, { stdio: 'inherit' })

/** A suite's counts; a suite that wrote no report counts as one failure, so it cannot pass unseen. */
function countsOf(path, read) {
  return existsSync(path)
    ? read(JSON.parse(readFileSync(path, 'utf8')))
    : { passed: 0, failed: 1, skipped: 0 }
}
/** The counts of a vitest JSON report. */
const vitestCounts = (r) => ({
  passed: r.numPassedTests,
  failed: r.numFailedTests,
  skipped: r.numPendingTests + r.numTodoTests,
})
const suites = [
  countsOf(report, vitestCounts),
  countsOf(browserReport, (r) => r),
  countsOf(e2eReport, vitestCounts),
  countsOf(natReport, vitestCounts),
]
const total = (key) => suites.reduce((sum, counts) => sum + counts[key], 0)
console.log(`\n${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped`)
const statuses = [vitest.status, browser.status, e2e.status, nat.status]
process.exit(statuses.every((status) => status === 0) ? 0 : statuses.find((status) => status) || 1)
