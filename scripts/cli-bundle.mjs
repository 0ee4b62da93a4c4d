// Where the headless peer's bundle is and what it is built from: shared by the build (build-cli.mjs) and the
// launcher (swarmdrop.mjs), which must not load esbuild just to find out that nothing needs building.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CLI_BUNDLE = join(ROOT, 'dist/cli/swarmdrop.js')
/** What the bundle is built from: it is stale when any of these is newer. */
export const CLI_SOURCES = [
  'cli',
  'web/peer',
  'web/storage',
  'shared',
  'package.json',
  'package-lock.json',
].map((p) => join(ROOT, p))
