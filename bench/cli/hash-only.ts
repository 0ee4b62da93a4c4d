/**
 * The "hashing alone" arm of bench/cli's share figure: every file directly in DIR read and hashed into its
 * manifest and digest, one after another, with the CLI's own hashFile (cli/folder/hash-file.ts), and
 * nothing else. Bundled to plain JS by the bench, as the CLI is, and run in a process of its own.
 *
 *   node hash-only.js DIR     prints the number of files and bytes hashed
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { hashFile } from '../../cli/folder/hash-file.js'
import { manifestDigest } from '../../shared/manifest.js'

const dir = process.argv[2]
if (!dir) throw new Error('usage: hash-only DIR')
let files = 0
let bytes = 0
for (const name of (await readdir(dir)).sort()) {
  const path = join(dir, name)
  if (name.startsWith('.') || !(await stat(path)).isFile()) continue
  const { manifest } = await hashFile(path)
  await manifestDigest(manifest)
  files++
  bytes += manifest.size
}
console.log(JSON.stringify({ files, bytes }))
