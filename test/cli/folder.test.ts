/**
 * The headless peer's folder with the real engine and tracker (links in memory): complete files shared
 * in place and known again from the hash cache, downloads kept as `.chunk` files and combined into the
 * file under its sanitised name, resumed and re-verified after a restart, unknown chunk files kept and
 * adopted, duplicates, the watcher, and a full disk.
 */
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CliError } from '../../cli/errors.js'
import type { FolderEvents } from '../../cli/folder/folder.js'
import type { FolderIo } from '../../cli/folder/io.js'
import { nodeIo } from '../../cli/folder/io.js'
import { chunkFileName } from '../../cli/folder/layout.js'
import { HeadlessPeer } from '../../cli/headless-peer.js'
import { manifestDigest, manifestOf } from '../../shared/manifest.js'
import { MemoryLinkNetwork } from '../../web/peer/memory-link.js'
import { sanitizeFileName } from '../../web/storage/file-name.js'
import { startTestServer } from '../support/server.js'
import { until } from '../support/until.js'
import {
  bytesOf,
  createSocket,
  MemoryPeer,
  MiB,
  openCli,
  opened,
  type TestServer,
  tempDir,
} from './support/peers.js'

const dirs: string[] = []
const servers: TestServer[] = []

afterEach(async () => {
  for (const peer of opened.splice(0).reverse()) await peer.close()
  await Promise.all(servers.splice(0).map((s) => s.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function setUp() {
  const server = await startTestServer()
  servers.push(server)
  const dir = tempDir('folder')
  dirs.push(dir)
  return { server, dir, network: new MemoryLinkNetwork() }
}

/** Records every event of one kind a peer's folder emits. */
function record<K extends keyof FolderEvents>(peer: HeadlessPeer, type: K): FolderEvents[K][] {
  const seen: FolderEvents[K][] = []
  peer.folder.on(type, (event) => seen.push(event))
  return seen
}

async function digestOf(bytes: Uint8Array): Promise<string> {
  return manifestDigest(await manifestOf(bytes))
}

const visible = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name !== '.swarmdrop')
    .sort()
const tempFiles = (dir: string) => readdirSync(join(dir, '.swarmdrop', 'tmp'))

describe('the folder of the headless peer', () => {
  it('shares the files in DIR under the digests a browser computes, and knows them from its cache on the next start', async () => {
    const { server, dir, network } = await setUp()
    const files = {
      'film.mkv': bytesOf(5 * MiB + 17, 1),
      'notes.txt': bytesOf(1000, 2),
      'empty.dat': bytesOf(0, 3),
    }
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes)
    writeFileSync(join(dir, '.hidden'), 'not shared')

    const first = await openCli(dir, server, network)
    await until(() => server.tracker.stats().files === 3, 'three files in the catalog')
    const browser = await MemoryPeer.open(server, network)
    const page = await browser.engine.catalog()
    const expected = await Promise.all(
      Object.entries(files).map(async ([name, bytes]) => [await digestOf(bytes), [name]]),
    )
    expect(page.files.map((f) => [f.digest, f.names]).sort()).toEqual(expected.sort())
    expect(first.files().map((f) => f.state)).toEqual(['seeding', 'seeding', 'seeding'])
    await first.close()

    const scans: FolderEvents['scanned'][] = []
    const again = await HeadlessPeer.open({
      dir,
      trackerUrl: server.url,
      createSocket,
      createLink: network.createLink,
      listen: (folder) => folder.on('scanned', (scan) => scans.push(scan)),
    })
    opened.push(again)
    expect(scans).toEqual([{ files: 3, bytes: 5 * MiB + 1017, fromCache: 3, toHash: 0, downloads: 0 }])
    expect(again.files().map((f) => f.state)).toEqual(['seeding', 'seeding', 'seeding'])
  })

  it('downloads into .chunk files and combines them into the file under its sanitised name', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(6 * MiB + 5, 4)
    const hostile = '<b>x</b>../../etc/evil.sh'
    const shared = await seeder.share(bytes, hostile)
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    const cli = await openCli(dir, server, network)
    const combined = record(cli, 'combined')
    const chunkFilesSeen = new Set<string>()
    const download = await cli.get(shared.digest)
    download.on('chunk', ({ state }) => {
      if (state === 'here') for (const name of visible(dir)) chunkFilesSeen.add(name)
    })
    await until(() => combined.length === 1, 'the file combined')

    const name = sanitizeFileName(hostile)
    expect(combined[0]).toMatchObject({
      digest: shared.digest,
      name,
      size: bytes.length,
    })
    expect(visible(dir)).toEqual([name])
    expect(readFileSync(join(dir, name)).equals(Buffer.from(bytes))).toBe(true)
    expect([...chunkFilesSeen].some((n) => n === chunkFileName(shared.digest, 0))).toBe(true)
    expect(tempFiles(dir)).toEqual([])
    expect(cli.files()).toMatchObject([{ digest: shared.digest, state: 'seeding', names: [name] }])
    // It is served from the file from now on: a third peer gets it from the CLI alone.
    seeder.engine.destroy()
    const third = await MemoryPeer.open(server, network)
    await (await third.engine.fetch(shared.digest)).once('complete')
  })

  it('gives a download whose name is taken the next free one, and leaves the file there alone', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(2 * MiB, 15)
    const shared = await seeder.share(bytes, 'clash.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    const mine = bytesOf(1000, 16)
    writeFileSync(join(dir, 'clash.bin'), mine)
    const cli = await openCli(dir, server, network)
    const combined = record(cli, 'combined')
    await cli.get(shared.digest)
    await until(() => combined.length === 1, 'the file combined')
    expect(combined[0]!.name).toBe('clash (1).bin')
    expect(readFileSync(join(dir, 'clash (1).bin')).equals(Buffer.from(bytes))).toBe(true)
    expect(readFileSync(join(dir, 'clash.bin')).equals(Buffer.from(mine))).toBe(true)
  })

  it('resumes from its .chunk files after a restart, deleting one that fails its check and fetching it again', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(5 * MiB, 5)
    const shared = await seeder.share(bytes, 'resume.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    // What a CLI stopped mid-way leaves: its record, and chunks 0, 2 and 3 (3 damaged on disk since).
    const cli = await openCli(dir, server, network)
    const downloaded = await cli.engine.manifestOf(shared.digest)
    await cli.close()
    writeFileSync(
      join(dir, '.swarmdrop', 'manifests', `${shared.digest}.json`),
      JSON.stringify({ ...shared, origin: 'downloaded', manifest: downloaded }),
    )
    for (const index of [0, 2, 3]) {
      const chunk = bytes.subarray(index * MiB, (index + 1) * MiB)
      writeFileSync(join(dir, chunkFileName(shared.digest, index)), index === 3 ? bytesOf(MiB, 9) : chunk)
    }
    const uploads: number[] = []
    seeder.engine.swarm.on('uploaded', () => uploads.push(1))

    const dropped: FolderEvents['chunks-dropped'][] = []
    const again = await openCli(dir, server, network, {
      listen: (folder) => folder.on('chunks-dropped', (event) => dropped.push(event)),
    })
    expect(dropped).toEqual([{ digest: shared.digest, indices: [3] }])
    const combined = record(again, 'combined')
    await until(() => combined.length === 1, 'the resumed download combined')
    expect(readFileSync(join(dir, 'resume.bin')).equals(Buffer.from(bytes))).toBe(true)
    // Only what was missing came over: chunks 1 and 4, and 3 again.
    expect(uploads.length).toBe(3)
    expect(visible(dir)).toEqual(['resume.bin'])
  })

  it('keeps .chunk files whose manifest it does not know, and adopts them once the tracker knows it', async () => {
    const { server, dir, network } = await setUp()
    const bytes = bytesOf(4 * MiB, 6)
    const manifest = await manifestOf(bytes)
    const digest = await manifestDigest(manifest)
    for (const index of [1, 2])
      writeFileSync(join(dir, chunkFileName(digest, index)), bytes.subarray(index * MiB, (index + 1) * MiB))
    const stranger = `${'f'.repeat(64)}`
    writeFileSync(join(dir, chunkFileName(stranger, 0)), 'nobody knows me')

    const cli = await openCli(dir, server, network)
    expect([...cli.folder.unknownChunks]).toEqual(
      expect.arrayContaining([
        [digest, 2],
        [stranger, 1],
      ]),
    )
    expect(server.tracker.stats().files).toBe(0) // not announced
    const adopted = record(cli, 'adopted')
    const combined = record(cli, 'combined')

    const seeder = await MemoryPeer.open(server, network)
    await seeder.share(bytes, 'late.bin')
    // The next welcome looks again; so does `get` at once.
    await cli.get(digest)
    await until(() => combined.length === 1, 'the adopted download combined')
    expect(adopted).toEqual([{ digest, name: 'late.bin', chunks: 2, chunkCount: 4 }])
    expect(readFileSync(join(dir, 'late.bin')).equals(Buffer.from(bytes))).toBe(true)
    expect(existsSync(join(dir, chunkFileName(stranger, 0)))).toBe(true)
    expect([...cli.folder.unknownChunks.keys()]).toEqual([stranger])
  })

  it('shares two files with the same bytes once, and goes on sharing when one of them is deleted', async () => {
    const { server, dir, network } = await setUp()
    const bytes = bytesOf(2 * MiB + 1, 7)
    writeFileSync(join(dir, 'a.bin'), bytes)
    writeFileSync(join(dir, 'b.bin'), bytes)
    const cli = await openCli(dir, server, network)
    await until(() => server.tracker.stats().files === 1, 'one file in the catalog')
    const digest = await digestOf(bytes)
    expect(cli.folder.namesOf(digest).sort()).toEqual(['a.bin', 'b.bin'])

    const unshared = record(cli, 'unshared')
    unlinkSync(join(dir, 'a.bin'))
    await until(() => unshared.length === 1, 'a.bin seen gone')
    expect(cli.folder.namesOf(digest)).toEqual(['b.bin'])
    const browser = await MemoryPeer.open(server, network)
    await (await browser.engine.fetch(digest)).once('complete')
    await until(
      async () => (await server.tracker.registry.entry(digest))?.seeders === 2,
      'the browser seeding beside the CLI',
    )
  })

  it('picks up a file added while running, and stops sharing one removed', async () => {
    const { server, dir, network } = await setUp()
    const cli = await openCli(dir, server, network)
    const shared = record(cli, 'shared')
    const bytes = bytesOf(3 * MiB, 8)
    writeFileSync(join(dir, 'later.bin'), bytes)
    await until(() => server.tracker.stats().files === 1, 'the new file in the catalog')
    expect(shared).toEqual([
      { name: 'later.bin', digest: await digestOf(bytes), size: bytes.length, fromCache: false },
    ])
    unlinkSync(join(dir, 'later.bin'))
    await until(() => server.tracker.stats().files === 0, 'the file gone from the catalog')
    expect(cli.files()).toEqual([])
  })

  it('pauses and resumes a download, and removes a file: its chunk files, or every complete copy', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const slow = bytesOf(8 * MiB, 12)
    const shared = await seeder.share(slow, 'paused.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    const bytes = bytesOf(MiB + 3, 13)
    writeFileSync(join(dir, 'keep.bin'), bytes)
    writeFileSync(join(dir, 'copy of keep.bin'), bytes)
    const cli = await openCli(dir, server, network)
    // The seeder serves two chunks, then holds every read until the test lets it go.
    const read = seeder.engine.local.read.bind(seeder.engine.local)
    let reads = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    seeder.engine.local.read = async (digest, index) => {
      if (++reads > 2) await gate
      return read(digest, index)
    }
    const download = await cli.get(shared.digest)
    await until(() => download.progress().chunksHere >= 2, 'two chunks here')
    cli.pause(shared.digest)
    expect(cli.files().find((f) => f.digest === shared.digest)).toMatchObject({ state: 'paused' })
    release()
    await cli.resume(shared.digest)
    await until(() => download.state === 'complete', 'the resumed download complete')

    const keep = await digestOf(bytes)
    await until(() => server.tracker.registry.entry(keep) !== undefined, 'keep.bin hashed and announced')
    expect((await cli.remove(keep)).sort()).toEqual(['copy of keep.bin', 'keep.bin'])
    await until(
      () => server.tracker.registry.entry(keep) === undefined,
      'the removed file gone from the catalog',
    )
    // The download's chunk files become paused.bin after `complete` (seen still unassembled under load 20).
    await until(() => cli.folder.namesOf(shared.digest).length > 0, 'the download assembled')
    expect(visible(dir)).toEqual(['paused.bin'])
    expect(cli.files().map((f) => f.digest)).toEqual([shared.digest])
  })

  it('removes a download in progress: its chunk files and its record go', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(6 * MiB, 14)
    const shared = await seeder.share(bytes, 'dropped.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    const cli = await openCli(dir, server, network)
    const read = seeder.engine.local.read.bind(seeder.engine.local)
    let reads = 0
    seeder.engine.local.read = async (digest, index) => {
      if (++reads > 3) await new Promise(() => {}) // the rest never comes
      return read(digest, index)
    }
    const download = await cli.get(shared.digest)
    await until(() => download.progress().chunksHere >= 3, 'three chunks here')
    expect(visible(dir).filter((n) => n.endsWith('.chunk'))).toHaveLength(3)
    expect(await cli.remove(shared.digest)).toEqual([])
    expect(visible(dir)).toEqual([])
    expect(readdirSync(join(dir, '.swarmdrop', 'manifests'))).toEqual([])
    expect(cli.files()).toEqual([])
  })

  it('pauses a download on a full disk, with only whole verified chunk files written', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(8 * MiB, 10)
    const shared = await seeder.share(bytes, 'big.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    const disk = fillingDisk(3 * MiB)
    const cli = await openCli(dir, server, network, { io: disk.io })
    const download = await cli.get(shared.digest)
    await until(() => download.state === 'error', 'the download paused on the full disk')

    expect(download.progress().error?.code).toBe('QUOTA_EXCEEDED')
    expect(cli.files()).toMatchObject([{ state: 'error', error: { code: 'QUOTA_EXCEEDED' } }])
    const chunkFiles = visible(dir).filter((n) => n.endsWith('.chunk'))
    expect(chunkFiles.length).toBeGreaterThan(0)
    expect(chunkFiles.length).toBeLessThanOrEqual(3)
    for (const name of chunkFiles) {
      const index = Number(name.split('.')[1])
      expect(
        readFileSync(join(dir, name)).equals(Buffer.from(bytes.subarray(index * MiB, (index + 1) * MiB))),
      ).toBe(true)
    }
    expect(visible(dir).filter((n) => !n.endsWith('.chunk'))).toEqual([])
    // Writes still in flight when the download paused fail too, and clean up after themselves.
    await until(() => disk.writing === 0, 'the writes in flight done')
    expect(tempFiles(dir)).toEqual([])

    disk.room = Number.POSITIVE_INFINITY // space freed: resume finishes it
    const combined = record(cli, 'combined')
    await cli.resume(shared.digest)
    await until(
      () => combined.length === 1,
      `the resumed download combined (${JSON.stringify(download.progress())}, ${download.state})`,
    )
    expect(readFileSync(join(dir, 'big.bin')).equals(Buffer.from(bytes))).toBe(true)
  })

  it('keeps the chunk files of a finished download when the disk is too full to assemble it, and assembles it on resume', async () => {
    const { server, dir, network } = await setUp()
    const seeder = await MemoryPeer.open(server, network)
    const bytes = bytesOf(4 * MiB, 11)
    const shared = await seeder.share(bytes, 'tight.bin')
    await until(() => server.tracker.stats().files === 1, 'the file in the catalog')
    // Room for the four chunk files and half of the assembled file.
    const disk = fillingDisk(6 * MiB)
    const cli = await openCli(dir, server, network, { io: disk.io })
    const problems = record(cli, 'problem')
    await cli.get(shared.digest)
    await until(() => problems.length === 1, 'the problem of assembling')

    expect(problems[0]).toMatchObject({
      digest: shared.digest,
      name: 'tight.bin',
      error: { code: 'QUOTA_EXCEEDED' },
    })
    expect(visible(dir)).toEqual([0, 1, 2, 3].map((i) => chunkFileName(shared.digest, i)).sort())
    expect(tempFiles(dir)).toEqual([])
    expect(cli.files()).toMatchObject([{ state: 'assembling' }])

    disk.room = Number.POSITIVE_INFINITY
    const combined = record(cli, 'combined')
    await cli.resume(shared.digest)
    await until(() => combined.length === 1, 'the file assembled')
    expect(visible(dir)).toEqual(['tight.bin'])
  })

  it('refuses a folder that does not exist (bad usage), and a second swarmdrop on the same folder', async () => {
    const { server, dir, network } = await setUp()
    const open = (d: string) =>
      HeadlessPeer.open({
        dir: d,
        trackerUrl: server.url,
        createSocket,
        createLink: network.createLink,
      })
    await expect(open(join(dir, 'missing'))).rejects.toMatchObject({ exitCode: 2 })
    writeFileSync(join(dir, 'file'), 'x')
    await expect(open(join(dir, 'file'))).rejects.toMatchObject({ exitCode: 2 })
    const first = await open(dir)
    opened.push(first)
    const second = await open(dir).catch((error: unknown) => error)
    expect(second).toBeInstanceOf(CliError)
    expect(second).toMatchObject({ exitCode: 1 })
    expect((second as Error).message).toContain('already shared by another swarmdrop')
  })
})

/**
 * A disk with `room` bytes left for the folder's writes: beyond it, writes fail with ENOSPC part-way.
 * `writing` counts whole-file writes in flight.
 */
function fillingDisk(room: number): { io: FolderIo; room: number; writing: number } {
  const disk = {
    room,
    writing: 0,
    io: {
      writeFile: async (path: string, bytes: Uint8Array) => {
        disk.writing++
        try {
          if (bytes.length > disk.room) {
            await nodeIo.writeFile(path, bytes.subarray(0, Math.max(0, disk.room)))
            disk.room = 0
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
          }
          disk.room -= bytes.length
          await nodeIo.writeFile(path, bytes)
        } finally {
          // The caller's clean-up (deleting the temp file) runs in the next microtasks.
          setTimeout(() => disk.writing--, 20)
        }
      },
      createFile: async (path: string) => {
        const file = await nodeIo.createFile(path)
        return {
          ...file,
          write: async (bytes: Uint8Array) => {
            if (bytes.length > disk.room) {
              await file.write(bytes.subarray(0, Math.max(0, disk.room)))
              disk.room = 0
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
            }
            disk.room -= bytes.length
            await file.write(bytes)
          },
        }
      },
    } satisfies FolderIo,
  }
  return disk
}
