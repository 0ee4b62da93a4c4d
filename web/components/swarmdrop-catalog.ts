/**
 * The catalog: every file the tracker lists, with name, size, pieces, who shares it and who is downloading
 * it, a labelled Download button, and its full digest, which downloads too (a button: click or Enter, for
 * scripts and the original "click a digest"). A collection is one entry with its file count and "Download
 * all". A search box, pages, and a way to copy a digest or a link. Names come from peers: they are only
 * ever rendered as text.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import { CatalogController, type CatalogRow } from '../app/catalog-controller.js'
import { messageFor } from '../app/error-messages.js'
import { formatBytes } from '../app/format.js'
import { emit } from './events.js'
import { theme } from './theme.js'

@customElement('swarmdrop-catalog')
export class SwarmdropCatalog extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      .search {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
        margin-bottom: 0.75rem;
      }
      .search input {
        flex: 1 1 14rem;
        min-width: 0;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.6rem;
      }
      li {
        background: var(--sd-surface);
        border: 1px solid var(--sd-border);
        border-radius: 0.6rem;
        padding: 0.65rem 0.75rem;
        display: grid;
        gap: 0.35rem;
        min-width: 0;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        gap: 0.25rem 0.75rem;
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
        min-width: 0;
      }
      .here {
        font-size: 0.85rem;
        color: var(--sd-ok);
      }
      .figures {
        font-size: 0.9rem;
        display: flex;
        flex-wrap: wrap;
        gap: 0.15rem 1rem;
      }
      button.digest {
        text-align: left;
        overflow-wrap: anywhere;
        word-break: break-all;
        font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
        font-size: 0.85rem;
        padding: 0.3rem 0.5rem;
        color: var(--sd-accent);
        border-style: dashed;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
      }
      .error {
        color: var(--sd-danger);
      }
    `,
  ]

  readonly #catalog = new CatalogController(this)

  /** The controller, for tests and for the page size it was made with. */
  get controller(): CatalogController {
    return this.#catalog
  }

  override render() {
    const catalog = this.#catalog
    return html`
      <h2 id="catalog-title">Shared with everyone</h2>
      <form class="search" role="search" @submit=${this._onSubmit}>
        <label for="catalog-search">Search by name or digest</label>
        <input
          id="catalog-search"
          type="search"
          maxlength="200"
          autocomplete="off"
          placeholder="e.g. holiday.mp4 or 8fb31e05"
          .value=${catalog.query}
          @input=${this._onInput}
        />
      </form>
      ${this.#renderStatus()}
      ${
        catalog.entries.length > 0
          ? html`<ul aria-labelledby="catalog-title">
            ${repeat(
              catalog.entries,
              (entry) => entry.digest,
              (entry) => this.#renderEntry(entry),
            )}
          </ul>`
          : nothing
      }
      ${this.#renderPager()}
    `
  }

  #renderStatus() {
    const catalog = this.#catalog
    if (catalog.error !== undefined)
      return html`<p class="error" role="alert">The catalog could not be loaded. ${messageFor(catalog.error)}</p>`
    if (!catalog.online && !catalog.loaded)
      return html`<p class="muted">The catalog appears once the tracker is connected; meanwhile, search by name to ask the network.</p>`
    if (!catalog.loaded) return html`<p class="muted" aria-live="polite">Loading the catalog…</p>`
    if (catalog.total === 0) {
      return html`<p class="muted" aria-live="polite">
        ${catalog.query.trim() ? 'No file matches this search.' : 'Nobody is sharing anything yet. Drop a file to be the first.'}
      </p>`
    }
    const where = catalog.fromRing
      ? ' (found through the network: the server is offline)'
      : catalog.online
        ? ''
        : ' (offline: this list may be out of date)'
    return html`<p class="muted" aria-live="polite">
      ${catalog.total} ${catalog.total === 1 ? 'item' : 'items'}${catalog.query.trim() ? ' match' : ' shared'}${where}.
    </p>`
  }

  #renderEntry(entry: CatalogRow) {
    const name = entry.names[0] ?? ''
    const others = entry.names.length - 1
    const mark = this.#catalog.localMark(entry.digest)
    const nameId = `name-${entry.digest}`
    const digest = entry.digest
    const collection = entry.collection
    // Each control's accessible name starts with its visible label (WCAG 2.5.3), then names the file.
    const button = (text: string, onClick: () => void, primary = false) =>
      html`<button type="button" class=${primary ? 'primary' : ''} aria-label=${`${text}: ${name}`} @click=${onClick}>${text}</button>`
    return html`<li data-digest=${digest} data-collection=${collection ? digest : nothing} data-found=${entry.found.join(' ')} aria-labelledby=${nameId}>
      <div class="head">
        <span class="name" id=${nameId} title=${entry.names.join('\n')}>${name}${others > 0 ? html` <span class="muted">(+${others} other ${others === 1 ? 'name' : 'names'})</span>` : nothing}</span>
        ${mark ? html`<span class="here">${mark === 'here' ? 'Here' : 'Downloading here'}</span>` : nothing}
      </div>
      <div class="figures">
        ${
          collection
            ? html`<span>Collection of ${collection.files} ${collection.files === 1 ? 'file' : 'files'}</span>
              <span>${formatBytes(collection.bytes)}</span>`
            : html`<span>${formatBytes(entry.size)}</span>
              <span title="A file travels in pieces, each checked on arrival">${entry.chunkCount} ${entry.chunkCount === 1 ? 'piece' : 'pieces'}</span>`
        }
        ${
          entry.seeders === undefined
            ? html`<span>found through the network</span>`
            : html`<span>shared by ${entry.seeders} ${entry.seeders === 1 ? 'browser' : 'browsers'}</span>`
        }
        ${entry.leechers > 0 ? html`<span>${entry.leechers} downloading</span>` : nothing}
      </div>
      <div class="actions">
        ${
          collection
            ? button('Download all', () => emit(this, 'swarmdrop-download-all', { digest }), true)
            : button('Download', () => emit(this, 'swarmdrop-download', { digest }), true)
        }
        ${button('Copy link', () => emit(this, 'swarmdrop-copy', { digest, what: 'link' }))}
        ${button('Copy digest', () => emit(this, 'swarmdrop-copy', { digest, what: 'digest' }))}
        ${button('Peers', () => emit(this, 'swarmdrop-show-peers', { digest, name }))}
      </div>
      <button
        type="button"
        class="digest"
        aria-label=${`Digest ${digest}: download ${name}`}
        title="Download this file"
        @click=${() => emit(this, collection ? 'swarmdrop-download-all' : 'swarmdrop-download', { digest })}
      >${digest}</button>
    </li>`
  }

  #renderPager() {
    const catalog = this.#catalog
    if (catalog.total <= catalog.pageSize && catalog.offset === 0) return nothing
    const page = Math.floor(catalog.offset / catalog.pageSize) + 1
    const pages = Math.max(1, Math.ceil(catalog.total / catalog.pageSize))
    return html`<nav class="pager" aria-label="Catalog pages">
      <button type="button" ?disabled=${!catalog.hasPrevious} @click=${() => catalog.previousPage()}>Previous</button>
      <span>Page ${page} of ${pages}</span>
      <button type="button" ?disabled=${!catalog.hasNext} @click=${() => catalog.nextPage()}>Next</button>
    </nav>`
  }

  private _onInput(event: Event): void {
    this.#catalog.setQuery((event.target as HTMLInputElement).value)
  }

  private _onSubmit(event: Event): void {
    event.preventDefault()
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-catalog': SwarmdropCatalog
  }
}
