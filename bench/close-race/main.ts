/**
 * bench/close-race: can a remote peer crash `swarmdrop share`? @roamhq/wrtc segfaults when a send races
 * the data channel's close on WebRTC's own thread (node-webrtc #435, #576), and a remote peer chooses when
 * its side closes. Each cycle, a hostile peer (test/e2e/support/hostile-peer.ts: a real tracker connection
 * and a real @roamhq/wrtc link) asks the seeder for every chunk of a 64 MiB file, lets it send for 30 to
 * 430 ms, and closes the link while the chunks flow. It counts the seeder's peer process crashes (the
 * `restarting` events of cli/supervisor.ts) and deaths of the command itself (which must stay 0), and ends
 * with one honest download of the whole file from the same command (`swarmdrop get --exit`), byte-checked.
 *
 *   node --import tsx bench/close-race/main.ts [--cycles 400]
 *
 * Everything talks to a server in this process on 127.0.0.1; as root it runs in a network namespace with
 * only lo. It keeps a core busy for minutes: run it under `flock /tmp/swarmdrop-heavy.lock`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CliProcess } from '../../test/e2e/support/cli-process.js'
import { HostileNode } from '../../test/e2e/support/hostile-peer.js'
import { MiB, writeSourceFile } from '../../test/e2e/support/source-files.js'
import { sha256OfFile } from '../../test/support/file-hash.js'
import { startTestServer } from '../../test/support/server.js'
import { formatLoad } from '../ingest/figures.js'
import { isolation, reRunIsolatedIfRoot } from '../ingest/netns.js'

reRunIsolatedIfRoot(fileURLToPath(import.meta.url), process.argv.slice(2))

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '400' } } })
const CYCLES = Number(values.cycles)
/** How long a cycle lets the seeder send before it closes the link: spread so closes land mid-send. */
const SEND_MIN_MS = 30
const SEND_SPREAD_MS = 400
const START_TIMEOUT_MS = 60_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const loadAtStart = loadavg()
const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-close-race-'))
const file = await writeSourceFile(dir, 'served.bin', 64 * MiB, 'close race')
const server = await startTestServer()
const seeder = CliProcess.start('seeder', ['share', dir, '--server', server.httpUrl])
await seeder.waitFor((e) => e.event === 'shared', 'the file shared', START_TIMEOUT_MS)

const chunkCount = file.manifest.hashes.length
let closedMidSend = 0
let failedDials = 0
let seederDied = false
const started = Date.now()
for (let cycle = 0; cycle < CYCLES && !seederDied; cycle++) {
  // A restarted peer process is online under a new peer id; dial the newest.
  await seeder.waitFor((e) => e.event === 'online', 'the seeder online', START_TIMEOUT_MS)
  const node = await HostileNode.start(server.url)
  try {
    const link = await node.dial(seeder.peerId!)
    link.hello()
    link.control({ type: 'interested', digest: file.digest })
    for (let k = 0; k < chunkCount; k++) {
      link.control({ type: 'request', id: k + 1, digest: file.digest, index: (k + cycle) % chunkCount })
    }
    await sleep(SEND_MIN_MS + Math.random() * SEND_SPREAD_MS)
    if (link.report.chunkBytes > 0) closedMidSend++
    link.close()
  } catch {
    failedDials++ // the peer process was restarting, or refused a dial under load
  } finally {
    node.close()
  }
  seederDied = (await Promise.race([seeder.exited, sleep(50).then(() => undefined)])) !== undefined
}
const seconds = (Date.now() - started) / 1000
const crashes = seeder.events.filter((e) => e.event === 'restarting')

// One honest download of the whole file from the same command (`swarmdrop get --exit`), byte-checked.
let servedAfter = 'not tried (the command died)'
if (!seederDied) {
  const into = mkdtempSync(join(tmpdir(), 'swarmdrop-close-race-get-'))
  const getter = CliProcess.start('downloader', [
    'get',
    file.digest,
    '--dir',
    into,
    '--exit',
    '--server',
    server.httpUrl,
  ])
  const { code } = await getter.exited
  const got = code === 0 ? await sha256OfFile(join(into, file.name)) : undefined
  servedAfter = got?.sha256 === file.sha256 ? 'yes, byte for byte' : `no (exit ${code}): ${getter.describe()}`
  rmSync(into, { recursive: true, force: true })
}

console.log(`network isolation: ${isolation()}; Node ${process.version}`)
console.log(`load average at start ${formatLoad(loadAtStart)}, at end ${formatLoad(loadavg())}`)
console.log(`| figure | value |\n|---|---|`)
console.log(
  `| cycles (link opened, every chunk asked, closed by the peer) | ${CYCLES} in ${seconds.toFixed(0)} s |`,
)
console.log(`| closed while chunks were flowing | ${closedMidSend} |`)
console.log(`| dials that failed (peer process restarting) | ${failedDials} |`)
console.log(
  `| peer process crashes, started again | ${crashes.length}${crashes.length > 0 ? ` (${[...new Set(crashes.map((e) => e.signal))].join(', ')})` : ''} |`,
)
console.log(`| the command died | ${seederDied ? `yes: ${seeder.describe()}` : 'no'} |`)
console.log(`| then \`swarmdrop get --exit\` of the file from it | ${servedAfter} |`)

await seeder.close()
await server.close()
rmSync(dir, { recursive: true, force: true })
process.exit(seederDied ? 1 : 0)
