/**
 * What the headless peer does, as events on an Output: the folder's (files shared, downloads assembled,
 * chunk files kept or dropped), the tracker's connection, downloads' progress, and every problem with
 * its code in words. The same events feed the log lines, `--json`, and the text UI.
 */
import type { SwarmError } from '../../shared/errors.js'
import { formatBytes, formatPercent, formatRate } from '../../shared/format.js'
import type { DownloadProgress } from '../../web/peer/download.js'
import type { TrackerStatus } from '../../web/peer/tracker-client.js'
import type { Folder } from '../folder/folder.js'
import type { HeadlessPeer } from '../headless-peer.js'
import type { Output } from './output.js'
import { printable } from './text.js'
import { TERMINAL_WORDS } from './words.js'

/** Log lines of a download's progress: one each time another tenth of it is here. */
const PROGRESS_STEPS = 10

const SKIP_WORDS = {
  folder: 'it is a folder (only the files directly in the shared folder are shared)',
  unreadable: 'it cannot be read',
  special: 'it is not a regular file',
  'too-large': 'it is larger than Swarmdrop can share (256 GiB)',
} as const

/** A problem in words: the code's sentence, and what exactly happened. */
export function describeError(error: SwarmError): string {
  const words = TERMINAL_WORDS[error.code]
  return error.message && error.message !== error.code ? `${words} (${printable(error.message)})` : words
}

/** The folder's events, before its start-up scan (HeadlessPeer's `listen`). */
export function reportFolder(folder: Folder, out: Output, nameOf: (digest: string) => string): void {
  folder.on('scanned', (scan) => {
    const parts = [`${scan.files} ${scan.files === 1 ? 'file' : 'files'} (${formatBytes(scan.bytes)})`]
    if (scan.files > 0) parts.push(`${scan.fromCache} known from the cache, ${scan.toHash} to hash`)
    if (scan.downloads > 0)
      parts.push(`${scan.downloads} unfinished ${scan.downloads === 1 ? 'download' : 'downloads'}`)
    out.event('info', 'scanned', `${folder.layout.dir}: ${parts.join(', ')}`, scan)
  })
  folder.on('shared', ({ name, digest, size, fromCache }) => {
    // Files known from the cache are in the scan's summary; one line each only for scripts.
    if (fromCache && !out.everyEvent) return
    out.event('info', 'shared', `sharing ${printable(name)} (${formatBytes(size)}) ${digest}`, {
      name,
      digest,
      size,
      fromCache,
    })
  })
  folder.on('unshared', ({ name, digest, reason }) =>
    out.event(
      'info',
      'unshared',
      `stopped sharing ${printable(name)}: ${reason === 'removed' ? 'it is gone from the folder' : 'it changed (hashing it again)'}`,
      { name, digest, reason },
    ),
  )
  folder.on('duplicate', ({ digest, names }) =>
    out.event(
      'info',
      'duplicate',
      `${names.map(printable).join(', ')} hold the same bytes: shared once as ${digest}`,
      {
        digest,
        names,
      },
    ),
  )
  folder.on('skipped', ({ name, reason }) =>
    out.event('info', 'skipped', `not shared: ${printable(name)}: ${SKIP_WORDS[reason]}`, { name, reason }),
  )
  folder.on('unknown-chunks', ({ digest, chunks }) =>
    out.event(
      'warn',
      'unknown-chunks',
      `${chunks} chunk ${chunks === 1 ? 'file' : 'files'} of ${digest}: no manifest for it here; kept, and not announced until the server or a peer has it`,
      { digest, chunks },
    ),
  )
  folder.on('chunks-dropped', ({ digest, indices }) =>
    out.event(
      'warn',
      'chunks-dropped',
      `${indices.length} chunk ${indices.length === 1 ? 'file' : 'files'} of ${printable(nameOf(digest))} failed their check and were deleted; fetched again`,
      { digest, indices },
    ),
  )
  folder.on('adopted', ({ digest, name, chunks, chunkCount }) =>
    out.event(
      'info',
      'adopted',
      `found the manifest of ${digest}: downloading ${printable(name)}, ${chunks} of ${chunkCount} chunks here already`,
      { digest, name, chunks, chunkCount },
    ),
  )
  folder.on('combined', ({ digest, name, path, size }) =>
    out.event('info', 'complete', `complete: ${printable(path)} (${formatBytes(size)})`, {
      digest,
      name,
      path,
      size,
    }),
  )
  folder.on('problem', ({ digest, name, error }) => {
    const what = name ?? (digest ? nameOf(digest) : undefined)
    out.event('warn', 'problem', `${what ? `${printable(what)}: ` : ''}${describeError(error)}`, {
      code: error.code,
      detail: error.message,
      ...(digest ? { digest } : {}),
      ...(name ? { name } : {}),
    })
  })
}

/**
 * The engine's events: the tracker's connection, downloads, problems. `socketError` says why the last
 * connection failed (`connect ECONNREFUSED …`), which the close event alone does not.
 */
