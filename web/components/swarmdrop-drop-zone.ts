/**
 * The drop zone: files or folders dropped anywhere on the page, or chosen with its file input (several at
 * once) or its folder picker, are shared with everyone (a folder as one collection); "Share with a link"
 * (`data-visibility="private"`) shares privately, optionally behind a password; "Choose files as one
 * collection" (`data-collection`) shares several files as one item. Pasting files or text shares them
 * privately. Shows the files being prepared: each one, or a summary when there are many.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { live } from 'lit/directives/live.js'
import { repeat } from 'lit/directives/repeat.js'
import { FileDropController } from '../app/file-drop-controller.js'
import { formatBytes, formatPercent } from '../app/format.js'
import type { ShareJob } from '../app/services.js'
import { emit } from './events.js'
import { theme } from './theme.js'

const PHASE_LABELS: Record<ShareJob['phase'], string> = {
  waiting: 'Waiting',
  hashing: 'Hashing',
  storing: 'Preparing',
  failed: 'Failed',
}

/** Above this many files being prepared, one summary line replaces the list (and its announcements). */
export const JOBS_LISTED = 10

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
      .pickers input[type='file'] {
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
      .password {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
      }
      .summary {
        display: grid;
        gap: 0.2rem;
        width: 100%;
      }
    `,
  ]

  /** The dropped files on their way to being shared. */
  @property({ attribute: false }) jobs: readonly ShareJob[] = []

  /** The password typed for private links (kept only until the next private share). */
  @state() private _password = ''

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
        <p>Drop files or folders anywhere on this page, or choose them. Shared with everyone, they are listed for
          anyone who opens Swarmdrop here; shared with a link, only people you give the link to can open them.</p>
        <div class="pickers">
          <input id="files" type="file" multiple @change=${this._onChoose} />
          <label class="picker primary" for="files">Share with everyone</label>
          <input id="private" type="file" multiple data-visibility="private" @change=${this._onChoosePrivate} />
          <label class="picker primary" for="private">Share with a link</label>
          <input id="folder" type="file" multiple webkitdirectory @change=${this._onChoose} />
          <label class="picker" for="folder">Share a folder</label>
          <input id="collection" type="file" multiple data-collection @change=${this._onChooseCollection} />
          <label class="picker" for="collection">Share files as one collection</label>
        </div>
        <div class="password">
          <label for="password">Password for links (optional)</label>
          <input id="password" type="password" autocomplete="new-password" .value=${live(this._password)} @input=${this._onPassword} />
        </div>
        ${this.#renderJobs(active)}
      </section>
      ${this.#drop.dragging ? html`<div class="overlay" aria-hidden="true"><span>Drop to share</span></div>` : nothing}
    `
  }

  /**
   * Each file with its progress while a few are prepared; past JOBS_LISTED one summary, so that a
   * thousand small files neither fill the page nor make the live region read out every one.
   */
  #renderJobs(active: readonly ShareJob[]) {
    if (active.length === 0) return nothing
    if (active.length > JOBS_LISTED) {
      const total = active.reduce((sum, job) => sum + job.bytesTotal, 0)
      const done = active.reduce((sum, job) => sum + job.bytesDone, 0)
      return html`<div class="summary">
        <span>Preparing ${active.length} files (${formatBytes(total)})</span>
        <progress max=${Math.max(1, total)} .value=${done} aria-label=${`Preparing ${active.length} files`}></progress>
      </div>`
    }
    return html`<ul aria-label="Files being prepared">
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
  }

  private _onChoose(event: Event): void {
    const files = this.#take(event)
    if (files.length > 0) this.#share(files)
  }

  private _onChoosePrivate(event: Event): void {
    const files = this.#take(event)
    if (files.length === 0) return
    emit(this, 'swarmdrop-share', {
      files,
      private: true,
      ...(this._password ? { password: this._password } : {}),
    })
    this._password = '' // one password per share: it is not kept around
  }

  private _onChooseCollection(event: Event): void {
    const files = this.#take(event)
    if (files.length > 0) emit(this, 'swarmdrop-share', { files, collection: true })
  }

  private _onPassword(event: Event): void {
    this._password = (event.target as HTMLInputElement).value
  }

  #take(event: Event): File[] {
    const input = event.target as HTMLInputElement
    const files = [...(input.files ?? [])]
    input.value = '' // choosing the same file again fires change again
    return files
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
