/**
 * Error codes are a protocol (shared/errors.ts: "adding a code is a protocol change"): docs/PROTOCOL.md
 * lists every one, and every code the code base raises, sends or compares against is one it lists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../shared/errors.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The codes in the rows of PROTOCOL.md's "Error codes" section: each row starts with | `CODE` |. */
function documentedCodes(): Set<string> {
  const protocol = readFileSync(join(ROOT, 'docs/PROTOCOL.md'), 'utf8')
  const start = protocol.indexOf('\n## Error codes')
  const end = protocol.indexOf('\n## ', start + 1)
  expect(start).toBeGreaterThan(0)
  const section = protocol.slice(start, end)
  return new Set([...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((match) => match[1]!))
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

/**
 * Every code a source raises or sends: `new SwarmError('X'`, `sendError('X'`, and `code: 'X'` in an
 * object literal (errors built as data, e.g. the tracker client's events).
 */
function codesInSources(): Map<string, string> {
  const found = new Map<string, string>()
  const pattern = /(?:SwarmError\(\s*|sendError\(\s*|\bcode:\s*)'([A-Z][A-Z_]+)'/g
  for (const dir of ['shared', 'signal', 'web', 'cli']) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
        if (!found.has(match[1]!)) found.set(match[1]!, file.slice(ROOT.length))
      }
    }
  }
  return found
}

describe('error codes', () => {
  it('lists every code of shared/errors.ts in PROTOCOL.md, and nothing else', () => {
    const documented = documentedCodes()
    expect([...ERROR_CODES].filter((code) => !documented.has(code))).toEqual([])
    expect([...documented].filter((code) => !(ERROR_CODES as readonly string[]).includes(code))).toEqual([])
  })

  it('raises and sends only codes that PROTOCOL.md lists', () => {
    const documented = documentedCodes()
    const used = codesInSources()
    // The scan must see the codes it is meant to: it finds them where they are raised.
    expect(used.get('HELLO_REQUIRED')).toBe('shared/tracker-protocol.ts')
    expect(used.has('PEER_NOT_FOUND')).toBe(true)
    const undocumented = [...used]
      .filter(([code]) => !documented.has(code))
      .map(([code, file]) => `${code} (${file})`)
    expect(undocumented).toEqual([])
  })
})
