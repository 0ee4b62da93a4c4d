/**
 * The drop zone: files or folders dropped anywhere on the page, or chosen with its file input (several at
 * once) or its folder picker, are shared. Shows each dropped file's hashing progress.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import { FileDropController } from '../app/file-drop-controller.js'
import { formatBytes, formatPercent } from '../app/format.js'
import type { ShareJob } from '../app/services.js'
import { emit } from './events.js'
import { theme } from './theme.js'

const PHASE_LABELS: Record<ShareJob['phase'], string> = {
  waiting: 'Waiting',
  hashing: 'Hashing',
  storing: 'Sharing; storing',
  failed: 'Failed',
}

@customElement('swarmdrop-drop-zone')
export class SwarmdropDropZone extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      .zone {
        border: 2px dashed var(--sd-border);
        border-radius: 0.8rem;
        padding: 1rem;
        display: grid;
        gap: 0.6rem;
        justify-items: start;
        background: var(--sd-surface);
      }
      .pickers {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      /* The inputs stay in the page (scripts use them) but are shown as the buttons that label them. */
      input[type='file'] {
        position: absolute;
        width: 1px;
        height: 1px;
        opacity: 0;
      }
      label.picker {
        display: inline-flex;
        align-items: center;
        border: 1px solid var(--sd-accent);
        border-radius: 0.4rem;
        padding: 0.3rem 0.8rem;
        cursor: pointer;
        min-height: 2rem;
      }
      label.picker.primary {
        background: var(--sd-accent);
        color: var(--sd-accent-fg);
      }
      input[type='file']:focus-visible + label.picker {
        outline: 3px solid var(--sd-focus);
        outline-offset: 2px;
      }
      p {
        margin: 0;
      }
      .overlay {
        position: fixed;
        inset: 0;
        z-index: 10;
        display: grid;
        place-items: center;
        pointer-events: none;
        background: color-mix(in srgb, var(--sd-accent) 18%, transparent);
        border: 4px dashed var(--sd-accent);
        font-size: 1.4rem;
        font-weight: 600;
      }
      .overlay span {
        background: var(--sd-surface);
        padding: 0.6rem 1rem;
        border-radius: 0.6rem;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        width: 100%;
        display: grid;
        gap: 0.4rem;
      }
      li {
        display: grid;
        gap: 0.15rem;
      }
      .job-name {
        overflow-wrap: anywhere;
      }
    `,
  ]

  /** The dropped files on their way to being shared. */
  @property({ attribute: false }) jobs: readonly ShareJob[] = []

  readonly #drop = new FileDropController(
    this,
    (files) => this.#share(files),
    (error) => emit(this, 'swarmdrop-error', { error }),
  )

  override render() {
    const active = this.jobs.filter((job) => job.phase !== 'failed')
    return html`
      <section class="zone" aria-labelledby="drop-title">
        <h2 id="drop-title">Share files</h2>
        <p>Drop files or folders anywhere on this page, or choose them:</p>
        <div class="pickers">
          <input id="files" type="file" multiple @change=${this._onChoose} />
          <label class="picker primary" for="files">Choose files</label>
          <input id="folder" type="file" multiple webkitdirectory @change=${this._onChoose} />
          <label class="picker" for="folder">Choose a folder</label>
        </div>
        ${
          active.length > 0
            ? html`<ul aria-label="Files being prepared" aria-live="polite">
              ${repeat(
                active,
                (job) => job.id,
                (job) => html`<li>
                  <span class="job-name">${job.name} <span class="muted">(${formatBytes(job.size)})</span></span>
                  <progress max=${Math.max(1, job.bytesTotal)} .value=${job.bytesDone} aria-label=${`${PHASE_LABELS[job.phase]} ${job.name}`}></progress>
                  <span class="muted">${PHASE_LABELS[job.phase]} ${formatPercent(job.bytesDone, job.bytesTotal)}</span>
                </li>`,
              )}
            </ul>`
            : nothing
        }
      </section>
      ${this.#drop.dragging ? html`<div class="overlay" aria-hidden="true"><span>Drop to share</span></div>` : nothing}
    `
  }

  private _onChoose(event: Event): void {
    const input = event.target as HTMLInputElement
    const files = [...(input.files ?? [])]
    input.value = '' // choosing the same file again fires change again
    if (files.length > 0) this.#share(files)
  }

  #share(files: File[]): void {
    emit(this, 'swarmdrop-share', { files })
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-drop-zone': SwarmdropDropZone
  }
}
