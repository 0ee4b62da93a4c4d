// `npm test`: every test. Checks the system packages the suites drive (Debian's chromium and coturn),
// installing them when root, then lint, type check, build, and the test suites. Exits non-zero on any failure.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Debian packages whose binaries the tests run, and the binary that shows each is there. */
const SYSTEM_PACKAGES = [
  { name: 'chromium', binary: '/usr/bin/chromium' },
  { name: 'coturn', binary: '/usr/bin/turnserver' },
]

function ensureSystemPackages() {
  const missing = SYSTEM_PACKAGES.filter((p) => !existsSync(p.binary)).map((p) => p.name)
  if (missing.length === 0) return
  const isRoot = process.getuid?.() === 0
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

const report = join(mkdtempSync(join(tmpdir(), 'swarmdrop-test-')), 'vitest.json')
console.log('\n▶ unit and server tests (vitest)')
const vitest = spawnSync(
  node,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ],
  { stdio: 'inherit' },
)
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8'))
  const skipped = results.numPendingTests + results.numTodoTests
  console.log(`\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`)
}
process.exit(vitest.status ?? 1)
