/**
 * One swarmdrop per folder: two processes writing the same `.chunk` files and records would each
 * announce the other's half-written state. The lock file holds the owner's process id; a lock whose
 * process is gone (a crash, a power cut) is taken over.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { CliError, EXIT_FAILURE } from '../errors.js'
import { errnoOf, removeQuietly } from './io.js'
import type { FolderLayout } from './layout.js'

/** Takes the folder's lock; resolves with the function that releases it. */
export async function lockFolder(layout: FolderLayout): Promise<() => Promise<void>> {
  const mine = `${process.pid}\n`
  try {
    await writeFile(layout.lockFile, mine, { flag: 'wx' })
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error
    const owner = Number.parseInt(await readFile(layout.lockFile, 'utf8').catch(() => ''), 10)
    // Our own id counts too: two peers in one process (tests, a library user) must not share a folder either.
    if (Number.isInteger(owner) && isAlive(owner)) {
      throw new CliError(
        `${layout.dir} is already shared by another swarmdrop (process ${owner}); stop it first`,
        EXIT_FAILURE,
      )
    }
    await writeFile(layout.lockFile, mine)
  }
  return async () => {
    const owner = await readFile(layout.lockFile, 'utf8').catch(() => '')
    if (owner === mine) await removeQuietly(layout.lockFile).catch(() => {})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoOf(error) === 'EPERM'
  }
}
