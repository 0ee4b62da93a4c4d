/**
 * My files: each file this browser hashes, seeds, downloads or has finished, with `data-digest` and
 * `data-state`, a `<progress>`, speed, ETA, sources and the chunk map, and the controls that fit its state.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import { formatBytes, formatDuration, formatPercent, formatRate } from '../app/format.js'
import { type FileState, type FileView, MyFilesController } from '../app/my-files-controller.js'
import { emit } from './events.js'
import { theme } from './theme.js'
import './swarmdrop-chunk-map.js'

const STATE_LABELS: Record<FileState, string> = {
  hashing: 'Hashing',
  seeding: 'Sharing',
  queued: 'Waiting for peers',
  downloading: 'Downloading',
  paused: 'Paused',
  complete: 'Complete',
  error: 'Stopped by an error',
}

@customElement('swarmdrop-my-files')
export class SwarmdropMyFiles extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.75rem;
      }
      li {
        background: var(--sd-surface);
        border: 1px solid var(--sd-border);
        border-radius: 0.6rem;
        padding: 0.75rem;
        display: grid;
        gap: 0.45rem;
        min-width: 0;
      }
      li[data-state='error'] {
        border-color: var(--sd-danger);
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.75rem;
        align-items: baseline;
        justify-content: space-between;
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
        min-width: 0;
      }
      .state {
        font-size: 0.85rem;
        padding: 0.05rem 0.5rem;
        border-radius: 1rem;
        border: 1px solid currentColor;
        white-space: nowrap;
      }
      [data-state='seeding'] .state,
      [data-state='complete'] .state {
        color: var(--sd-ok);
      }
      [data-state='error'] .state {
        color: var(--sd-danger);
      }
      [data-state='paused'] .state,
      [data-state='queued'] .state {
        color: var(--sd-warn);
      }
      .figures {
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem 1rem;
        font-size: 0.9rem;
        margin: 0;
      }
      .figures div {
        display: flex;
        gap: 0.3rem;
      }
      .figures dt {
        color: var(--sd-muted);
      }
      .figures dd {
        margin: 0;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
      }
      .error {
        color: var(--sd-danger);
        margin: 0;
      }
      .digest {
        font-size: 0.8rem;
        overflow-wrap: anywhere;
      }
      .empty {
        margin: 0;
      }
    `,
  ]

  readonly #files = new MyFilesController(this)

  override render() {
    const files = this.#files.files
    return html`
      <h2 id="my-files-title">My files</h2>
      ${
        files.length === 0
          ? html`<p class="empty muted">Nothing here yet. Drop files to share them, or pick a file from the catalog.</p>`
          : html`<ul aria-labelledby="my-files-title">
            ${repeat(
              files,
              (file) => file.key,
              (file) => this.#renderFile(file),
            )}
          </ul>`
      }
    `
  }

  #renderFile(file: FileView) {
    const nameId = `name-${file.key}`
    return html`<li data-digest=${file.digest ?? nothing} data-state=${file.state} aria-labelledby=${nameId}>
      <div class="head">
        <span class="name" id=${nameId}>${file.name}</span>
        <span class="state">${STATE_LABELS[file.state]}</span>
      </div>
      ${this.#renderProgress(file)}
      <dl class="figures">
        ${figure('Size', file.bytesTotal > 0 || file.size > 0 ? formatBytes(file.size || file.bytesTotal) : '–')}
        ${file.chunkCount !== undefined ? figure('Chunks', `${file.chunksHere ?? 0} of ${file.chunkCount}`) : nothing}
        ${file.bytesPerSecond !== undefined && file.state !== 'complete' ? figure('Speed', formatRate(file.bytesPerSecond)) : nothing}
        ${file.state === 'downloading' || file.state === 'queued' ? figure('Time left', formatDuration(file.etaSeconds)) : nothing}
        ${file.sources !== undefined && file.state !== 'complete' ? figure('Sources', String(file.sources)) : nothing}
      </dl>
      ${file.error ? html`<p class="error" role="alert">${file.error.message}</p>` : nothing}
      ${file.chunks ? html`<swarmdrop-chunk-map .chunks=${file.chunks} .revision=${file.chunks.revision}></swarmdrop-chunk-map>` : nothing}
      ${file.digest ? html`<div class="digest muted mono" title=${file.digest}>digest ${file.digest.slice(0, 16)}…${file.plainSha256 ? html` · SHA-256 of the file <span class="mono">${file.plainSha256}</span>` : nothing}</div>` : nothing}
      <div class="actions">${this.#renderActions(file)}</div>
    </li>`
  }

  #renderProgress(file: FileView) {
    const label =
      file.activity === 'hashing'
        ? `Hashing ${formatPercent(file.bytesDone, file.bytesTotal)}`
        : file.activity === 'storing'
          ? `Storing ${formatPercent(file.bytesDone, file.bytesTotal)}`
          : file.activity === 'waiting'
            ? 'Waiting'
            : file.bytesTotal === 0 && !file.complete
              ? 'Not started'
              : `${formatPercent(file.bytesDone, file.bytesTotal)} here`
    // An indeterminate bar while nothing is known yet (waiting for the worker, the tracker or a manifest).
    const indeterminate = file.activity === 'waiting' || (file.state === 'queued' && file.bytesTotal === 0)
    return html`<div class="progress">
      ${
        indeterminate
          ? html`<progress aria-label=${`${file.name}: waiting`}></progress>`
          : html`<progress
            max=${Math.max(1, file.bytesTotal)}
            .value=${file.bytesTotal === 0 ? (file.complete ? 1 : 0) : file.bytesDone}
            aria-label=${`${file.name}: ${label}`}
          ></progress>`
      }
      <span class="muted">${label}</span>
    </div>`
  }

  #renderActions(file: FileView) {
    const digest = file.digest
    const name = file.name
    const button = (text: string, label: string, onClick: () => void, primary = false) =>
      html`<button type="button" class=${primary ? 'primary' : ''} aria-label=${`${label}: ${name}`} @click=${onClick}>${text}</button>`
    if (!digest) {
      // Still hashing (no digest yet), or failed before it had one.
      const jobId = file.jobId
      return jobId === undefined
        ? nothing
        : button(
            file.state === 'error' ? 'Dismiss' : 'Cancel',
            file.state === 'error' ? 'Dismiss' : 'Cancel',
            () => emit(this, 'swarmdrop-cancel-job', { jobId }),
          )
    }
    const actions = []
    if (file.complete) {
      actions.push(button('Save', 'Save', () => emit(this, 'swarmdrop-save', { digest }), true))
      if (this.#canSaveTo)
        actions.push(button('Save to…', 'Save to', () => emit(this, 'swarmdrop-save-to', { digest })))
    }
    if (file.state === 'downloading' || file.state === 'queued') {
      if (file.chunkCount !== undefined)
        actions.push(button('Pause', 'Pause', () => emit(this, 'swarmdrop-pause', { digest })))
    } else if (file.state === 'paused' || file.state === 'error') {
      actions.push(
        button(
          file.state === 'error' ? 'Retry' : 'Resume',
          'Resume',
          () => emit(this, 'swarmdrop-resume', { digest }),
          true,
        ),
      )
    }
    actions.push(button('Peers', 'Show peers', () => emit(this, 'swarmdrop-show-peers', { digest, name })))
    actions.push(
      button('Copy link', 'Copy link', () => emit(this, 'swarmdrop-copy', { digest, what: 'link' })),
    )
    const removeText =
      file.state === 'seeding'
        ? 'Stop sharing'
        : file.complete
          ? 'Remove'
          : file.chunkCount === undefined
            ? 'Forget'
            : 'Cancel'
    actions.push(button(removeText, removeText, () => emit(this, 'swarmdrop-remove', { digest })))
    return actions
  }

  get #canSaveTo(): boolean {
    return this.#files.canSaveTo
  }
}

function figure(term: string, value: string) {
  return html`<div><dt>${term}</dt><dd>${value}</dd></div>`
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-my-files': SwarmdropMyFiles
  }
}
