// Bundles the headless peer (cli/entry.ts) into dist/cli/swarmdrop.js: one file Node runs without
// TypeScript tooling. Written to temp names and renamed, so that a `swarmdrop` starting meanwhile (tests
// start several at once) never loads half a bundle.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CLI_BUNDLE = join(ROOT, 'dist/cli/swarmdrop.js')
/** What the bundle is built from: it is stale when any of these is newer. */
export const CLI_SOURCES = ['cli', 'web/peer', 'web/storage', 'shared', 'package.json'].map((p) =>
  join(ROOT, p),
)

export async function buildCli() {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const result = await build({
    entryPoints: [join(ROOT, 'cli/entry.ts')],
    outfile: CLI_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // ws, zod, simple-peer, @roamhq/wrtc stay in node_modules; only our own code is bundled.
    packages: 'external',
    define: { SWARMDROP_VERSION: JSON.stringify(version) },
    write: false,
    logLevel: 'warning',
  })
  mkdirSync(dirname(CLI_BUNDLE), { recursive: true })
  // The map first: the bundle that names it appears last.
  const files = [...result.outputFiles].sort(
    (a, b) => Number(a.path.endsWith('.js')) - Number(b.path.endsWith('.js')),
  )
  for (const file of files) {
    const temp = `${file.path}.${process.pid}.tmp`
    writeFileSync(temp, file.contents)
    renameSync(temp, file.path)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await buildCli()
