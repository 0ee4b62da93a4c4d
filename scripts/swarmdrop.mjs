#!/usr/bin/env node
// `swarmdrop` (package.json `bin`; `npx swarmdrop` in the repository): runs the bundled headless peer,
// building it first when it is missing or older than its sources. npm runs no install script here
// (.npmrc), so this is what makes `npx swarmdrop --help` work straight after `npm install`.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CLI_BUNDLE, CLI_SOURCES } from './cli-bundle.mjs'

function newestMtime(path) {
  const stats = statSync(path)
  if (!stats.isDirectory()) return stats.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

const stale =
  !existsSync(CLI_BUNDLE) ||
  statSync(CLI_BUNDLE).mtimeMs < Math.max(...CLI_SOURCES.filter(existsSync).map(newestMtime))
if (stale) {
  // esbuild is loaded only now (it is a development dependency, and slow to load).
  const { buildCli } = await import('./build-cli.mjs').catch((error) => {
    console.error(
      `swarmdrop: cannot build the command (${error.message}); run "npm install" in the repository`,
    )
    process.exit(1)
  })
  await buildCli()
}
process.setSourceMapsEnabled(true)
await import(pathToFileURL(CLI_BUNDLE).href)
