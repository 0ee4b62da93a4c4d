/**
 * The question a link from another page asks before anything is downloaded: the file's name and size
 * (when the tracker knows them), its digest, and Download or Cancel. A modal dialog, so that nothing else
 * on the page is clicked by mistake meanwhile; Escape cancels.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { formatBytes } from '../app/format.js'
import type { LinkRequest } from '../app/services.js'
import { emit } from './events.js'
import { theme } from './theme.js'

@customElement('swarmdrop-link-confirm')
export class SwarmdropLinkConfirm extends LitElement {
  static override styles = [
    theme,
    css`
      dialog {
        max-width: min(36rem, calc(100vw - 2rem));
        border: 1px solid var(--sd-border);
        border-radius: 0.8rem;
        padding: 1rem 1.25rem;
        background: var(--sd-surface);
        color: var(--sd-fg);
      }
      h2 {
        font-size: 1.15rem;
        margin: 0 0 0.5rem;
      }
      p {
        margin: 0.4rem 0;
      }
      code {
        overflow-wrap: anywhere;
        font-size: 0.85rem;
      }
      .actions {
        display: flex;
        gap: 0.6rem;
        justify-content: flex-end;
        margin-top: 0.9rem;
      }
    `,
  ]

  @property({ attribute: false }) request: LinkRequest | undefined
  @query('dialog') private _dialog!: HTMLDialogElement | null

  override render() {
    const request = this.request
    if (!request) return nothing
    return html`<dialog
      data-link-request=${request.digest}
      aria-labelledby="link-title"
      @cancel=${this._onCancel}
    >
      <h2 id="link-title">Download this file?</h2>
      <p>A link opened from outside this page asks to download:</p>
      <p>${this.#describe(request)}</p>
      <p><code>${request.digest}</code></p>
      <p class="muted">
        Downloading saves the file on this device and shares it with others while this page is open.
      </p>
      <div class="actions">
        <button type="button" @click=${this._onCancel}>Cancel</button>
        <button type="button" class="primary" @click=${this._onDownload}>Download</button>
      </div>
    </dialog>`
  }

  override updated(changed: PropertyValues<this>): void {
    super.updated(changed)
    const dialog = this._dialog
    if (dialog && !dialog.open) dialog.showModal()
  }

  #describe(request: LinkRequest) {
    if (request.lookingUp) return html`<span class="muted">Looking the file up…</span>`
    if (request.name === undefined) {
      return html`<span class="muted">A file the tracker does not list right now (nobody online shares it).</span>`
    }
    return html`<strong>${request.name}</strong>${request.size === undefined ? nothing : html`, ${formatBytes(request.size)}`}`
  }

  private _onDownload(): void {
    emit(this, 'swarmdrop-answer-link', { download: true })
  }

  private _onCancel(event: Event): void {
    event.preventDefault() // the dialog closes when the request goes, not before
    emit(this, 'swarmdrop-answer-link', { download: false })
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-link-confirm': SwarmdropLinkConfirm
  }
}
