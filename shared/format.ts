/** Numbers as people read them, in the page and the terminal alike: sizes, rates and durations in short, stable forms. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** `1536` → `1.5 KiB`; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${value} B`
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** `75` → `1 min 15 s`; undefined (unknown) → `–`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–'
  const s = Math.ceil(seconds)
  if (s < 60) return `${s} s`
  const minutes = Math.floor(s / 60)
  if (minutes < 60) return `${minutes} min ${s % 60} s`
  const hours = Math.floor(minutes / 60)
  return `${hours} h ${minutes % 60} min`
}

/** Seconds left at the current rate, or undefined when nothing is arriving. */
export function etaSeconds(bytesLeft: number, bytesPerSecond: number): number | undefined {
  if (bytesLeft <= 0) return 0
  return bytesPerSecond > 0 ? bytesLeft / bytesPerSecond : undefined
}

/** The percentage shown beside a progress bar. */
export function formatPercent(done: number, total: number): string {
  if (total <= 0) return '100%'
  return `${Math.floor((done / total) * 100)}%`
}
