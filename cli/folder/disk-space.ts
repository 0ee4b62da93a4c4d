/** Room on the disk that holds the folder, checked before work starts, as the browser checks its quota (SPEC §3). */
import { statfs } from 'node:fs/promises'
import { SwarmError } from '../../shared/errors.js'
import { formatBytes } from '../../shared/format.js'

/**
 * Room kept free beyond what is written: a disk filled to its last block fails every other write too
 * (records, the hash cache), and the kernel keeps its reserve from unprivileged users anyway.
 */
const HEADROOM_BYTES = 64 * 1024 * 1024

/** Bytes an unprivileged process may still write on the disk of `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir)
  return stats.bavail * stats.bsize
}

/** Throws QUOTA_EXCEEDED when `bytes` (and the headroom) will not fit on the disk of `dir`. */
export async function ensureDiskRoom(dir: string, bytes: number, what: string): Promise<void> {
  const free = await freeBytes(dir)
  if (bytes + HEADROOM_BYTES > free) {
    throw new SwarmError(
      'QUOTA_EXCEEDED',
      `${what} needs ${formatBytes(bytes)} and the disk holding ${dir} has ${formatBytes(free)} free`,
    )
  }
}
