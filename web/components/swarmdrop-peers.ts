/**
 * The peers of one file, on request: the peers the tracker and the ring name as holding it (and which
 * named each: `data-found`), how many chunks each has, how this browser is connected to each (direct,
 * hole-punched, relayed) and the current rates. Below,
 * this tab's connections: how many of the browser's lifetime allowance it has used, and the peers it
 * refuses for abuse. Shown as a modal dialog (Escape closes it); the app opens it by setting `digest`.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { ref } from 'lit/directives/ref.js'
import { repeat } from 'lit/directives/repeat.js'
import { banReasonFor, errorCodeOf, messageFor } from '../app/error-messages.js'
import { formatRate } from '../app/format.js'
import { PeersController } from '../app/peers-controller.js'
import type { RoutingSource } from '../peer/content-routing.js'
import type { ConnectionType } from '../peer/peer-link.js'
import { emit } from './events.js'
import { peerColor } from './swarmdrop-chunk-map.js'
import { dataTable, theme } from './theme.js'

export const CONNECTION_LABELS: Record<ConnectionType | 'not connected', string> = {
  direct: 'Direct',
  'hole-punched': 'Hole-punched (through NAT)',
  relayed: 'Relayed (TURN)',
  unknown: 'Connected (type unknown)',
  'not connected': 'Not connected',
}

const FOUND_LABELS: Record<RoutingSource, string> = { tracker: 'Server', ring: 'Network' }

/** "Server", "Network", or "Server and network": where the page learned that this peer holds the file. */
function foundLabel(found: readonly RoutingSource[]): string {
  const [first, ...rest] = found.map((source) => FOUND_LABELS[source])
  if (!first) return '–'
  return rest.length === 0 ? first : `${first} and ${rest.join(' and ').toLowerCase()}`
}

@customElement('swarmdrop-peers')
export class SwarmdropPeers extends LitElement {
  static override styles = [
    theme,
    dataTable,
    css`
      dialog {
        width: min(44rem, calc(100vw - 1.5rem));
        max-height: calc(100vh - 2rem);
        border: 1px solid var(--sd-border);
        border-radius: 0.8rem;
        background: var(--sd-surface);
        color: var(--sd-fg);
        padding: 1rem;
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 45%);
      }
      .head {
        display: flex;
        justify-content: space-between;
        gap: 0.75rem;
        align-items: flex-start;
      }
      h2 {
        overflow-wrap: anywhere;
      }
      .swatch {
        display: inline-block;
        width: 0.8rem;
        height: 0.8rem;
        border-radius: 0.15rem;
        margin-right: 0.4rem;
        vertical-align: -0.1rem;
      }
      .error {
        color: var(--sd-danger);
      }
      .health h3 {
        font-size: 1rem;
        margin-bottom: 0.25rem;
      }
    `,
  ]

  /** The file whose peers are shown; undefined closes the view. */
  @property() digest: string | undefined
  @property() name = ''

  @query('dialog') private _dialog!: HTMLDialogElement | null

