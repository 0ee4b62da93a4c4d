/**
 * A short session with the tracker for the one-shot commands (`list`, `peers`, and completing a digest
 * for `get`): connect, ask, say goodbye. A server that cannot be reached within ONE_SHOT_CONNECT_MS is a
 * failure (exit 1), said in one line with the reason.
 */
import { SwarmError } from '../../shared/errors.js'
import { DIGEST_PATTERN } from '../../shared/manifest.js'
import { generateKeyPair, identityOf } from '../../web/peer/identity.js'
import { TrackerClient, type TrackerStatus } from '../../web/peer/tracker-client.js'
import { CliError, EXIT_FAILURE } from '../errors.js'
import { SocketPool } from '../sockets.js'

/** How long a one-shot command waits for the server: through a few reconnect attempts (1, 2, 4 s). */
export const ONE_SHOT_CONNECT_MS = 10_000
/** How long the goodbye may take to leave before the process exits anyway. */
export const GOODBYE_MS = 1_000

export async function withTracker<T>(url: string, work: (tracker: TrackerClient) => Promise<T>): Promise<T> {
  const sockets = new SocketPool()
  // A key of its own, never the folder's: a one-shot command must not take over (REPLACED) the connection
  // of a `swarmdrop share` running on the same folder.
  const identity = await identityOf(await generateKeyPair())
  const tracker = new TrackerClient({ url, createSocket: sockets.create, holdings: () => [], identity })
  try {
    await online(tracker, url, () => sockets.lastError)
    return await work(tracker)
  } finally {
    tracker.destroy()
    await sockets.closed(GOODBYE_MS)
  }
}

function online(tracker: TrackerClient, url: string, socketError: () => string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let last: TrackerStatus = tracker.status
    const timer = setTimeout(() => {
      off()
      const why = (last.state === 'offline' && last.reason) || socketError() || 'no answer'
      reject(new CliError(`cannot reach the server at ${url} (${why})`, EXIT_FAILURE))
    }, ONE_SHOT_CONNECT_MS)
    const off = tracker.on('status', (status) => {
      last = status
      if (status.state === 'online') {
        clearTimeout(timer)
        off()
        resolve()
      } else if (status.state === 'offline' && status.error) {
        clearTimeout(timer)
        off()
        reject(
          new CliError(`the server at ${url} refused this client: ${status.error.message}`, EXIT_FAILURE),
        )
      }
    })
    tracker.start()
  })
}

/** The digest a whole digest or the start of one names, completed against the catalog. */
export async function completeDigest(tracker: TrackerClient, text: string): Promise<string> {
  if (DIGEST_PATTERN.test(text)) return text
  const page = await tracker.catalog({ query: text })
  const matches = page.files.map((f) => f.digest).filter((digest) => digest.startsWith(text))
  if (matches.length === 1) return matches[0]!
  throw new SwarmError(
    'FILE_NOT_FOUND',
    matches.length === 0
      ? `no file in the catalog has a digest starting with ${text}`
      : `${matches.length} files have a digest starting with ${text}: give more of it`,
  )
}
