/** Typed calls of the server commands in ../server-commands.mjs. */
import { executeServerCommand } from '@web/test-runner-commands'
import type { Manifest } from '../../../shared/manifest.js'

export interface NodeExpectation {
  size: number
  manifest: Manifest
  digest: string
  plainSha256: string
}

/** What the shared code, run in Node, computes for `testBytes(size)` of each size. */
export function nodeExpectations(sizes: number[]): Promise<NodeExpectation[]> {
  return executeServerCommand('node-expectations', { sizes })
}

/** Sets this origin's storage quota through the DevTools protocol; no argument removes the override. */
export async function overrideQuota(quotaSize?: number): Promise<void> {
  await executeServerCommand('override-quota', { origin: location.origin, quotaSize })
}

export type HarnessStep = { call: string; args?: unknown[] } | 'reload'

/** The page that `inNewPage` opens: it loads harness.ts, which sets `window.harness`. */
const HARNESS_PATH = new URL('./harness.html', import.meta.url).pathname

/**
 * Opens the harness in a new page of this page's browser context (same profile, same IndexedDB), runs
 * `steps` there and closes it. Returns each call's result, in order.
 */
export function inNewPage(steps: HarnessStep[]): Promise<unknown[]> {
  return executeServerCommand('in-new-page', { path: HARNESS_PATH, steps })
}

export interface Download {
  suggestedFilename: string
  size: number
}

/**
 * Saves what `start` downloads (a click on a download link) as Chromium does, and returns the name and
 * size it was saved with.
 */
export async function captureDownload(start: () => void): Promise<Download> {
  await executeServerCommand('watch-download', {})
  start()
  return executeServerCommand('downloaded', {})
}
