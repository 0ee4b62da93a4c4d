/**
 * The folder of the headless peer, as the original design lays it out (docs/CLI.md, "The folder"):
 *
 *   DIR/<name>                      a complete file: shared as it is
 *   DIR/<digest>.<index>.chunk      one verified chunk of a file being downloaded
 *   DIR/.swarmdrop/manifests/       one record (manifest, name, type) per file held, `<digest>.json`
 *   DIR/.swarmdrop/hash-cache.json  digests of complete files, keyed by name, size and mtime
 *   DIR/.swarmdrop/tmp/             files being written: renamed into DIR only once whole
 *   DIR/.swarmdrop/lock             the process id of the swarmdrop sharing DIR
 *   DIR/.swarmdrop/identity/        the folder's Ed25519 key pair (SPEC §9; file-key-store.ts)
 *   DIR/.swarmdrop/contacts.json    recent ring contacts, entry URLs, last ICE servers (file-contact-store.ts)
 */
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DIGEST_PATTERN } from '../../shared/manifest.js'

/** The folder's own state; hidden, and never shared. */
export const STATE_DIR_NAME = '.swarmdrop'
/** `<digest>.<index>.chunk`, index in decimal without leading zeros (as storage keys are, SPEC §3). */
const CHUNK_FILE_PATTERN = /^([0-9a-f]{64})\.(0|[1-9]\d{0,8})\.chunk$/

export class FolderLayout {
  readonly stateDir: string
  readonly manifestsDir: string
  readonly tmpDir: string
  readonly hashCacheFile: string
  readonly lockFile: string
  /** Where the folder's Ed25519 key pair lives (SPEC §9, file-key-store.ts): its peer id across restarts. */
  readonly identityDir: string
  /** Recent ring contacts, to rejoin the ring while the tracker is down (file-contact-store.ts). */
  readonly contactsFile: string

  constructor(readonly dir: string) {
    this.stateDir = join(dir, STATE_DIR_NAME)
    this.manifestsDir = join(this.stateDir, 'manifests')
    this.tmpDir = join(this.stateDir, 'tmp')
    this.hashCacheFile = join(this.stateDir, 'hash-cache.json')
    this.lockFile = join(this.stateDir, 'lock')
    this.identityDir = join(this.stateDir, 'identity')
    this.contactsFile = join(this.stateDir, 'contacts.json')
  }

  /** Makes the state folders that are missing. */
  async prepare(): Promise<void> {
    await mkdir(this.manifestsDir, { recursive: true })
    await mkdir(this.tmpDir, { recursive: true })
  }

  chunkPath(digest: string, index: number): string {
    return join(this.dir, chunkFileName(digest, index))
  }

  /** The path of a file directly in DIR. */
  filePath(name: string): string {
    return join(this.dir, name)
  }

  /** A fresh name in the temp folder: nothing else writes there, and DIR never sees half a file. */
  tempPath(label: string): string {
    return join(this.tmpDir, `${label}.${randomUUID()}.tmp`)
  }

  /** The record of one file; undefined for a key that is not a digest (nothing may escape the folder). */
  manifestPath(digest: string): string | undefined {
    return DIGEST_PATTERN.test(digest) ? join(this.manifestsDir, `${digest}.json`) : undefined
  }
}

export function chunkFileName(digest: string, index: number): string {
  return `${digest}.${index}.chunk`
}

/** The digest and index a `.chunk` file name stands for; undefined for any other name. */
export function parseChunkFileName(name: string): { digest: string; index: number } | undefined {
  const match = CHUNK_FILE_PATTERN.exec(name)
  return match ? { digest: match[1]!, index: Number(match[2]) } : undefined
}
