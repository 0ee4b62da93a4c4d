/**
 * What the headless peer says while it runs without a terminal: one log line per event, with a server
 * that is down at start (a clear status line, backoff) and comes up later (online, files announced).
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { HeadlessPeer } from '../../cli/headless-peer.js'
import { LogOutput } from '../../cli/output/output.js'
import { reportEngine, reportFolder } from '../../cli/output/reporter.js'
import { SocketPool } from '../../cli/sockets.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { startTestServer } from '../support/server.js'
import { until } from '../support/until.js'
import { bytesOf, type TestServer, tempDir } from './support/peers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function lines(stream: PassThrough): string[] {
  const seen: string[] = []
  stream.on('data', (data: Buffer) => seen.push(...String(data).split('\n').filter(Boolean)))
  return seen
}

describe('the headless peer without a terminal', () => {
  it('says the server is offline and when it tries again, then comes online and announces the folder', async () => {
    // A port nothing listens on: a server started and stopped.
    const probe = await startTestServer()
    const port = probe.port
    await probe.close()
    const dir = tempDir('reporting')
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'seeded.bin'), bytesOf(100_000, 1))
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const [info, warnings] = [lines(stdout), lines(stderr)]
    const output = new LogOutput({ json: false, quiet: false, stdout, stderr })
    const sockets = new SocketPool()
    const network = new MemoryLinkNetwork()
    const peer = await HeadlessPeer.open({
      dir,
      trackerUrl: `ws://127.0.0.1:${port}/ws`,
      createSocket: sockets.create,
      createLink: network.createLink,
      listen: (folder) => reportFolder(folder, output, (digest) => digest),
    })
    cleanups.push(() => peer.close())
    reportEngine(peer, output, () => sockets.lastError)

    await until(() => warnings.length > 0, 'a line about the server')
    expect(warnings[0]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ warn: server offline \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); trying again in \\d+ s$`,
      ),
    )
    expect(
      info.some((line) => line.endsWith(`${dir}: 1 file (97.7 KiB), 0 known from the cache, 1 to hash`)),
    ).toBe(true)

    // The server comes (back): the backoff finds it, and the folder is announced.
    const server: TestServer = await startTestServer({ port })
    cleanups.push(() => server.close())
    await until(() => server.tracker.stats().files === 1, 'the file announced once the server is up', 15_000)
    expect(info.some((line) => / online \(peer [\w-]{16}\)$/.test(line))).toBe(true)
    expect(info.some((line) => / sharing seeded\.bin \(97\.7 KiB\) [0-9a-f]{64}$/.test(line))).toBe(true)
  }, 30_000)
})
