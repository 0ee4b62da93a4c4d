/**
 * The headless peer with real processes: `swarmdrop` (the package's bin, over @roamhq/wrtc) and Chromium
 * (the harness page, the engine over IndexedDB) in one swarm, against the real signal server. Bytes are
 * checked in Node against the source; the CLI's side is read from its `--json` events and its folder.
 * Then the text UI in a real terminal (tmux). Run by scripts/test.mjs inside a network namespace that has
 * only `lo` (SPEC §8); the full-disk case mounts a small tmpfs in a mount namespace of its own (root).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../signal/server.js'
import { sanitizeFileName } from '../../web/storage/file-name.js'
import { sha256OfFile } from '../support/file-hash.js'
import { until } from '../support/until.js'
import { BrowserPeer, launchChromium, type SavedFile } from './support/browsers.js'
import { type HarnessServer, serveHarness } from './support/build-harness.js'
import { type CliEvent, CliProcess, SWARMDROP } from './support/cli-process.js'
import { MiB, type SourceFile, writeSourceFile } from './support/source-files.js'

/** Longest one download may take: loopback moves ~20 MB/s here, the CLI more. */
const DOWNLOAD_TIMEOUT_MS = 60_000
/** Longest the CLI may take to start, hash a file of tens of MiB and announce it. */
const SHARE_TIMEOUT_MS = 30_000
/** Longest a download may take to reach the point where the test acts (a share of the file). */
const MILESTONE_TIMEOUT_MS = 30_000
/** Longest the text UI may take to show what it was asked (a tracker round trip, a download). */
const UI_TIMEOUT_MS = 15_000
/**
 * The tmpfs of the full-disk case: room for its file and the headroom the CLI asks before it starts
 * (cli/folder/disk-space.ts); another program fills it once the first chunk file is there.
 */
const FULL_DISK_MIB = 128

const isRoot = process.getuid?.() === 0

let browser: Browser
let harness: HarnessServer
let server: RunningServer
let baseUrl: string
let workDir: string
const browsers: BrowserPeer[] = []
const clis: CliProcess[] = []

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'swarmdrop-e2e-cli-'))
  harness = await serveHarness('warn')
  ;({ server, baseUrl } = harness)
  browser = await launchChromium()
})

afterEach(async () => {
  await Promise.all(clis.splice(0).map((cli) => cli.close()))
  await Promise.all(browsers.splice(0).map((peer) => peer.close().catch(() => {})))
})

afterAll(async () => {
  await browser?.close()
  await harness?.close()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
  const log = harness?.log ?? []
  if (log.length > 0) console.log(`server warnings and errors:\n${log.slice(-20).join('\n')}`)
})

/** A fresh folder under the test's work dir. */
function folder(label: string): string {
  return mkdtempSync(join(workDir, `${label}-`))
}

function startCli(
  label: string,
  args: string[],
  options: Parameters<typeof CliProcess.start>[2] = {},
): CliProcess {
  const cli = CliProcess.start(label, [...args, '--server', baseUrl], options)
  clis.push(cli)
  return cli
}

async function openBrowser(label: string): Promise<BrowserPeer> {
  const peer = await BrowserPeer.open(browser, baseUrl, label)
  browsers.push(peer)
  return peer
}

/** Starts `swarmdrop share DIR` and waits until it announces `file`. */
async function cliSeeding(label: string, dir: string, file: SourceFile): Promise<CliProcess> {
  const cli = startCli(label, ['share', dir])
  await cli.waitFor(
    (e) => e.event === 'shared' && e.digest === file.digest,
    `${label} sharing ${file.name}`,
    SHARE_TIMEOUT_MS,
  )
  await until(() => server.tracker.registry.entry(file.digest) !== undefined, 'the file in the catalog')
  return cli
}

const isProgress = (digest: string, atLeast: number) => (e: CliEvent) =>
  e.event === 'progress' && e.digest === digest && (e.chunksHere as number) >= atLeast

/** Waits for a browser's download of `file` to complete, and checks what it saved byte for byte. */
async function completed(receiver: BrowserPeer, file: SourceFile, saved: Promise<SavedFile>) {
  const done = await receiver.waitFor(
    file.digest,
    (p) => p.state === 'complete',
    'the download',
    DOWNLOAD_TIMEOUT_MS,
  )
  const { suggestedFilename, size, sha256 } = await saved
  expect(suggestedFilename).toBe(sanitizeFileName(file.name))
  expect(size).toBe(file.size)
  expect(sha256).toBe(file.sha256)
  return done
}

/** What is in a folder besides its `.swarmdrop` state. */
function contents(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name !== '.swarmdrop')
    .sort()
}

