import { defineConfig } from 'vitest/config'

/**
 * The end-to-end suite (`test/e2e/**\/*.e2e.ts`, a name the default `*.test.ts` run does not pick up):
 * several Chromium profiles and a Node peer against the real signal server. One file at a time, in one
 * process: the browsers already take both cores.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    // One case moves up to 64 MiB between browsers, plus ingest; each waits with its own bounded timeouts.
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
})
