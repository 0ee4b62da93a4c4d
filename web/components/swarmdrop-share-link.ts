/**
 * A file's link, to copy or to scan: the link as text, a Copy button, and its QR code (drawn as SVG from
 * @paulmillr/qr's module matrix, so no image or canvas is involved). A private share's link carries its key
 * in the fragment: whoever scans or copies it can open the file. Shown as a modal dialog; the app opens it
 * by setting `link`.
 */
import { encodeQR } from '@paulmillr/qr'
import { css, html, LitElement, nothing, svg } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { emit } from './events.js'
import { theme } from './theme.js'

/** Modules of white around the code, as the QR specification asks (ISO/IEC 18004, quiet zone). */
const QUIET_ZONE = 4

@customElement('swarmdrop-share-link')
export class SwarmdropShareLink extends LitElement {
  static override styles = [
    theme,
    css`
      dialog {
        border: 1px solid var(--sd-border);
        border-radius: 0.8rem;
        background: var(--sd-surface);
        color: var(--sd-fg);
        max-width: min(30rem, 94vw);
        padding: 1rem;
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 0.45);
      }
      .head {
        display: flex;
        justify-content: space-between;
        gap: 1rem;
        align-items: baseline;
      }
      .link {
        display: flex;
        gap: 0.4rem;
        flex-wrap: wrap;
      }
      .link input {
        flex: 1 1 14rem;
        min-width: 0;
        font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
        font-size: 0.8rem;
      }
      svg {
        display: block;
        width: min(16rem, 70vw);
        height: auto;
        margin: 0.8rem auto 0.4rem;
        background: #ffffff;
        border-radius: 0.3rem;
      }
      p {
        margin: 0.5rem 0 0;
      }
    `,
  ]

  /** The file's name, for the title. */
  @property() name = ''
  /** The link to show; undefined closes the dialog. */
  @property() link: string | undefined
  /** Whether the link carries a private share's key (said beside it). */
  @property({ type: Boolean }) private = false

  @query('dialog') private _dialog!: HTMLDialogElement | null

  protected override updated(): void {
    const dialog = this._dialog
    if (!dialog) return
    if (this.link && !dialog.open) dialog.showModal()
    else if (!this.link && dialog.open) dialog.close()
  }

  override render() {
    return html`<dialog aria-labelledby="link-title" @close=${this._onClose}>
      <div class="head">
        <h2 id="link-title">Link to ${this.name || 'this file'}</h2>
        <button type="button" @click=${this._onCloseClick}>Close</button>
      </div>
      ${this.link ? this.#renderLink(this.link) : nothing}
    </dialog>`
  }

  #renderLink(link: string) {
    return html`<div class="link">
        <label class="visually-hidden" for="link-text">Link</label>
        <input id="link-text" readonly .value=${link} @focus=${this._onSelect} />
        <button type="button" class="primary" @click=${() => emit(this, 'swarmdrop-copy-text', { text: link, what: 'link' })}>Copy link</button>
      </div>
      ${qrCode(link)}
      <p class="muted">
        ${
          this.private
            ? 'Anyone with this link can open the file: it carries the key. Send it only to the people it is for.'
            : 'Anyone with this link can download the file while someone shares it.'
        }
      </p>`
  }

  private _onSelect(event: Event): void {
    ;(event.target as HTMLInputElement).select()
  }

  private _onCloseClick(): void {
    this._dialog?.close()
  }

  private _onClose(): void {
    emit(this, 'swarmdrop-show-link', { digest: '', name: '' })
  }
}

/** The link's QR code as SVG: one path of dark modules on white, with the quiet zone around it. */
export function qrCode(text: string) {
  const modules = encodeQR(text, 'raw', { ecc: 'medium' })
  const size = modules.length + 2 * QUIET_ZONE
  let path = ''
  for (const [y, row] of modules.entries()) {
    for (const [x, dark] of row.entries()) {
      if (dark) path += `M${x + QUIET_ZONE} ${y + QUIET_ZONE}h1v1h-1z`
    }
  }
  return html`<svg viewBox=${`0 0 ${size} ${size}`} role="img" aria-label="QR code of the link" shape-rendering="crispEdges">
    ${svg`<path d=${path} fill="#000000"></path>`}
  </svg>`
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-share-link': SwarmdropShareLink
  }
}
