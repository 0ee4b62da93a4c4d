/**
 * Builds the harness page (../harness) with Vite and the app's own plugins (vite.config.ts), so that
 * simple-peer's Node polyfills are there exactly as in the app. The output goes to a temp dir that the
 * real server serves as its web root.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, loadConfigFromFile } from 'vite'

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HARNESS_ROOT = fileURLToPath(new URL('../harness/', import.meta.url))

/** Builds the harness; returns the directory holding index.html and its assets. */
export async function buildHarness(): Promise<string> {
  const loaded = await loadConfigFromFile(
    { command: 'build', mode: 'production' },
    join(REPO_ROOT, 'vite.config.ts'),
    REPO_ROOT,
    'warn',
  )
  if (!loaded) throw new Error('vite.config.ts did not load')
  const outDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-web-'))
  await build({
    configFile: false,
    root: HARNESS_ROOT,
    publicDir: false,
    logLevel: 'warn',
    plugins: loaded.config.plugins ?? [],
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
  })
  return outDir
}
