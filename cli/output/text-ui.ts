/**
 * The text UI of `swarmdrop share` on a terminal (the original design's): a readline prompt with
 * completion of digests by prefix, the commands below, and events printed above the prompt as they come.
 *
 *   list [query]      files on the tracker: name, size, chunks, seeders, digest
 *   peers DIGEST      who holds a file, how many chunks each, how this peer is connected to each
 *   get DIGEST        download a file into the folder
 *   status            this folder's files: progress, rates, sources; the connection and peers
 *   ring              this peer's place in the ring (the page's Network panel, as text)
 *   pause|resume|remove DIGEST
 *   help, quit        (Ctrl-C and Ctrl-D quit too)
 */
import { createInterface, type Interface } from 'node:readline'
import { SwarmError } from '../../shared/errors.js'
import { formatBytes, formatRate } from '../../shared/format.js'
import type { Folder } from '../folder/folder.js'
import type { HeadlessPeer } from '../headless-peer.js'
import type { Level, Output } from './output.js'
import { describeError } from './reporter.js'
import { ringPanel } from './ring-panel.js'
import { bar, printable, progressLine, table } from './text.js'

const PROMPT = 'swarmdrop> '
/** Commands that take a digest, completed by prefix. */
const DIGEST_COMMANDS = new Set(['peers', 'get', 'pause', 'resume', 'remove'])
const COMMANDS = ['list', 'peers', 'get', 'status', 'ring', 'pause', 'resume', 'remove', 'help', 'quit']
/** Widest digest shown in `status`: enough to tell files apart and to type; `list` shows them whole. */
const SHORT_DIGEST = 16

const HELP = `commands:
  list [query]       files on the tracker (name, size, chunks, seeders, digest)
  peers DIGEST       who holds a file, and how this peer is connected to each
  get DIGEST         download a file into the folder
  status             this folder's files, rates and peers
  ring               this peer's place in the ring: neighbours, fingers, records, lookups
  pause DIGEST       stop a download (what is here stays)
  resume DIGEST      go on with a paused download
  remove DIGEST      stop sharing a file and delete it from the folder
  help               this list
  quit               say goodbye to the tracker and exit (Ctrl-C, Ctrl-D)
A DIGEST may be its first characters; Tab completes it.`

export interface TextUiOptions {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream & { columns?: number }
  /** Asked once, on quit, Ctrl-C or Ctrl-D. */
  onQuit(): void
}

interface Hashing {
  name: string
  bytesDone: number
  bytesTotal: number
}

export class TextUi implements Output {
  readonly #rl: Interface
  readonly #out: TextUiOptions['output']
  #peer: HeadlessPeer | undefined
  #hashing: Hashing | undefined
  #closed = false

