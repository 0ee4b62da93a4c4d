// Bundles the signal server into dist/server/main.js: one file Node runs without TypeScript tooling.
import { build } from 'esbuild'

export async function buildServer() {
  await build({
    entryPoints: ['signal/main.ts'],
    outfile: 'dist/server/main.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // ws and zod stay in node_modules; only our own code is bundled.
    packages: 'external',
    logLevel: 'warning',
  })
}

if (import.meta.url === `file://${process.argv[1]}`) await buildServer()
