/** The SHA-256 and size of a file on disk, read as a stream: saved downloads can be hundreds of MiB. */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function sha256OfFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex') }
}