export function reportEngine(
  peer: HeadlessPeer,
  out: Output,
  socketError: () => string | undefined = () => undefined,
): void {
  const { engine } = peer
  let lastStatus: TrackerStatus['state'] | undefined
  engine.on('status', (status) => {
    reportStatus(status, out, lastStatus, socketError)
    lastStatus = status.state
  })
  engine.tracker.on('error', ({ code, message, digest }) =>
    out.event(
      'warn',
      'problem',
      `${digest ? `${printable(peer.nameOf(digest) ?? digest)}: ` : ''}${TERMINAL_WORDS[code]}`,
      {
        code,
        detail: message,
        ...(digest ? { digest } : {}),
      },
    ),
  )
  engine.on('problem', ({ digest, error }) =>
    out.event(
      'warn',
      'problem',
      `${digest ? `${printable(peer.nameOf(digest) ?? digest)}: ` : ''}${describeError(error)}`,
      { code: error.code, detail: error.message, ...(digest ? { digest } : {}) },
    ),
  )
  const downloads = new Map<string, { state?: string; step: number; jsonAt: number }>()
  engine.on('file', ({ digest, progress }) => {
    if (!progress) return
    const seen = downloads.get(digest) ?? { step: -1, jsonAt: 0 }
    downloads.set(digest, seen)
    reportProgress(peer, out, digest, progress, seen)
  })
  engine.on('complete', ({ record }) =>
    out.event('info', 'downloaded', `every chunk of ${printable(record.name)} is here; assembling it`, {
      digest: record.digest,
      name: record.name,
    }),
  )
}

function reportStatus(
  status: TrackerStatus,
  out: Output,
  previous: TrackerStatus['state'] | undefined,
  socketError: () => string | undefined,
): void {
  switch (status.state) {
    case 'online':
      out.event('info', 'online', `online (peer ${status.peerId})`, { peerId: status.peerId })
      break
    case 'offline': {
      if (status.error) {
        out.event('error', 'offline', `stopped: ${describeError(status.error)}`, { code: status.error.code })
        break
      }
      if (status.retryInMs === undefined) break // stopped on purpose (quit)
      const reason =
        status.reason ||
        socketError() ||
        (status.code === undefined ? 'unreachable' : `closed ${status.code}`)
      out.event(
        'warn',
        'offline',
        `server offline (${printable(reason)}); trying again in ${Math.ceil(status.retryInMs / 1000)} s`,
        { code: status.code, reason, retryInMs: status.retryInMs },
      )
      break
    }
    case 'connecting':
      if (previous !== undefined) break // said once at start; reconnects are told by their offline line
      out.event('info', 'connecting', 'connecting to the server')
      break
  }
}

function reportProgress(
  peer: HeadlessPeer,
  out: Output,
  digest: string,
  progress: DownloadProgress,
  seen: { state?: string; step: number; jsonAt: number },
): void {
  const name = peer.nameOf(digest) ?? digest
  const fields = {
    digest,
    name,
    state: progress.state,
    bytesHere: progress.bytesHere,
    bytesTotal: progress.bytesTotal,
    chunksHere: progress.chunksHere,
    chunkCount: progress.chunkCount,
    bytesPerSecond: Math.round(progress.bytesPerSecond),
    sources: progress.sources,
  }
  if (progress.state !== seen.state) {
    // A download that failed is paused again when the peer stops: that is no news.
    const previous = seen.state
    seen.state = progress.state
    if (progress.state === 'downloading') {
      out.event(
        'info',
        'downloading',
        `downloading ${printable(name)} (${formatBytes(progress.bytesTotal)}) ${digest}`,
        fields,
      )
    } else if (progress.state === 'paused' && previous === 'downloading') {
      out.event(
        'info',
        'paused',
        `paused ${printable(name)} at ${formatPercent(progress.bytesHere, progress.bytesTotal)}`,
        fields,
      )
    } else if (progress.state === 'error' && progress.error) {
      out.event('error', 'download-failed', `${printable(name)} paused: ${describeError(progress.error)}`, {
        ...fields,
        code: progress.error.code,
      })
    }
  }
  if (progress.state !== 'downloading') return
  const step = Math.floor((progress.bytesHere / Math.max(1, progress.bytesTotal)) * PROGRESS_STEPS)
  const now = Date.now()
  const due = out.progressEveryMs !== undefined && now - seen.jsonAt >= out.progressEveryMs
  if ((step > Math.max(0, seen.step) && step < PROGRESS_STEPS) || due) {
    seen.step = Math.max(seen.step, step)
    out.event(
      'info',
      'progress',
      `${printable(name)}: ${formatPercent(progress.bytesHere, progress.bytesTotal)} (${formatRate(progress.bytesPerSecond)} from ${progress.sources} ${progress.sources === 1 ? 'source' : 'sources'})`,
      fields,
    )
    seen.jsonAt = now
  }
}
