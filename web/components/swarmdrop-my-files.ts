/**
 * My files: each file this browser prepares, shares, downloads or has finished, with `data-digest` and
 * `data-state` (SPEC §2), its state in plain words, a `<progress>`, speed, time left, sources, uploads and
 * the chunk map, and the controls that fit its state. A collection is one entry (`data-collection`) with
 * "Download all", its files listed under it on request. Paged, so that thousands of files stay usable.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import { formatBytes, formatDuration, formatPercent, formatRate } from '../app/format.js'
import {
  type CollectionView,
  type FileView,
  MyFilesController,
  PAGE_SIZE,
  type Row,
} from '../app/my-files-controller.js'
import { emit } from './events.js'
import { theme } from './theme.js'
import './swarmdrop-chunk-map.js'

/** The top-level list (collections' files are in lists of their own inside it). */
const TOP = 'ul[aria-labelledby="my-files-title"]'

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
      ul.members {
        gap: 0.5rem;
        margin-top: 0.25rem;
      }
      ul.members > li {
        padding: 0.5rem 0.6rem;
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
      [data-state='seeding'] > .head .state,
      [data-state='complete'] > .head .state {
        color: var(--sd-ok);
      }
      [data-state='error'] > .head .state {
        color: var(--sd-danger);
      }
      [data-state='paused'] > .head .state,
      [data-state='queued'] > .head .state {
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
      .note {
        margin: 0;
        font-size: 0.9rem;
      }
      .digest {
        font-size: 0.8rem;
        overflow-wrap: anywhere;
      }
      .empty {
        margin: 0;
      }
      .badge {
        font-size: 0.8rem;
        color: var(--sd-muted);
      }
      input[type='file'] {
        position: absolute;
        width: 1px;
        height: 1px;
        opacity: 0;
      }
      label.button {
        display: inline-flex;
        align-items: center;
        border: 1px solid var(--sd-accent);
        border-radius: 0.4rem;
        padding: 0.25rem 0.7rem;
        min-height: 2rem;
        cursor: pointer;
      }
      input[type='file']:focus-visible + label.button {
        outline: 3px solid var(--sd-focus);
        outline-offset: 2px;
      }
    `,
  ]

  readonly #files = new MyFilesController(this)

  /** The controller, for tests. */
  get controller(): MyFilesController {
    return this.#files
  }

  override render() {
    const rows = this.#files.rows
    return html`
      <h2 id="my-files-title" tabindex="-1">My files</h2>
      ${
        rows.length === 0
          ? html`<p class="empty muted">Nothing here yet. Drop files to share them, or pick a file shared with everyone.</p>`
          : html`<ul aria-labelledby="my-files-title">
            ${repeat(
              rows,
              (row) => (row.kind === 'file' ? row.file.key : row.collection.key),
              (row) => this.#renderRow(row),
            )}
          </ul>`
      }
      ${this.#renderPager()}
    `
  }

  #renderRow(row: Row) {
    return row.kind === 'file' ? this.#renderFile(row.file) : this.#renderCollection(row.collection)
  }

  #renderPager() {
    const files = this.#files
    if (files.total <= PAGE_SIZE) return nothing
    const page = files.page
    return html`<nav class="pager" aria-label="Pages of my files">
      <button type="button" ?disabled=${page === 0} @click=${() => this.#goTo(page - 1)}>Previous</button>
      <span>Page ${page + 1} of ${files.pages} (${files.total} items)</span>
      <button type="button" ?disabled=${page + 1 >= files.pages} @click=${() => this.#goTo(page + 1)}>Next</button>
    </nav>`
  }

  #goTo(page: number): void {
    this.#files.setPage(page)
    void this.updateComplete.then(() => this.#focusTitle())
  }

  #focusTitle(): void {
    this.renderRoot.querySelector<HTMLElement>('#my-files-title')?.focus()
  }

  #renderCollection(collection: CollectionView) {
    const { file, digest } = collection
    const open = this.#files.isOpen(digest)
    const nameId = `name-${digest}`
    const listId = `members-${digest}`
    const allHere = !collection.unread && collection.filesHere === collection.files
    const button = (text: string, onClick: () => void, primary = false) =>
      html`<button type="button" class=${primary ? 'primary' : ''} aria-label=${`${text}: ${file.name}`} @click=${onClick}>${text}</button>`
    const actions = []
    if (allHere) {
      actions.push(
        button('Download all', () => emit(this, 'swarmdrop-save-all', { digest, into: 'zip' }), true),
      )
      if (this.#files.canSaveToFolder)
        actions.push(
          button('Save all to a folder…', () => emit(this, 'swarmdrop-save-all', { digest, into: 'folder' })),
        )
    } else if (!collection.wantsAll && !file.needsKey && file.state !== 'hashing') {
      actions.push(button('Download all', () => emit(this, 'swarmdrop-download-all', { digest }), true))
    }
    if (!collection.unread)
      actions.push(
        html`<button type="button" aria-expanded=${open ? 'true' : 'false'} aria-controls=${listId} aria-label=${`${open ? 'Hide files' : 'Show files'}: ${file.name}`} @click=${() => this.#files.toggle(digest)}>${open ? 'Hide files' : 'Show files'}</button>`,
      )
    actions.push(...this.#commonActions(file))
    const shown = collection.members.length
    return html`<li data-digest=${digest} data-collection=${digest} data-state=${file.state} data-share-link=${file.link ?? nothing} aria-labelledby=${nameId}>
      <div class="head">
        <span class="name" id=${nameId}>${file.name} <span class="badge">collection${file.private ? ', private' : ''}</span></span>
        <span class="state">${file.label}</span>
      </div>
      ${this.#renderProgress(file)}
      <dl class="figures">
        ${figure('Files', collection.unread ? String(collection.files || '–') : `${collection.filesHere} of ${collection.files} here`)}
        ${figure('Size', formatBytes(collection.bytes))}
        ${this.#uploadFigures(file)}
      </dl>
      ${collection.wantsAll ? html`<p class="note">Downloading every file; the zip is saved once all are here.</p>` : nothing}
      ${this.#renderNotes(file)}
      <div class="actions">${actions}</div>
      ${
        open
          ? html`<ul class="members" id=${listId} aria-label=${`Files of ${file.name}`}>
            ${repeat(
              collection.members,
              (member) => member.key,
              (member) => this.#renderFile(member, digest),
            )}
          </ul>
          ${shown < collection.files ? html`<button type="button" aria-label=${`Show more files: ${file.name}`} @click=${() => this.#files.showMore(digest)}>Show more files</button>` : nothing}`
          : nothing
      }
    </li>`
  }

  #renderFile(file: FileView, collection?: string) {
    const nameId = `name-${file.key}`
    return html`<li data-digest=${file.digest ?? nothing} data-state=${file.state} data-share-link=${file.link ?? nothing} aria-labelledby=${nameId}>
      <div class="head">
        <span class="name" id=${nameId}>${file.name}${file.private ? html` <span class="badge">private</span>` : nothing}</span>
        <span class="state">${file.label}</span>
      </div>
      ${this.#renderProgress(file)}
      <dl class="figures">
        ${figure('Size', file.bytesTotal > 0 || file.size > 0 || file.digest ? formatBytes(file.size || file.bytesTotal) : '–')}
        ${file.chunkCount !== undefined && !file.complete ? figure('Pieces', `${file.chunksHere ?? 0} of ${file.chunkCount}`) : nothing}
        ${file.bytesPerSecond !== undefined ? figure('Speed', formatRate(file.bytesPerSecond)) : nothing}
        ${file.state === 'downloading' ? figure('Time left', formatDuration(file.etaSeconds)) : nothing}
        ${file.sources !== undefined ? figure('Downloading from', `${file.sources} ${file.sources === 1 ? 'browser' : 'browsers'}`) : nothing}
        ${this.#uploadFigures(file)}
      </dl>
      ${this.#renderNotes(file)}
      ${file.chunks ? html`<swarmdrop-chunk-map .chunks=${file.chunks} .revision=${file.chunks.revision}></swarmdrop-chunk-map>` : nothing}
      ${file.digest ? html`<div class="digest muted mono" title=${file.digest}>digest ${file.digest.slice(0, 16)}…${file.plainSha256 ? html` · SHA-256 of the file <span class="mono">${file.plainSha256}</span>` : nothing}</div>` : nothing}
      <div class="actions">${this.#renderActions(file, collection)}</div>
    </li>`
  }

  #uploadFigures(file: FileView) {
    if (file.uploadBytesPerSecond === undefined || !file.shared) return nothing
    return html`${figure('Uploading', formatRate(file.uploadBytesPerSecond))}
      ${figure('Downloaders', String(file.downloaders ?? 0))}`
  }

  #renderNotes(file: FileView) {
    return html`${file.error ? html`<p class="error" role="alert">${file.error.message}</p>` : nothing}
      ${file.needsKey ? html`<p class="note">This private file needs the link’s key to open. It is kept and shared on meanwhile.</p>` : nothing}
      ${file.unfinished && !file.complete ? html`<p class="note">The page was closed before this file was stored. Add the same file again to finish sharing it.</p>` : nothing}
      ${file.state === 'queued' && !file.complete ? html`<p class="note muted">Swarmdrop starts by itself as soon as someone who has it comes online.</p>` : nothing}`
  }

  #renderProgress(file: FileView) {
    const label =
      file.activity === 'hashing' || file.activity === 'storing'
        ? `Preparing ${formatPercent(file.bytesDone, file.bytesTotal)}`
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

  #button(text: string, name: string, onClick: () => void, primary = false) {
    // The accessible name starts with the visible label (WCAG 2.5.3), then names the file.
    return html`<button type="button" class=${primary ? 'primary' : ''} aria-label=${`${text}: ${name}`} @click=${onClick}>${text}</button>`
  }

  #renderActions(file: FileView, collection?: string) {
    const digest = file.digest
    const name = file.name
    if (!digest) {
      // Still hashing (no digest yet), or failed before it had one.
      const jobId = file.jobId
      return jobId === undefined
        ? nothing
        : this.#button(file.state === 'error' ? 'Dismiss' : 'Cancel', name, () =>
            emit(this, 'swarmdrop-cancel-job', { jobId }),
          )
    }
    if (collection && file.label === 'Not downloaded') {
      return this.#button(
        'Download',
        name,
        () => emit(this, 'swarmdrop-download-member', { collection, digest }),
        true,
      )
    }
    const actions = []
    if (file.complete && file.origin === 'downloaded' && !file.needsKey && file.state !== 'error') {
      // Saved at once when it finished: saving again is there, but not the main thing to do.
      actions.push(
        this.#button(file.saved ? 'Save again' : 'Save', name, () =>
          emit(this, 'swarmdrop-save', { digest }),
        ),
      )
      if (this.#files.canSaveTo)
        actions.push(this.#button('Save to…', name, () => emit(this, 'swarmdrop-save-to', { digest })))
    }
    if (file.state === 'downloading' || (file.state === 'queued' && file.chunkCount !== undefined)) {
      actions.push(this.#button('Pause', name, () => emit(this, 'swarmdrop-pause', { digest })))
    } else if (
      (file.state === 'paused' || file.state === 'error') &&
      file.chunkCount !== undefined &&
      !file.complete
    ) {
      actions.push(
        this.#button(
          file.state === 'error' ? 'Retry' : 'Resume',
          name,
          () => emit(this, 'swarmdrop-resume', { digest }),
          true,
        ),
      )
    }
    if (file.unfinished && !file.complete) actions.push(this.#reAdd(file))
    actions.push(...this.#commonActions(file))
    return actions
  }

  /** Link, peers, stop or share again, remove: what every held file offers. */
  #commonActions(file: FileView) {
    const digest = file.digest
    if (!digest) return []
    const name = file.name
    const held = file.chunkCount !== undefined
    const actions = []
    if (!file.needsKey && held && file.state !== 'hashing') {
      actions.push(
        this.#button('Share link', name, () => emit(this, 'swarmdrop-show-link', { digest, name })),
      )
    }
    if (held)
      actions.push(this.#button('Peers', name, () => emit(this, 'swarmdrop-show-peers', { digest, name })))
    if (held && file.complete && file.state !== 'hashing') {
      actions.push(
        file.shared
          ? this.#button('Stop sharing', name, () => this.#leaving(digest, 'swarmdrop-stop-sharing'))
          : this.#button('Share again', name, () => emit(this, 'swarmdrop-share-again', { digest })),
      )
    }
    const removeText = file.complete
      ? 'Remove'
      : held
        ? 'Cancel download'
        : file.state === 'hashing'
          ? 'Cancel'
          : 'Cancel'
    actions.push(this.#button(removeText, name, () => this.#leaving(digest, 'swarmdrop-remove')))
    return actions
  }

  /** "Add the file again": a file input, so that the same file is stored (only its missing chunks). */
  #reAdd(file: FileView) {
    const id = `readd-${file.key}`
    return html`<input id=${id} type="file" aria-label=${`Add the file again: ${file.name}`} @change=${(
      event: Event,
    ) => {
      const input = event.target as HTMLInputElement
      const files = [...(input.files ?? [])]
      input.value = ''
      if (files.length > 0) emit(this, 'swarmdrop-share', { files })
    }} /><label class="button" for=${id} aria-hidden="true">Add the file again</label>`
  }

  /**
   * Emits a stop or remove, then moves focus to where the keyboard user would go next: the next entry's
   * first control, or the list's heading when none is left (never the page body).
   */
  #leaving(digest: string, type: 'swarmdrop-remove' | 'swarmdrop-stop-sharing'): void {
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>(`${TOP} > li`)]
    const index = items.findIndex((item) => item.dataset.digest === digest)
    const nextDigest = (items[index + 1] ?? items[index - 1])?.dataset.digest
    emit(this, type, { digest })
    void this.updateComplete.then(() => {
      const target =
        type === 'swarmdrop-stop-sharing'
          ? this.renderRoot.querySelector<HTMLElement>(`li[data-digest="${digest}"] button`)
          : nextDigest
            ? this.renderRoot.querySelector<HTMLElement>(`${TOP} > li[data-digest="${nextDigest}"] button`)
            : null
      if (target) target.focus()
      else this.#focusTitle()
    })
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
