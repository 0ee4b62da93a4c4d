// Browser tests (`npx wtr`, and a step of `npm test`): web/storage in real headless Chromium, Debian's own
// build (no browser is downloaded), driven by Playwright. TypeScript is transformed by esbuild on the fly,
// the ingest worker included; bare imports (idb-keyval, hash-wasm, zod) are resolved from node_modules.
//
// Test files are `test/browser/**/*.browser-test.ts`, a name vitest's `*.test.ts` does not pick up.
// Each test file runs in its own page and its own browser context (an empty profile of its own).
import { writeFileSync } from 'node:fs'
import { esbuildPlugin } from '@web/dev-server-esbuild'
import { defaultReporter } from '@web/test-runner'
import { playwrightLauncher } from '@web/test-runner-playwright'
import { serverCommandsPlugin } from './test/browser/server-commands.mjs'
import { shellFixtureMiddleware, shellFixturePlugin } from './test/browser/shell-fixture.mjs'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/support/chromium.mjs'

/** One test's longest run: the largest ingest is 12 MiB, done in well under a second here. */
const TEST_TIMEOUT_MS = 20_000

/**
 * Writes `{ passed, failed, skipped }` over every test of the run to the file named by
 * SWARMDROP_WTR_SUMMARY, for scripts/test.mjs to add to vitest's counts. A test file that failed to load
 * or threw outside its tests counts as one failed test, so that it cannot pass unseen.
 */
function summaryFileReporter(path) {
  return {
    onTestRunFinished({ sessions }) {
      const counts = { passed: 0, failed: 0, skipped: 0 }
      const walk = (suite) => {
        for (const test of suite.tests) {
          if (test.skipped) counts.skipped += 1
          else if (test.passed) counts.passed += 1
          else counts.failed += 1
        }
        for (const child of suite.suites) walk(child)
      }
      for (const session of sessions) {
        if (session.testResults) walk(session.testResults)
        if (session.errors.length > 0 || (!session.passed && !session.testResults)) counts.failed += 1
      }
      writeFileSync(path, JSON.stringify(counts))
    },
  }
}

const summaryPath = process.env.SWARMDROP_WTR_SUMMARY

export default {
  rootDir: '.',
  files: ['test/browser/**/*.browser-test.ts'],
  nodeResolve: true,
  plugins: [
    esbuildPlugin({ ts: true, target: 'auto', tsconfig: 'tsconfig.json' }),
    serverCommandsPlugin,
    shellFixturePlugin,
  ],
  // The service worker's test serves a small app shell of its own, and takes its "server" down.
  middleware: [shellFixtureMiddleware],
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] },
    }),
  ],
  // Two cores: one page at a time keeps timings steady, and the suite is short.
  concurrency: 1,
  browserStartTimeout: 30_000,
  testsStartTimeout: 30_000,
  testsFinishTimeout: 60_000,
  testFramework: { config: { timeout: TEST_TIMEOUT_MS } },
  reporters: [defaultReporter(), ...(summaryPath ? [summaryFileReporter(summaryPath)] : [])],
}
