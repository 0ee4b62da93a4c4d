// Bundles the headless peer (cli/entry.ts) into dist/cli/swarmdrop.js: one file Node runs without
// TypeScript tooling. Written to temp names and renamed, so that a `swarmdrop` starting meanwhile (tests
// start several at once) never loads half a bundle.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'
import { CLI_BUNDLE, ROOT } from './cli-bundle.mjs'

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
    // Dependencies are bundled too: Node loading zod's hundreds of ES modules one by one took most of
    // the command's start (~0.4 s of 0.6 s). @roamhq/wrtc stays out (a native module, loaded by its own
    // package), as do ws's optional native helpers (it runs without them).
    external: ['@roamhq/wrtc', 'bufferutil', 'utf-8-validate'],
    // The CommonJS dependencies bundled in (simple-peer, debug, ws) require Node's built-ins.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
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