  constructor(private readonly options: TextUiOptions) {
    this.#out = options.output
    this.#rl = createInterface({
      input: options.input,
      output: options.output,
      prompt: PROMPT,
      terminal: true,
      historySize: 200,
      completer: (line: string) => this.#complete(line),
    })
    this.#rl.on('line', (line) => void this.#run(line))
    this.#rl.on('SIGINT', () => this.#quit())
    this.#rl.on('close', () => this.#quit())
  }

  /** Watches the folder's hashing, for `status` (before its start-up scan, like the reporter). */
  watchFolder(folder: Folder): void {
    folder.on('hashing', (hashing) => {
      this.#hashing = hashing.bytesDone < hashing.bytesTotal ? hashing : undefined
    })
    folder.on('shared', () => {
      this.#hashing = undefined
    })
  }

  /** Starts taking commands. */
  start(peer: HeadlessPeer): void {
    this.#peer = peer
    this.#print(`folder ${printable(peer.folder.layout.dir)}: type "help" for the commands`)
    this.#rl.prompt()
  }

  event(_level: Level, name: string, text: string): void {
    if (name === 'progress') return // `status` shows it; a line every tenth would bury the prompt
    this.#print(text)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#rl.close()
  }

  #quit(): void {
    if (this.#closed) return
    this.close()
    this.#out.write('\nquitting: saying goodbye to the tracker\n')
    this.options.onQuit()
  }

  /** Prints above the prompt, then draws the prompt again with what was being typed. */
  #print(text: string): void {
    if (this.#closed) {
      this.#out.write(`${text}\n`)
      return
    }
    this.#out.write(`\r\x1b[K${text}\n`)
    this.#rl.prompt(true)
  }

  #complete(line: string): [string[], string] {
    const match = /^(\S+)\s+(\S*)$/.exec(line)
    if (match && DIGEST_COMMANDS.has(match[1]!) && this.#peer) {
      const prefix = match[2]!.toLowerCase()
      return [this.#peer.knownDigests().filter((digest) => digest.startsWith(prefix)), match[2]!]
    }
    if (/^\S*$/.test(line)) return [COMMANDS.filter((command) => command.startsWith(line)), line]
    return [[], line]
  }

  async #run(line: string): Promise<void> {
    const [command = '', ...args] = line.trim().split(/\s+/)
    const peer = this.#peer
    if (!command || !peer) return this.#rl.prompt()
    try {
      switch (command) {
        case 'list':
          return this.#print(await this.#list(peer, args.join(' ')))
        case 'peers':
          return this.#print(await this.#peers(peer, await peer.resolve(needDigest(command, args))))
        case 'get': {
          const digest = await peer.resolve(needDigest(command, args))
          await peer.get(digest)
          return this.#print(`getting ${printable(peer.nameOf(digest) ?? digest)}`)
        }
        case 'status':
          return this.#print(this.#status(peer))
        case 'ring':
          return this.#print(ringPanel(peer.engine.ringStatus()))
        case 'pause': {
          const digest = await peer.resolve(needDigest(command, args))
          peer.pause(digest)
          return
        }
        case 'resume': {
          const digest = await peer.resolve(needDigest(command, args))
          await peer.resume(digest)
          return this.#print(`resuming ${printable(peer.nameOf(digest) ?? digest)}`)
        }
        case 'remove':
          return await this.#remove(peer, await peer.resolve(needDigest(command, args)))
        case 'help':
        case '?':
          return this.#print(HELP)
        case 'quit':
        case 'exit':
          return this.#quit()
        default:
          return this.#print(`no command "${printable(command)}": type "help"`)
      }
    } catch (error) {
      const message = error instanceof SwarmError ? describeError(error) : (error as Error).message
      this.#print(`${command}: ${message}`)
    }
  }

  async #list(peer: HeadlessPeer, query: string): Promise<string> {
    const page = await peer.list(query || undefined)
    if (page.files.length === 0)
      return query ? `no file matches "${printable(query)}"` : 'the catalog is empty'
    const rows = page.files.map((f) => [
      f.names[0] ?? '',
      formatBytes(f.size),
      String(f.chunkCount),
      `${f.seeders}/${f.leechers}`,
      f.digest,
    ])
    const shown =
      page.files.length < page.total
        ? `\n${page.files.length} of ${page.total} files: narrow it with a query`
        : ''
    return (
      table(
        [
          { title: 'NAME', max: this.#nameWidth(90) },
          { title: 'SIZE', align: 'right' },
          { title: 'CHUNKS', align: 'right' },
          { title: 'SEED/LEECH', align: 'right' },
          { title: 'DIGEST' },
        ],
        rows,
      ) + shown
    )
  }

  async #peers(peer: HeadlessPeer, digest: string): Promise<string> {
    const rows = await peer.peers(digest)
    const name = printable(peer.nameOf(digest) ?? digest)
    if (rows.length === 0) return `nobody else holds ${name} right now`
    return `${name}:\n${table(
      [
        { title: 'PEER' },
        { title: 'CHUNKS', align: 'right' },
        { title: 'CONNECTION' },
        { title: 'DOWN', align: 'right' },
        { title: 'UP', align: 'right' },
      ],
      rows.map((row) => [
        row.peerId,
        `${row.chunks}/${row.chunkCount}`,
        row.connection,
        formatRate(row.downloadBytesPerSecond),
        formatRate(row.uploadBytesPerSecond),
      ]),
    )}`
  }

  #status(peer: HeadlessPeer): string {
    const tracker = peer.engine.tracker.status
    const rates = peer.totalRates()
    const lines = [
      [
        tracker.state === 'online' ? `online as ${tracker.peerId}` : `server ${tracker.state}`,
        `${peer.engine.swarm.sessions.length} connected ${peer.engine.swarm.sessions.length === 1 ? 'peer' : 'peers'}`,
        `up ${formatRate(rates.up)}`,
        `down ${formatRate(rates.down)}`,
      ].join(' · '),
    ]
    const queued = peer.folder.hashQueueLength
    if (this.#hashing || queued > 0) {
      const now = this.#hashing
        ? `hashing ${printable(this.#hashing.name)} ${bar(this.#hashing.bytesDone, this.#hashing.bytesTotal, 10)}`
        : 'hashing'
      lines.push(`${now}${queued > 0 ? `, ${queued} more to hash` : ''}`)
    }
    const files = peer.files()
    if (files.length === 0) return [...lines, 'no files in the folder yet'].join('\n')
    const rows = files.map((file) => [
      file.state,
      file.state === 'seeding'
        ? bar(1, 1, 10)
        : progressLine(
            {
              bytesHere: file.bytesHere,
              size: file.size,
              bytesPerSecond: file.bytesPerSecond,
              sources: file.sources,
            },
            10,
          ),
      file.name,
      formatBytes(file.size),
      file.digest.slice(0, SHORT_DIGEST),
    ])
    lines.push(
      table(
        [
          { title: 'STATE' },
          { title: 'PROGRESS' },
          { title: 'NAME', max: this.#nameWidth(40) },
          { title: 'SIZE', align: 'right' },
          { title: 'DIGEST' },
        ],
        rows,
      ),
    )
    for (const file of files) {
      if (file.error) lines.push(`${printable(file.name)}: ${describeError(file.error)}`)
      else if (file.state === 'assembling' && peer.folder.awaitsCombine(file.digest))
        lines.push(`${printable(file.name)}: complete, waiting to be assembled ("resume" tries again)`)
    }
    return lines.join('\n')
  }

  async #remove(peer: HeadlessPeer, digest: string): Promise<void> {
    const names = peer.folder.namesOf(digest)
    if (names.length > 0) {
      const answer = await new Promise<string>((resolve) =>
        this.#rl.question(`delete ${names.map(printable).join(', ')} from the folder? [y/N] `, resolve),
      )
      if (!/^y(es)?$/i.test(answer.trim())) return this.#print('kept')
    }
    const removed = await peer.remove(digest)
    this.#print(
      removed.length > 0
        ? `removed ${removed.map(printable).join(', ')}`
        : `stopped ${printable(peer.nameOf(digest) ?? digest)} and deleted its chunk files`,
    )
  }

  /** Room for names in a table: the terminal's width less what the other columns take. */
  #nameWidth(others: number): number {
    return Math.max(16, (this.#out.columns ?? 120) - others)
  }
}

function needDigest(command: string, args: string[]): string {
  if (!args[0]) throw new Error(`usage: ${command} DIGEST (Tab completes it)`)
  return args[0]
}
