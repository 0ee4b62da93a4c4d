/** `swarmdrop list [QUERY]`: the catalog as a table (or JSON), page after page up to MAX_LISTED. */
import { formatBytes } from '../../shared/format.js'
import type { CatalogEntry } from '../../shared/tracker-protocol.js'
import type { Command } from '../args.js'
import { EXIT_OK, type ExitCode } from '../errors.js'
import { table } from '../output/text.js'
import { withTracker } from './tracker-session.js'

/** Most entries printed: a catalog larger than this is narrowed with a query, not scrolled through. */
const MAX_LISTED = 1_000

export interface Terminal {
  stdout: NodeJS.WritableStream & { columns?: number; isTTY?: boolean }
  stderr: NodeJS.WritableStream
}

export async function runList(
  command: Extract<Command, { kind: 'list' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  const { files, total } = await withTracker(command.trackerUrl, async (tracker) => {
    const files: CatalogEntry[] = []
    let total = 0
    do {
      const page = await tracker.catalog({
        ...(command.query ? { query: command.query } : {}),
        offset: files.length,
      })
      total = page.total
      files.push(...page.files)
      if (page.files.length === 0) break
    } while (files.length < Math.min(total, MAX_LISTED))
    return { files: files.slice(0, MAX_LISTED), total }
  })
  if (command.output.json) {
    terminal.stdout.write(`${JSON.stringify({ total, files })}\n`)
    return EXIT_OK
  }
  if (files.length === 0) {
    terminal.stdout.write(command.query ? `no file matches "${command.query}"\n` : 'the catalog is empty\n')
    return EXIT_OK
  }
  const nameWidth = terminal.stdout.isTTY ? Math.max(16, (terminal.stdout.columns ?? 120) - 100) : undefined
  terminal.stdout.write(
    `${table(
      [
        { title: 'NAME', ...(nameWidth ? { max: nameWidth } : {}) },
        { title: 'SIZE', align: 'right' },
        { title: 'CHUNKS', align: 'right' },
        { title: 'SEEDERS', align: 'right' },
        { title: 'LEECHERS', align: 'right' },
        { title: 'DIGEST' },
      ],
      files.map((f) => [
        f.names[0] ?? '',
        formatBytes(f.size),
        String(f.chunkCount),
        String(f.seeders),
        String(f.leechers),
        f.digest,
      ]),
    )}\n`,
  )
  if (files.length < total)
    terminal.stdout.write(`${files.length} of ${total} files: narrow it with a query\n`)
  return EXIT_OK
}
