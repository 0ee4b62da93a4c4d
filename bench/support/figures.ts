/** Medians and the words and units the report prints. */

const MiB = 1024 * 1024

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const formatMs = (ms: number) => `${Math.round(ms)} ms`
/** A figure that was never measured (NaN: no sample) prints as such, never as a number. */
export const NOT_MEASURED = 'not measured'
export const formatMiB = (bytes: number) =>
  Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MiB` : NOT_MEASURED
export const formatRatio = (ratio: number) => `${ratio.toFixed(2)}×`
/** MB/s in 10^6 bytes, the unit SPEC §8 uses. */
export const mbPerSecond = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)
export const formatMbps = (rate: number) => `${rate.toFixed(0)} MB/s`
export const formatLoad = (load: number[]) => load.map((value) => value.toFixed(2)).join(' ')

/** `values` as "median (a, b, c)", each formatted. */
export function spread(values: number[], format: (value: number) => string): string {
  return `${format(median(values))} (${values.map(format).join(', ')})`
}

/** A function printing one report line: `label` padded to `labelWidth`, then the values. */
export function rowPrinter(labelWidth: number): (label: string, ...values: string[]) => void {
  return (label, ...values) => console.log(`${label.padEnd(labelWidth)} ${values.join('  ')}`)
}
/**
 * Whether a SPEC §7 target was met by `value`, as the reports word it. A value that was not measured (NaN,
 * e.g. no heap sample came back) is "not measured": a missing figure must never read as a target met.
 */
export function verdict(value: number, met: (value: number) => boolean): string {
  if (!Number.isFinite(value)) return NOT_MEASURED
  return met(value) ? 'met' : 'MISSED'
}
