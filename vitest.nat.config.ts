import { defineConfig } from 'vitest/config'

/**
 * The NAT lab (`test/nat/**\/*.nat.ts`): network namespaces with NAT routers, the real server, coturn and a
 * headless Chromium in each home network. One case at a time in one process: each builds its own lab,
 * and two browsers already take both cores. Needs root; run by scripts/test.mjs outside any `unshare`,
 * since the lab makes its own namespaces.
 */
export default defineConfig({
  test: {
    include: ['test/nat/**/*.nat.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    // A case sets up a lab, ingests a file, and may wait out a connect timeout or a 10 s outage.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
})
