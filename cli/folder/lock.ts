/**
 * One swarmdrop per folder: two processes writing the same `.chunk` files and records would each
 * announce the other's half-written state. The lock file holds the owner's process id; a lock whose
 * process is gone (a crash, a power cut) is taken over.
 */
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { CliError, EXIT_FAILURE } from '../errors.js'
import { errnoOf, removeQuietly } from './io.js'
import type { FolderLayout } from './layout.js'

/**
 * How long a start waits for the lock's owner to finish dying: the peer process of a `swarmdrop` that was
 * killed outright ends itself once it notices (cli/supervisor.ts), tens of milliseconds later, and a
 * command started again at once (a service manager's restart) must not fail on that.
 */
const OWNER_EXIT_WAIT_MS = 3_000
const OWNER_POLL_MS = 50

/** Takes the folder's lock; resolves with the function that releases it. */
export async function lockFolder(layout: FolderLayout): Promise<() => Promise<void>> {
  const mine = `${process.pid}\n`
  try {
    await writeFile(layout.lockFile, mine, { flag: 'wx' })
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error
    const owner = Number.parseInt(await readFile(layout.lockFile, 'utf8').catch(() => ''), 10)
    // Our own id counts too: two peers in one process (tests, a library user) must not share a folder either.
    if (Number.isInteger(owner) && (owner === process.pid || !(await gone(owner)))) {
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

/** Whether process `pid` is gone, or goes within OWNER_EXIT_WAIT_MS. */
async function gone(pid: number): Promise<boolean> {
  const deadline = Date.now() + OWNER_EXIT_WAIT_MS
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, OWNER_POLL_MS))
  }
  return true
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return errnoOf(error) === 'EPERM'
  }
  // A dead process whose parent has not reaped it yet (a zombie) still answers signal 0. Linux says which
  // it is in /proc; elsewhere an answer is taken as alive.
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return true
  }
}
