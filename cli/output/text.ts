/**
 * Text for a terminal: tables, progress bars, and names made safe to print. Names come from the folder
 * and from other peers; a control character in one (an escape sequence, a newline) would move the
 * cursor or forge a line, so every one is shown as `?`.
 */
import { etaSeconds, formatBytes, formatDuration, formatPercent, formatRate } from '../../shared/format.js'

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

export function printable(text: string): string {
  return text.replace(CONTROL, '?')
}

/** Shortens to `max` characters (code points), ending in `…`. */
export function truncate(text: string, max: number): string {
  const points = [...text]
  return points.length <= max ? text : `${points.slice(0, Math.max(0, max - 1)).join('')}…`
}

export interface Column {
  title: string
  align?: 'left' | 'right'
  /** Widest the column may be; longer cells are shortened. */
  max?: number
}

/** Rows under a header, columns padded to their widest cell. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) =>
    columns.map((column, i) => truncate(printable(row[i] ?? ''), column.max ?? Infinity)),
  )
  const widths = columns.map((column, i) =>
    Math.max([...column.title].length, ...cells.map((row) => [...row[i]!].length)),
  )
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length)
        return columns[i]!.align === 'right' ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')
}

/** `[########------------]` for a share of `done` in `total`. */
export function bar(done: number, total: number, width = 20): string {
  const filled = total <= 0 ? width : Math.min(width, Math.floor((done / total) * width))
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
}

export interface Progress {
  bytesHere: number
  size: number
  bytesPerSecond: number
  sources: number
}

/** `[####----] 45%  120 MiB of 256 MiB  12.3 MiB/s  ETA 11 s  3 sources` */
export function progressLine(progress: Progress, width = 20): string {
  const { bytesHere, size, bytesPerSecond, sources } = progress
  return [
    `${bar(bytesHere, size, width)} ${formatPercent(bytesHere, size).padStart(4)}`,
    `${formatBytes(bytesHere)} of ${formatBytes(size)}`,
    formatRate(bytesPerSecond),
    `ETA ${formatDuration(etaSeconds(size - bytesHere, bytesPerSecond))}`,
    `${sources} ${sources === 1 ? 'source' : 'sources'}`,
  ].join('  ')
}
