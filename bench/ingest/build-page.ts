/**
 * Bundles the bench page with the project's Vite, so that the page runs web/storage's `Ingester` and its
 * module worker exactly as the app's build does (`new Worker(new URL(…), { type: 'module' })`).
 */
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url))

export async function buildPage(outDir: string): Promise<void> {
  await build({
    // The app's vite.config.ts has its own root and dev proxy; the bench needs neither.
    configFile: false,
    root: PAGE_ROOT,
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // Readable stacks in a profile cost nothing at run time.
      minify: false,
      reportCompressedSize: false,
    },
    // Module workers may import chunks shared with the page, as the app's build allows.
    worker: { format: 'es' },
  })
}