  readonly #peers = new PeersController(this)

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('digest')) this.#peers.show(this.digest)
  }

  protected override updated(): void {
    const dialog = this._dialog
    if (!dialog) return
    if (this.digest && !dialog.open) dialog.showModal()
    else if (!this.digest && dialog.open) dialog.close()
  }

  override render() {
    return html`<dialog aria-labelledby="peers-title" @close=${this._onClose}>
      <div class="head">
        <h2 id="peers-title">Who has ${this.name || 'this file'}</h2>
        <button type="button" @click=${this._onCloseClick}>Close</button>
      </div>
      <p class="muted mono">${this.digest ? `digest ${this.digest.slice(0, 16)}…` : ''}</p>
      ${this.#renderBody()}
      ${this.#renderHealth()}
    </dialog>`
  }

  #renderHealth() {
    const health = this.#peers.health
    if (!this.digest || !health) return nothing
    const { built, budget, state } = health.budget
    const note =
      state === 'low'
        ? ' Only downloads you ask for open new ones now.'
        : state === 'spent'
          ? ' No new connection can be opened; reload the page when nothing is running.'
          : ''
    return html`<section class="health" aria-labelledby="health-title" data-link-budget=${state}>
      <h3 id="health-title">This tab's connections</h3>
      <p class=${state === 'ok' ? 'muted' : 'error'}>
        ${built} of ${budget} connections used (a browser allows about ${budget} in one tab's life).${note}
      </p>
      ${
        health.bans.length === 0
          ? nothing
          : html`<h3>Blocked for misbehaving</h3>
            <ul>
              ${repeat(
                health.bans,
                (ban) => ban.key,
                (ban) => html`<li data-ban=${ban.key} data-reason=${ban.reason}>
                  ${ban.kind === 'address' ? 'Address' : 'Browser'} <code>${ban.who}</code>: ${banReasonFor(ban.reason)};
                  ${
                    ban.remainingMs === Number.POSITIVE_INFINITY
                      ? 'blocked for the rest of this visit'
                      : `blocked for ${Math.max(1, Math.ceil(ban.remainingMs / 60_000))} more min`
                  }
                </li>`,
              )}
            </ul>`
      }
    </section>`
  }

  #renderBody() {
    const peers = this.#peers
    if (!this.digest) return nothing
    if (peers.error !== undefined) {
      const message =
        errorCodeOf(peers.error) === 'FILE_NOT_FOUND'
          ? 'No other browser has this file right now.'
          : messageFor(peers.error)
      return html`<p class=${errorCodeOf(peers.error) === 'FILE_NOT_FOUND' ? 'muted' : 'error'}>${message}</p>`
    }
    if (!peers.loaded) return html`<p class="muted" aria-live="polite">Asking the server and the network…</p>`
    if (peers.peers.length === 0) return html`<p class="muted">No other browser has this file right now.</p>`
    return html`<div class="table-wrap"><table>
      <caption class="visually-hidden">Browsers that have this file</caption>
      <thead>
        <tr><th scope="col">Browser</th><th scope="col">Pieces</th><th scope="col">Connection</th><th scope="col">Found through</th><th scope="col">From it</th><th scope="col">To it</th></tr>
      </thead>
      <tbody>
        ${repeat(
          peers.peers,
          (peer) => peer.peerId,
          (
            peer,
          ) => html`<tr data-peer-id=${peer.peerId} data-connection=${peer.connection} data-found=${peer.found.join(' ')}>
            <td><span class="swatch" aria-hidden="true" ${ref(paint(peerColor(peer.peerId)))}></span><code>${peer.peerId}</code></td>
            <td>${piecesOf(peer)}</td>
            <td>${CONNECTION_LABELS[peer.connection]}</td>
            <td>${foundLabel(peer.found)}</td>
            <td>${formatRate(peer.downloadBytesPerSecond)}</td>
            <td>${formatRate(peer.uploadBytesPerSecond)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    <p class="muted">Each browser's colour is the colour of the pieces it sent in the picture of pieces.</p>`
  }

  private _onCloseClick(): void {
    this._dialog?.close()
  }

  private _onClose(): void {
    if (this.digest !== undefined) emit(this, 'swarmdrop-show-peers', { digest: undefined })
  }
}

/** "all 8", "3 of 8", or "unknown" for a holder the ring named whose count is not known here. */
function piecesOf(peer: { chunks: number; chunkCount: number }): string {
  if (peer.chunkCount === 0) return 'unknown'
  return peer.chunks === peer.chunkCount ? `all ${peer.chunkCount}` : `${peer.chunks} of ${peer.chunkCount}`
}

/**
 * Colours an element through the CSSOM. The page's CSP (style-src 'self') refuses style attributes, and
 * Lit's styleMap writes one on first render; setting a property from script is allowed.
 */
function paint(color: string) {
  return (element: Element | undefined) => {
    if (element instanceof HTMLElement) element.style.setProperty('background-color', color)
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-peers': SwarmdropPeers
  }
}
