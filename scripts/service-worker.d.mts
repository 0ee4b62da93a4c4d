import type { Plugin } from 'vite'

export interface Shell {
  version: string
  index: string
  files: string[]
}
export const SERVICE_WORKER_PATH: string
export function serviceWorkerSource(shell: Shell): string
export function shellOf(contents: Map<string, string | Uint8Array>): Shell
export function serviceWorkerPlugin(): Plugin
