/**
 * A download on a Chromium peer, timed from the click to the saved file, and the saved bytes checked
 * against the source in Node: what the end-to-end suites measure and assert on.
 */
import { expect } from 'vitest'
import { sanitizeFileName } from '../../../web/storage/file-name.js'
import type { HarnessProgress, SharedFile } from '../harness/api.js'
import type { BrowserPeer, SavedFile } from './browsers.js'
import { MiB, type SourceFile } from './source-files.js'

/** Longest one download may take, from the click to the saved file: loopback moves ~20 MB/s here. */
export const DOWNLOAD_TIMEOUT_MS = 60_000

export interface StartedDownload {
  saved: Promise<SavedFile>
  startedAt: number
}

export function expectSaved(saved: SavedFile, file: SourceFile): void {
  expect(saved.suggestedFilename).toBe(sanitizeFileName(file.name))
  expect(saved.size).toBe(file.size)
  expect(saved.sha256).toBe(file.sha256)
}

/** Prints a download's time and speed; returns its seconds. */
export function report(what: string, file: SourceFile, startedAt: number): number {
  const seconds = (Date.now() - startedAt) / 1000
  console.log(
    `${what}: ${file.size / MiB} MiB in ${seconds.toFixed(1)} s (${(file.size / 1e6 / seconds).toFixed(1)} MB/s)`,
  )
  return seconds
}

/** Starts downloading `file` on `receiver`, watching for the browser download that will save it. */
export async function startDownload(receiver: BrowserPeer, file: SourceFile): Promise<StartedDownload> {
  const saved = receiver.watchDownload(DOWNLOAD_TIMEOUT_MS)
  const startedAt = Date.now()
  await receiver.fetch(file.digest)
  return { saved, startedAt }
}

/**
 * Waits for the download to complete, checks the saved bytes, prints its time and speed, and returns the
 * last progress with the seconds it took.
 */
export async function finishDownload(
  receiver: BrowserPeer,
  file: SourceFile,
  started: StartedDownload,
  label: string,
  describe: () => Promise<string>,
  what = 'the download to complete',
): Promise<HarnessProgress & { seconds: number }> {
  const done = await receiver.waitFor(
    file.digest,
    (p) => p.state === 'complete',
    what,
    DOWNLOAD_TIMEOUT_MS,
    describe,
  )
  expectSaved(await started.saved, file)
  return { ...done, seconds: report(label, file, started.startedAt) }
}

/** Each peer shares the file; the browser's digest and plain SHA-256 must be what Node computed. */
export async function shareFrom(peers: BrowserPeer[], file: SourceFile): Promise<void> {
  const shared = await Promise.all(peers.map((peer) => peer.share([file.path])))
  for (const list of shared) {
    expect(list).toEqual<SharedFile[]>([
      { digest: file.digest, name: file.name, size: file.size, plainSha256: file.sha256 },
    ])
  }
}

/** What the other peers saw go wrong, for a failure message. */
export function describing(peers: BrowserPeer[]): () => Promise<string> {
  return async () => {
    const parts = await Promise.all(peers.filter((p) => !p.closed).map((p) => p.describe()))
    return `; ${parts.join('; ')}`
  }
}
