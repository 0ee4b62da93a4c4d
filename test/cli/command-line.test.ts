/**
 * The command line: what it accepts, what it refuses (exit code 2, one line), the server address made
 * into the tracker's WebSocket URL, digests and links, and text made safe for a terminal.
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { parseCommand } from '../../cli/args.js'
import { CliError } from '../../cli/errors.js'
import { main } from '../../cli/main.js'
import { printable, progressLine, table } from '../../cli/output/text.js'
import { trackerUrlOf } from '../../cli/server-url.js'
import { parseTarget } from '../../cli/target.js'

const DIGEST = 'ab'.repeat(32)

function usage(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(2)
    return (error as Error).message
  }
  throw new Error('expected a usage error')
}

describe('the server address', () => {
  it.each([
    ['https://swarm.example.org', 'wss://swarm.example.org/ws'],
    ['http://127.0.0.1:8080/', 'ws://127.0.0.1:8080/ws'],
    ['https://example.org/swarm/', 'wss://example.org/swarm/ws'],
    [`https://example.org/#${DIGEST}`, 'wss://example.org/ws'],
    ['wss://example.org/custom', 'wss://example.org/custom'],
  ])('%s is the tracker at %s', (input, url) => {
    expect(trackerUrlOf(input)).toBe(url)
  })

  it('refuses what is not an http(s) or ws(s) address', () => {
    expect(usage(() => trackerUrlOf('swarm.example.org'))).toContain('not a server address')
    expect(usage(() => trackerUrlOf('ftp://example.org'))).toContain('must start with https://')
  })
})

describe('what get and peers are given', () => {
  it('takes a digest, the start of one, or a link that also names the server', () => {
    expect(parseTarget(DIGEST.toUpperCase())).toEqual({ digest: DIGEST })
    expect(parseTarget('abab12')).toEqual({ digest: 'abab12' })
    expect(parseTarget(`https://swarm.example.org/#${DIGEST}`)).toEqual({
      digest: DIGEST,
      server: 'https://swarm.example.org/',
    })
  })

  it('refuses anything else, saying what it wanted', () => {
    expect(usage(() => parseTarget('abc'))).toContain('neither a digest')
    expect(usage(() => parseTarget('movie.mkv'))).toContain('neither a digest')
    expect(usage(() => parseTarget('https://swarm.example.org/'))).toContain('names no file')
    expect(usage(() => parseTarget(`https://swarm.example.org/#${DIGEST}.c2VjcmV0`))).toContain(
      'private links',
    )
  })
})

describe('the command line', () => {
  const env = { SWARMDROP_SERVER: 'https://env.example.org' }

  it('parses each command, the server from --server or SWARMDROP_SERVER', () => {
    expect(parseCommand(['share', 'films', '--server', 'http://127.0.0.1:8080'], {}, '/home/a')).toEqual({
      kind: 'share',
      dir: '/home/a/films',
      trackerUrl: 'ws://127.0.0.1:8080/ws',
      output: { json: false, quiet: false },
    })
    expect(
      parseCommand(
        [
          'share',
          'd',
          '--listen',
          '9000',
          '--entry',
          'ws://10.0.0.2:9000/',
          '--entry',
          'wss://b.example.org',
        ],
        env,
        '/',
      ),
    ).toMatchObject({
      kind: 'share',
      listenPort: 9000,
      entryUrls: ['ws://10.0.0.2:9000', 'wss://b.example.org'],
    })
    expect(parseCommand(['get', DIGEST, '--dir', '/tmp/x', '--exit', '--json'], env, '/')).toMatchObject({
      kind: 'get',
      targets: [{ digest: DIGEST }],
      dir: '/tmp/x',
      exit: true,
      trackerUrl: 'wss://env.example.org/ws',
      output: { json: true, quiet: false },
    })
    // A link names its server; an explicit --server wins over it.
    expect(parseCommand(['get', `https://link.example.org/#${DIGEST}`], {}, '/')).toMatchObject({
      trackerUrl: 'wss://link.example.org/ws',
      dir: '/',
    })
    expect(parseCommand(['get', DIGEST, 'abab12'], env, '/')).toMatchObject({
      targets: [{ digest: DIGEST }, { digest: 'abab12' }],
    })
    expect(parseCommand(['list', 'holiday', '-q'], env, '/')).toMatchObject({
      kind: 'list',
      query: 'holiday',
    })
    expect(parseCommand(['peers', DIGEST], env, '/')).toMatchObject({
      kind: 'peers',
      target: { digest: DIGEST },
    })
    expect(parseCommand([], {}, '/')).toEqual({ kind: 'help' })
    expect(parseCommand(['get', '--help'], {}, '/')).toEqual({ kind: 'help', topic: 'get' })
    expect(parseCommand(['--version'], {}, '/')).toEqual({ kind: 'version' })
  })

  it.each([
    [['bogus'], 'no command "bogus"'],
    [['share'], 'usage: swarmdrop share DIR'],
    [['share', 'a', 'b', '--server', 'http://x'], 'usage: swarmdrop share DIR'],
    [['share', 'dir'], 'no server given'],
    [['share', 'dir', '--server', 'http://x', '--frobnicate'], "Unknown option '--frobnicate'"],
    [['list', '--server'], "Option '--server <value>' argument missing"],
    [['share', 'dir', '--server', 'http://x', '--listen', '0'], '--listen takes a port'],
    [['share', 'dir', '--server', 'http://x', '--listen', '70000'], '--listen takes a port'],
    [['share', 'dir', '--server', 'http://x', '--entry', 'http://x:1'], '--entry takes a ws://'],
    [['get', DIGEST, '--server', 'http://x', '--listen', '9000'], "Unknown option '--listen'"],
    [['get', 'not-a-digest', '--server', 'http://x'], 'neither a digest'],
    [['help', 'nothing'], 'no command "nothing"'],
  ])('refuses %j as bad usage', (argv, message) => {
    expect(usage(() => parseCommand(argv, {}, '/'))).toContain(message)
  })

  it('exits 0 with the help, and 2 with one line on stderr for bad usage', async () => {
    const terminal = () => ({
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    })
    const ok = terminal()
    expect(await main(['--help'], { terminal: ok, env: {} })).toBe(0)
    expect(String(ok.stdout.read())).toContain('swarmdrop share DIR --server URL')
    const bad = terminal()
    expect(await main(['share', 'x'], { terminal: bad, env: {} })).toBe(2)
    expect(String(bad.stderr.read())).toBe(
      'swarmdrop: no server given: pass --server URL, or set SWARMDROP_SERVER\n',
    )
    const missing = terminal()
    expect(
      await main(['share', '/no/such/folder', '--server', 'http://127.0.0.1:9'], {
        terminal: missing,
        env: {},
      }),
    ).toBe(2)
    expect(String(missing.stderr.read())).toContain('/no/such/folder does not exist')
  })

  it('exits 1 when the server cannot be reached', async () => {
    const terminal = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once, every attempt.
    const started = Date.now()
    expect(await main(['list', '--server', 'http://127.0.0.1:9'], { terminal, env: {} })).toBe(1)
    expect(String(terminal.stderr.read())).toMatch(
      /cannot reach the server at ws:\/\/127\.0\.0\.1:9\/ws \(connect ECONNREFUSED/,
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000)
  }, 20_000)
})

describe('text for a terminal', () => {
  it('shows control characters in names as ?, so that no name can move the cursor or forge a line', () => {
    expect(printable('evil\x1b[2J\nname\u202e.txt')).toBe('evil?[2J?name?.txt')
  })

  it('lays a table out in padded columns, shortening what is too wide', () => {
    const text = table(
      [
        { title: 'NAME', max: 8 },
        { title: 'SIZE', align: 'right' },
      ],
      [
        ['a very long name.mkv', '1.2 GiB'],
        ['b', '3 B'],
      ],
    )
    expect(text.split('\n')).toEqual(['NAME         SIZE', 'a very …  1.2 GiB', 'b             3 B'])
  })

  it('draws a progress line with bytes, rate, ETA and sources', () => {
    expect(
      progressLine({ bytesHere: 512 * 1024, size: 1024 * 1024, bytesPerSecond: 256 * 1024, sources: 3 }, 10),
    ).toBe('[#####-----]  50%  512 KiB of 1.0 MiB  256 KiB/s  ETA 2 s  3 sources')
  })
})
