// `npm run bench [-- NAME… --flag…]`: runs every benchmark in bench/ (a folder with a main.ts), one after
// another, each in its own child process with its output passed through. Names pick benchmarks; flags go
// to each benchmark picked. Exit code 1 when any benchmark failed to run (a missed target is not a failure:
// the benchmark prints it).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const BENCH_DIR = 'bench'
// A load benchmark holds one socket per simulated peer in the generator and again in the server under test;
// root may raise the limit past the hard one, anyone else up to it.
const OPEN_FILES = 65536

const args = process.argv.slice(2)
const firstFlag = args.findIndex((arg) => arg.startsWith('-'))
const names = firstFlag === -1 ? args : args.slice(0, firstFlag)
const flags = firstFlag === -1 ? [] : args.slice(firstFlag)

const all = readdirSync(BENCH_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(BENCH_DIR, entry.name, 'main.ts')))
  .map((entry) => entry.name)
  .sort()
const unknown = names.filter((name) => !all.includes(name))
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.join(', ')} (there are: ${all.join(', ')})`)
  process.exit(2)
}

let failed = 0
for (const name of names.length > 0 ? names : all) {
  console.log(`\n### bench/${name}\n`)
  const raise = `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`
  const result = spawnSync(
    'sh',
    ['-c', raise, 'sh', process.execPath, '--import', 'tsx', join(BENCH_DIR, name, 'main.ts'), ...flags],
    { stdio: 'inherit' },
  )
  if (result.status !== 0) {
    failed++
    console.error(`bench/${name} failed (exit ${result.status ?? result.signal})`)
  }
}
process.exit(failed > 0 ? 1 : 0)
