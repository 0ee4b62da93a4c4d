/**
 * Bundles the worker and the two tracker processes into plain JavaScript before a run: worker threads
 * cannot load TypeScript through tsx on Node 20, and a tracker child must not carry a TypeScript loader
 * whose memory would count in its RSS. Packages stay external, as in scripts/build-server.mjs.
 */
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const HERE = fileURLToPath(new URL('.', import.meta.url))
/** Under bench/results/ (git-ignored) and inside the repository, so `ws` and the rest resolve. */
const OUT_DIR = join(HERE, '..', 'results', 'build', 'tracker-load')

export interface Bundles {
  worker: string
  swarmdropServer: string
  bittorrentServer: string
  /** Swarmdrop's server from another checkout (`--baseline DIR`), to compare with in the same run. */
  baselineServer?: string
}

/**
 * `baseline`: a checkout (with its node_modules, e.g. a symlink to this one's) whose Swarmdrop server is
 * bundled too, into its own bench/results so that its packages resolve there.
 */
export async function buildBundles(baseline?: string): Promise<Bundles> {
  const entries = {
    worker: 'load-worker',
    swarmdropServer: 'swarmdrop-server',
    bittorrentServer: 'bittorrent-server',
  } as const
  await bundle(
    Object.values(entries).map((name) => join(HERE, `${name}.ts`)),
    OUT_DIR,
  )
  const out = (name: string) => join(OUT_DIR, `${name}.mjs`)
  const bundles: Bundles = {
    worker: out(entries.worker),
    swarmdropServer: out(entries.swarmdropServer),
    bittorrentServer: out(entries.bittorrentServer),
  }
  if (baseline === undefined) return bundles
  const baselineOut = join(resolve(baseline), 'bench', 'results', 'build', 'tracker-load')
  await bundle(
    [join(resolve(baseline), 'bench', 'tracker-load', `${entries.swarmdropServer}.ts`)],
    baselineOut,
  )
  return { ...bundles, baselineServer: join(baselineOut, `${entries.swarmdropServer}.mjs`) }
}

function bundle(entryPoints: string[], outdir: string): Promise<unknown> {
  return build({
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  })
}
