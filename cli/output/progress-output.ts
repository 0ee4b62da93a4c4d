/**
 * `swarmdrop get` on a terminal: events print as lines, and one line at the bottom is redrawn in place
 * with the download's progress bar.
 */
import type { Level, Output } from './output.js'

export class ProgressOutput implements Output {
  #live = ''

  constructor(private readonly out: NodeJS.WritableStream & { columns?: number }) {}

  event(_level: Level, name: string, text: string): void {
    if (name === 'progress') return // the bar shows it
    this.out.write(`\r\x1b[K${text}\n${this.#live}`)
  }

  /** Redraws the live line (cut to the terminal's width, so that it never wraps). */
  update(text: string): void {
    this.#live = [...text].slice(0, Math.max(20, (this.out.columns ?? 80) - 1)).join('')
    this.out.write(`\r\x1b[K${this.#live}`)
  }

  /** Leaves the live line as it is and moves below it. */
  done(): void {
    if (this.#live) this.out.write('\n')
    this.#live = ''
  }
}
