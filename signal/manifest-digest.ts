import { createHash } from 'node:crypto'
import { canonicalManifestBytes, type Manifest } from '../shared/manifest.js'

/**
 * The shared digest construction, hashed synchronously with Node's crypto so that a connection handles
 * its messages strictly in order without awaiting. test/shared checks it equals the WebCrypto version.
 */
export function manifestDigestSync(manifest: Manifest): string {
  return createHash('sha256').update(canonicalManifestBytes(manifest)).digest('hex')
}
