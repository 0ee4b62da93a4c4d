/**
 * Where the README's screenshots go: over docs/screenshots only when asked (`UPDATE_SCREENSHOTS=1`),
 * otherwise to a temp folder, so that `npm test` leaves the working tree clean.
 */
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'swarmdrop-screenshots-'))
mkdirSync(SCREENSHOTS, { recursive: true })