/** The peer process a `swarmdrop share|get` runs its peer in (cli/supervisor.ts): its only child. */
function peerProcessOf(cli: CliProcess): number {
  const children = readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, 'utf8').trim().split(/\s+/)
  expect(children, 'one peer process').toHaveLength(1)
  return Number(children[0])
}

/** Whether a process runs (a zombie, dead but not reaped by init yet, does not). */
function running(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('the headless peer and Chromium in one swarm', () => {
  it('a CLI seeds and Chromium downloads the file byte for byte; SIGTERM says goodbye to the tracker', async () => {
    const dir = folder('cli-seeds')
    const file = await writeSourceFile(dir, 'from the terminal.bin', 32 * MiB, 'cli seeds')
    const cli = await cliSeeding('seeder CLI', dir, file)
    const receiver = await openBrowser('receiver')

    const saved = receiver.watchDownload(DOWNLOAD_TIMEOUT_MS)
    await receiver.fetch(file.digest)
    const done = await completed(receiver, file, saved)
    expect(done.fromPeers).toEqual({ [cli.peerId!]: file.manifest.hashes.length })

    const online = server.tracker.stats().peersOnline
    cli.kill('SIGTERM')
    expect(await cli.exited).toEqual({ code: 0, signal: null })
    // The goodbye, not the heartbeat (30 s): the tracker forgets it at once.
    expect(server.tracker.stats().peersOnline).toBe(online - 1)
    expect(cli.events.at(-1)?.event).toBe('stopped')
  })

  it('Chromium seeds and `swarmdrop get --exit` downloads the file byte for byte, then exits 0', async () => {
    const file = await writeSourceFile(
      folder('browser-seeds'),
      'from the browser.bin',
      32 * MiB,
      'browser seeds',
    )
    const seeder = await openBrowser('seeder')
    await seeder.share([file.path])
    const into = folder('cli-downloads')

    const cli = startCli('downloader CLI', ['get', file.digest.slice(0, 12), '--dir', into, '--exit'])
    expect(await cli.exited, cli.describe()).toEqual({ code: 0, signal: null })
    const name = sanitizeFileName(file.name)
    expect(contents(into)).toEqual([name])
    expect(await sha256OfFile(join(into, name))).toEqual({ size: file.size, sha256: file.sha256 })
    expect(cli.events.find((e) => e.event === 'complete')).toMatchObject({
      digest: file.digest,
      size: file.size,
    })
    expect((await seeder.uploads()).byPeer).toEqual({ [cli.peerId!]: file.manifest.hashes.length })
  })

  it('one download is fed by a CLI and a browser at once, and finishes from the browser when the CLI is killed', async () => {
    const dir = folder('two-seeders')
    const file = await writeSourceFile(dir, 'two seeders.bin', 64 * MiB, 'two seeders')
    const chunkCount = file.manifest.hashes.length
    const cli = await cliSeeding('seeder CLI', dir, file)
    const browserSeeder = await openBrowser('seeder browser')
    await browserSeeder.share([file.path])
    await until(async () => (await server.tracker.registry.entry(file.digest))?.seeders === 2, 'two seeders')
    const receiver = await openBrowser('receiver')

    const saved = receiver.watchDownload(DOWNLOAD_TIMEOUT_MS)
    await receiver.fetch(file.digest)
    const fromBoth = await receiver.waitFor(
      file.digest,
      (p) =>
        p.chunksHere >= chunkCount / 2 &&
        (p.fromPeers[cli.peerId!] ?? 0) > 0 &&
        (p.fromPeers[browserSeeder.peerId] ?? 0) > 0,
      'half the chunks, from both seeders',
      MILESTONE_TIMEOUT_MS,
    )
    expect(fromBoth.chunksHere).toBeLessThan(chunkCount)
    cli.kill('SIGKILL') // mid-way, as a crash or a power cut would
    const atKill = (await receiver.progress(file.digest))!
    const done = await completed(receiver, file, saved)
    console.log(
      `killed the CLI seeder at ${atKill.chunksHere}/${chunkCount} chunks; from the CLI ${done.fromPeers[cli.peerId!]}, ` +
        `from the browser ${done.fromPeers[browserSeeder.peerId]}`,
    )
    expect(done.fromPeers[cli.peerId!]).toBeGreaterThan(0)
    expect(done.fromPeers[cli.peerId!]! + done.fromPeers[browserSeeder.peerId]!).toBe(chunkCount)
    expect(atKill.chunksHere).toBeLessThan(chunkCount)
  })

  it("a CLI seeder's peer process that crashes (SIGSEGV, as @roamhq/wrtc can) is started again and the download finishes from it; a SIGKILL of the command ends its peer process too", async () => {
    const dir = folder('crashing-seeder')
    const file = await writeSourceFile(dir, 'crash.bin', 64 * MiB, 'crashing seeder')
    const chunkCount = file.manifest.hashes.length
    const cli = await cliSeeding('seeder CLI', dir, file)
    const before = cli.peerId!
    const receiver = await openBrowser('receiver')

    const saved = receiver.watchDownload(DOWNLOAD_TIMEOUT_MS)
    await receiver.fetch(file.digest)
    const atCrash = await receiver.waitFor(
      file.digest,
      (p) => p.chunksHere >= chunkCount / 4,
      'a quarter of the chunks',
      MILESTONE_TIMEOUT_MS,
    )
    expect(atCrash.chunksHere).toBeLessThan(chunkCount)
    // What @roamhq/wrtc's race does to the process that runs the links (cli/supervisor.ts).
    process.kill(peerProcessOf(cli), 'SIGSEGV')
    await cli.waitFor(
      (e) => e.event === 'restarting' && e.signal === 'SIGSEGV',
      'the restart',
      MILESTONE_TIMEOUT_MS,
    )
    // The new peer process is the same peer: the folder's key pair gives it the same peer id (SPEC §9).
    const restartedAt = cli.events.findIndex((e) => e.event === 'restarting')
    await cli.waitFor(
      (e) => e.event === 'online' && cli.events.indexOf(e) > restartedAt,
      'the new peer process online',
      SHARE_TIMEOUT_MS,
    )
    expect(cli.peerId).toBe(before)
    const done = await completed(receiver, file, saved)
    console.log(
      `crashed the CLI's peer process at ${atCrash.chunksHere}/${chunkCount} chunks; ` +
        `the download then finished from its restarted process (the same peer id)`,
    )
    // The CLI was the only source, and a quarter was here at the crash: the rest came from the new process.
    expect(done.fromPeers[before]).toBe(chunkCount)

    const peerProcess = peerProcessOf(cli)
    cli.kill('SIGKILL')
    await cli.exited
    await until(() => !running(peerProcess), 'the peer process to end with its command', 5_000)
  })

  it('a CLI killed mid-download resumes from its .chunk files when started again, fetching none of them twice', async () => {
    const file = await writeSourceFile(folder('resume-source'), 'resumed.bin', 64 * MiB, 'cli resumes')
    const chunkCount = file.manifest.hashes.length
    const seeder = await openBrowser('seeder')
    await seeder.share([file.path])
    const into = folder('cli-resumes')

    const first = startCli('first CLI', ['get', file.digest, '--dir', into])
    await first.waitFor(isProgress(file.digest, chunkCount * 0.3), '30% of the chunks', MILESTONE_TIMEOUT_MS)
    first.kill('SIGKILL')
    await first.exited
    const kept = contents(into).filter((name) => name.endsWith('.chunk')).length
    expect(contents(into).every((name) => name.endsWith('.chunk'))).toBe(true)
    expect(kept).toBeGreaterThanOrEqual(chunkCount * 0.3)
    expect(kept).toBeLessThan(chunkCount)
    const servedBefore = (await seeder.uploads()).chunks

    const again = startCli('restarted CLI', ['get', file.digest, '--dir', into, '--exit'])
    expect(await again.exited, again.describe()).toEqual({ code: 0, signal: null })
    expect(again.events.find((e) => e.event === 'scanned')).toMatchObject({ downloads: 1 })
    expect(await sha256OfFile(join(into, file.name))).toEqual({ size: file.size, sha256: file.sha256 })
    expect(contents(into)).toEqual([file.name])
    const servedAfter = (await seeder.uploads()).chunks - servedBefore
    console.log(
      `killed at ${kept}/${chunkCount} chunk files; the restarted CLI fetched ${servedAfter} chunks`,
    )
    expect(servedAfter).toBeLessThanOrEqual(chunkCount - kept)
  })

  it.skipIf(!isRoot)(
    'when the disk fills mid-way the download stops with a clear message, with only whole verified chunk files written',
    async () => {
      const file = await writeSourceFile(folder('full-source'), 'filled up.bin', 48 * MiB, 'full disk')
      const seeder = await openBrowser('seeder')
      await seeder.share([file.path])
      const into = folder('full-disk')
      // The tmpfs exists only in the CLI's own mount namespace; another program (cat) fills it once the
      // download has begun, and the shell lists what the CLI left before the namespace goes.
      const script = [
        `mount -t tmpfs -o size=${FULL_DISK_MIB}m tmpfs "$DIR"`,
        '(until ls "$DIR" | grep -q chunk; do sleep 0.02; done; cat /dev/zero > "$DIR/.filler" 2>/dev/null) &',
        '"$@"',
        'code=$?',
        'cd "$DIR" && for f in *.chunk; do sha256sum "$f"; done',
        'ls -A "$DIR" | sed "s/^/LISTED /"',
        'ls -A .swarmdrop/tmp | sed "s/^/TEMP /"',
        'exit $code',
      ].join('\n')
      const cli = startCli('CLI on a full disk', ['get', file.digest, '--dir', into, '--exit'], {
        env: { DIR: into },
        launch: (command, args, options) =>
          spawn('unshare', ['-m', 'sh', '-c', script, 'sh', command, ...args], {
            ...options,
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
      })
      const { code } = await cli.exited
      expect(code, cli.describe()).toBe(1)
      expect(cli.events.find((e) => e.event === 'download-failed')).toMatchObject({ code: 'QUOTA_EXCEEDED' })
      expect(cli.log.join('\n')).toMatch(/the disk is full/)
      const listed = cli.log
        .filter((l) => l.startsWith('stdout: LISTED '))
        .map((l) => l.slice('stdout: LISTED '.length))
      const chunkFiles = listed.filter((name) => name.endsWith('.chunk'))
      expect(listed.filter((name) => !name.endsWith('.chunk')).sort()).toEqual(['.filler', '.swarmdrop'])
      expect(chunkFiles.length).toBeGreaterThan(0)
      expect(cli.log.filter((l) => l.startsWith('stdout: TEMP '))).toEqual([])
      // Every chunk file there is whole: its SHA-256 is the manifest's for its index.
      const sums = cli.log.filter((l) => /^stdout: [0-9a-f]{64} {2}/.test(l))
      expect(sums).toHaveLength(chunkFiles.length)
      for (const line of sums) {
        const [, hash, , index] = /^stdout: ([0-9a-f]{64}) {2}([0-9a-f]{64})\.(\d+)\.chunk$/.exec(line)!
        expect(hash).toBe(file.manifest.hashes[Number(index)])
      }
    },
  )
})

describe('the text UI in a real terminal (tmux)', () => {
  const session = `swarmdrop-e2e-${process.pid}`
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', session, '-f', '/dev/null', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TERM: 'xterm-256color' },
    })
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', 'ui')
  const type = (text: string) => tmux('send-keys', '-t', 'ui', '-l', text)
  const press = (...keys: string[]) => tmux('send-keys', '-t', 'ui', ...keys)
  async function shows(pattern: RegExp, what: string): Promise<string> {
    let text = ''
    await until(
      () => {
        text = screen()
        return pattern.test(text)
      },
      `the terminal to show ${what}`,
      UI_TIMEOUT_MS,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the terminal shows:\n${text}`)
    })
    return text
  }

  afterEach(() => {
    try {
      tmux('kill-server')
    } catch {
      // no server: the session ended by itself
    }
  })

  it('lists, shows peers, completes a digest, downloads, shows status and quits with a goodbye', async () => {
    const seederDir = folder('tui-seeder')
    const file = await writeSourceFile(seederDir, 'for the terminal.bin', 8 * MiB, 'tui')
    const seeder = await cliSeeding('seeder CLI', seederDir, file)
    const dir = folder('tui')
    tmux(
      'new-session',
      '-d',
      '-x',
      '220',
      '-y',
      '50',
      '-s',
      'ui',
      `${process.execPath} ${SWARMDROP} share ${dir} --server ${baseUrl}; echo "EXIT=$?"; sleep 60`,
    )
    await shows(/online \(peer [\w-]{16}\)/, 'the peer online')
    const peersBefore = server.tracker.stats().peersOnline

    type('list')
    press('Enter')
    await shows(
      new RegExp(`for the terminal\\.bin\\s+8\\.0 MiB\\s+8\\s+1/0\\s+${file.digest}`),
      'the catalog',
    )

    type(`peers ${file.digest.slice(0, 6)}`)
    press('Enter')
    // The CLI is a ring member at once and joins through the catalog's holders (ring-host.ts bootstrap), so
    // it may have linked to the seeder already: either is the truth, and the row must say which.
    await shows(new RegExp(`${seeder.peerId}\\s+8/8\\s+(not connected|direct)`), 'the seeder among the peers')

    type(`get ${file.digest.slice(0, 8)}`)
    press('Tab')
    await shows(new RegExp(`swarmdrop> get ${file.digest}`), 'the digest completed')
    press('Enter')
    await shows(/complete: .*for the terminal\.bin \(8\.0 MiB\)/, 'the download complete')
    expect(await sha256OfFile(join(dir, file.name))).toEqual({ size: file.size, sha256: file.sha256 })

    type('status')
    press('Enter')
    await shows(/seeding\s+\[#{10}\]\s+for the terminal\.bin\s+8\.0 MiB/, 'the file seeding')

    type('quit')
    press('Enter')
    await shows(/EXIT=0/, 'the command exited 0')
    expect(server.tracker.stats().peersOnline).toBe(peersBefore - 1)
  })
})
