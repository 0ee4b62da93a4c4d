/**
 * The command line, parsed into one typed command. Anything it cannot make sense of — an unknown command
 * or option, a missing argument, a bad server address — is a usage error (exit code 2), said in one line.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { usageError } from './errors.js'
import { SERVER_ENV, trackerUrlOf } from './server-url.js'
import { parseTarget, type Target } from './target.js'

export interface OutputFlags {
  /** One JSON object a line on stdout, for scripts. */
  json: boolean
  /** Warnings and errors only. */
  quiet: boolean
}

export type Command =
  | { kind: 'help'; topic?: CommandName }
  | { kind: 'version' }
  | {
      kind: 'share'
      dir: string
      trackerUrl: string
      output: OutputFlags
      /** `--listen PORT`: a signalling entry point for peers that cannot reach the tracker (issue 13). */
      listenPort?: number
      /** `--entry URL`: other peers' `--listen` URLs to rejoin the ring through (kept with the contacts). */
      entryUrls?: string[]
    }
  | { kind: 'get'; targets: Target[]; dir: string; exit: boolean; trackerUrl: string; output: OutputFlags }
  | { kind: 'list'; query?: string; trackerUrl: string; output: OutputFlags }
  | { kind: 'peers'; target: Target; trackerUrl: string; output: OutputFlags }

export const COMMAND_NAMES = ['share', 'get', 'list', 'peers'] as const
export type CommandName = (typeof COMMAND_NAMES)[number]

/** Options every command takes. */
const COMMON = {
  server: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Each command's own options, beside the common ones. */
const OPTIONS = {
  share: { listen: { type: 'string' }, entry: { type: 'string', multiple: true } },
  get: { dir: { type: 'string', short: 'd' }, exit: { type: 'boolean' } },
  list: {},
  peers: {},
} as const

/** Positional arguments each command takes: [least, most]. */
const POSITIONALS: Record<CommandName, [number, number, string]> = {
  share: [1, 1, 'DIR'],
  get: [1, Number.POSITIVE_INFINITY, 'DIGEST|LINK…'],
  list: [0, 1, '[QUERY]'],
  peers: [1, 1, 'DIGEST'],
}

export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Command {
  const [first, ...rest] = argv
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? rest[0] : undefined
    if (topic !== undefined && !isCommandName(topic))
      throw usageError(`no command "${topic}": try swarmdrop --help`)
    return topic ? { kind: 'help', topic } : { kind: 'help' }
  }
  if (first === '--version' || first === '-V') return { kind: 'version' }
  if (!isCommandName(first)) throw usageError(`no command "${first}": try swarmdrop --help`)

  const parsed = parseOptions(first, rest)
  const positionals = parsed.positionals
  // One command's options at a time: parseArgs types them as a union over the commands.
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>
  if (values.help) return { kind: 'help', topic: first }
  const [least, most, usage] = POSITIONALS[first]
  if (positionals.length < least || positionals.length > most) {
    throw usageError(`usage: swarmdrop ${first} ${usage} --server URL (try swarmdrop ${first} --help)`)
  }
  const output = { json: values.json === true, quiet: values.quiet === true }
  const server = (values.server as string | undefined) ?? env[SERVER_ENV]
  switch (first) {
    case 'share': {
      const listen = values.listen as string | undefined
      const entries = (values.entry as string[] | undefined) ?? []
      return {
        kind: 'share',
        dir: resolve(cwd, positionals[0]!),
        trackerUrl: serverOf(server),
        output,
        ...(listen === undefined ? {} : { listenPort: portOf(listen) }),
        ...(entries.length > 0 ? { entryUrls: entries.map(entryUrlOf) } : {}),
      }
    }
    case 'get': {
      const targets = positionals.map(parseTarget)
      return {
        kind: 'get',
        targets,
        dir: resolve(cwd, (values.dir as string | undefined) ?? '.'),
        exit: values.exit === true,
        trackerUrl: serverOf(server ?? targets.find((t) => t.server)?.server),
        output,
      }
    }
    case 'list':
      return positionals[0]
        ? { kind: 'list', query: positionals[0], trackerUrl: serverOf(server), output }
        : { kind: 'list', trackerUrl: serverOf(server), output }
    case 'peers': {
      const target = parseTarget(positionals[0]!)
      return { kind: 'peers', target, trackerUrl: serverOf(server ?? target.server), output }
    }
  }
}

function parseOptions(command: CommandName, args: string[]) {
  try {
    return parseArgs({
      args,
      options: { ...COMMON, ...OPTIONS[command] },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    // parseArgs says what is wrong in a sentence of its own ("Unknown option '--x'", …).
    throw usageError(`${(error as Error).message.split('\n')[0]}: try swarmdrop ${command} --help`)
  }
}

function serverOf(server: string | undefined): string {
  if (!server) throw usageError(`no server given: pass --server URL, or set ${SERVER_ENV}`)
  return trackerUrlOf(server)
}

/** A TCP port to listen on: 1–65535 (0, "any free port", only makes sense in tests, which call the API). */
function portOf(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= 1 && port <= 65_535)) throw usageError(`--listen takes a port (1–65535), not "${text}"`)
  return port
}

/** Another peer's `--listen` URL: ws:// or wss://, as the ring keeps them (web/peer/ring/contacts.ts). */
function entryUrlOf(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usageError(`--entry takes a ws:// or wss:// URL, not "${text}"`)
  }
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || text.length > 200 || /\s/.test(text))
    throw usageError(`--entry takes a ws:// or wss:// URL, not "${text}"`)
  return url.href.replace(/\/$/, '')
}

function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name)
}
