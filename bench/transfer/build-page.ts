/**
 * Bundles the transfer bench page with the project's own Vite config (vite.config.ts), so the page gets
 * the same node polyfills simple-peer needs in the app and runs web/peer and web/storage exactly as the
 * app's build does (module worker for the Ingester included). Only the root and output differ, unless an
 * experiment asks for another value of one of download.ts's constants (the app's code is not touched).
 */
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'vite'

const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url))
const PROJECT_VITE_CONFIG = fileURLToPath(new URL('../../vite.config.ts', import.meta.url))
const DOWNLOAD_MODULE = fileURLToPath(new URL('../../web/peer/download.ts', import.meta.url))

export interface PageExperiment {
  /** Replaces IN_FLIGHT_PER_SOURCE (chunks requested from one source at once) in this build only. */
  inFlightPerSource?: number
}

/** Rewrites `export const IN_FLIGHT_PER_SOURCE = …` in web/peer/download.ts as the bundle is made. */
function inFlightPerSource(value: number, applied: () => void): Plugin {
  return {
    name: 'swarmdrop-bench-in-flight',
    transform(code, id) {
      if (id !== DOWNLOAD_MODULE) return undefined
      applied()
      const pattern = /export const IN_FLIGHT_PER_SOURCE = \d+/
      // A renamed constant must stop the experiment, not let it measure the default silently.
      if (!pattern.test(code)) throw new Error('IN_FLIGHT_PER_SOURCE not found in web/peer/download.ts')
      return code.replace(pattern, `export const IN_FLIGHT_PER_SOURCE = ${value}`)
    },
  }
}

export async function buildPage(outDir: string, experiment: PageExperiment = {}): Promise<void> {
  const { inFlightPerSource: inFlight } = experiment
  let rewritten = false
  await build({
    // Inline settings override the file's: its plugins stay, its root (web/) and outDir do not.
    configFile: PROJECT_VITE_CONFIG,
    root: PAGE_ROOT,
    logLevel: 'warn',
    plugins:
      inFlight === undefined
        ? []
        : [
            inFlightPerSource(inFlight, () => {
              rewritten = true
            }),
          ],
    build: {
      outDir,
      emptyOutDir: true,
      // Readable stacks in a CPU profile cost nothing at run time.
      minify: false,
      reportCompressedSize: false,
    },
  })
  if (inFlight !== undefined && !rewritten) throw new Error(`${DOWNLOAD_MODULE} was not in the bundle`)
}
