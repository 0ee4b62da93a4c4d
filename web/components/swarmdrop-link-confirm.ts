/**
 * The question a link asks before anything is downloaded, one for every kind of link: for a public link
 * the file's name and size (when the tracker knows them) and its digest; for a private one that it is
 * encrypted and opens only with this link, and a password field when the link asks for one. Download or
 * Cancel. A modal dialog, so that nothing else on the page is clicked by mistake meanwhile; Escape cancels.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { live } from 'lit/directives/live.js'
import { messageFor } from '../app/error-messages.js'
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
      .password {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
        margin-top: 0.6rem;
      }
      .error {
        color: var(--sd-danger);
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
  @state() private _password = ''
  @query('dialog') private _dialog!: HTMLDialogElement | null

  override render() {
    const request = this.request
    if (!request) return nothing
    const secret = request.secret
    const busy = request.state === 'opening'
    return html`<dialog
      data-link-request=${request.digest}
      data-private=${secret ? secret.kind : nothing}
      aria-labelledby="link-title"
      @cancel=${this._onCancel}
    >
      ${secret ? this.#describePrivate(secret.kind === 'password') : this.#describePublic(request)}
      ${request.state === 'error' ? html`<p class="error" role="alert">${messageFor(request.error)}</p>` : nothing}
      <p class="muted">
        Downloading saves the file on this device and shares it with others while this page is open.
      </p>
      <div class="actions">
        <button type="button" @click=${this._onCancel}>Cancel</button>
        <button type="button" class="primary" ?disabled=${busy} @click=${this._onDownload}>
          ${busy ? 'Opening…' : 'Download'}
        </button>
      </div>
    </dialog>`
  }

  override willUpdate(changed: PropertyValues<this>): void {
    // A new link starts with an empty password field; an error on the same link keeps what was typed.
    if (changed.has('request') && changed.get('request')?.digest !== this.request?.digest) this._password = ''
  }

  override updated(changed: PropertyValues<this>): void {
    super.updated(changed)
    const dialog = this._dialog
    if (dialog && !dialog.open) dialog.showModal()
  }

  #describePublic(request: LinkRequest) {
    return html`<h2 id="link-title">Download this file?</h2>
      <p>A link opened from outside this page asks to download:</p>
      <p>${this.#name(request)}</p>
      <p><code>${request.digest}</code></p>`
  }

  #describePrivate(needsPassword: boolean) {
    return html`<h2 id="link-title">A private file was shared with you</h2>
      <p>It is encrypted: only this link${needsPassword ? ' and its password open it' : ' opens it'}. Its name shows once the first piece is here.</p>
      ${
        needsPassword
          ? html`<div class="password">
            <label for="link-password">Password</label>
            <input id="link-password" type="password" autocomplete="off" .value=${live(this._password)} @input=${this._onPassword} @keydown=${this._onPasswordKey} />
          </div>`
          : nothing
      }`
  }

  #name(request: LinkRequest) {
    if (request.lookingUp) return html`<span class="muted">Looking the file up…</span>`
    if (request.name === undefined) {
      return html`<span class="muted">A file the tracker does not list right now (nobody online shares it).</span>`
    }
    return html`<strong>${request.name}</strong>${request.size === undefined ? nothing : html`, ${formatBytes(request.size)}`}`
  }

  private _onPassword(event: Event): void {
    this._password = (event.target as HTMLInputElement).value
  }

  private _onPasswordKey(event: KeyboardEvent): void {
    if (event.key === 'Enter') this._onDownload()
  }

  private _onDownload(): void {
    if (this.request?.state === 'opening') return
    const password = this._password
    emit(this, 'swarmdrop-answer-link', password ? { download: true, password } : { download: true })
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
