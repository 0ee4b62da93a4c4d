/**
 * The "Network" panel (issue 13): this browser's place in the ring that keeps search and signalling alive
 * without the server — its state, node id, the ring's estimated size, the records it stores for others and
 * the lookups it has served; under "Neighbours", its predecessor, successors and fingers with how each is
 * connected; and the ways in it knows besides the server (sibling tabs, CLI peers listening). Renders what
 * the app's RingStatusController holds (web/app/ring-status-controller.ts), nothing more.
 */
import { css, html, LitElement, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { EntryPointInfo } from '../peer/entry-point.js'
import type { RingConnection, RingPeer, RingState, RingStatus } from '../peer/ring/ring-status.js'
import { emit } from './events.js'
import { dataTable, theme } from './theme.js'

export const RING_STATE_LABELS: Record<RingState, string> = {
  joining: 'Joining',
  member: 'Member',
  client: 'Client',
  alone: 'Alone',
}

const RING_STATE_EXPLAINED: Record<RingState, string> = {
  joining: 'linking to the network through the peers it knows.',
  member: 'this browser stores records for others and passes their lookups on.',
  client:
    'this browser asks through members and stores nothing for others (it is new here, in the background, or on a metered connection).',
  alone: 'no other peer of the network is known yet.',
}

export const RING_CONNECTION_LABELS: Record<RingConnection, string> = {
  direct: 'Direct',
  relayed: 'Relayed (TURN)',
  none: 'Not linked',
}

type Role = 'predecessor' | 'successor' | 'finger'

@customElement('swarmdrop-network')
export class SwarmdropNetwork extends LitElement {
  static override styles = [
    theme,
    dataTable,
    css`
      :host {
        display: block;
      }
      section {
        background: var(--sd-surface);
        border: 1px solid var(--sd-border);
        border-radius: 0.8rem;
        padding: 0.75rem 1rem;
      }
      h2 {
        font-size: 1.15rem;
        margin: 0 0 0.4rem;
      }
      h3 {
        font-size: 1rem;
        margin: 0.75rem 0 0.25rem;
      }
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 0.2rem 1rem;
        margin: 0;
      }
      dt {
        color: var(--sd-muted);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      ul {
        margin: 0;
        padding-left: 1.2rem;
      }
      .help {
        display: flex;
        gap: 0.5rem;
        align-items: flex-start;
        margin: 0.6rem 0 0.2rem;
      }
    `,
  ]

  /** The ring status to show; undefined while the engine is starting. */
  @property({ attribute: false }) status: RingStatus | undefined
  @property({ attribute: false }) entryPoints: readonly EntryPointInfo[] = []
  /** Whether the user asked for a ring position at once ("Help the network now"). */
  @property({ type: Boolean }) memberAtOnce = false

  override render() {
    const status = this.status
    const state = status?.state ?? 'joining'
    return html`<section aria-labelledby="network-title" data-ring-state=${state}>
      <h2 id="network-title">Network</h2>
      <p class="state">
        <strong>${RING_STATE_LABELS[state]}</strong>: ${RING_STATE_EXPLAINED[state]}
      </p>
      ${status ? this.#renderFigures(status) : nothing}
      <label class="help">
        <input type="checkbox" name="member-at-once" .checked=${this.memberAtOnce} @change=${this._onMemberAtOnce} />
        Help the network now: store records and pass lookups on for others while this page is open (otherwise after two minutes)
      </label>
      <details>
        <summary>Neighbours and ways in</summary>
        ${status ? this.#renderNeighbours(status) : nothing}
        ${this.#renderEntryPoints()}
      </details>
    </section>`
  }

  private _onMemberAtOnce(event: Event): void {
    emit(this, 'swarmdrop-member-at-once', { on: (event.target as HTMLInputElement).checked })
  }

  #renderFigures(status: RingStatus) {
    return html`<dl>
      <dt>This node</dt>
      <dd><code class="node-id" title=${status.nodeId}>${status.nodeId.slice(0, 16)}…</code></dd>
      <dt>Network size</dt>
      <dd class="size">about ${status.sizeEstimate} ${status.sizeEstimate === 1 ? 'peer' : 'peers'}</dd>
      <dt>Records stored</dt>
      <dd class="records">${status.recordsStored}</dd>
      <dt>Lookups served</dt>
      <dd class="lookups">${status.lookupsServed}</dd>
    </dl>`
  }

  #renderNeighbours(status: RingStatus) {
    const rows: { role: Role; label: string; peer: RingPeer }[] = [
      ...(status.predecessor
        ? [{ role: 'predecessor' as const, label: 'Predecessor', peer: status.predecessor }]
        : []),
      ...status.successors.map((peer, i) => ({
        role: 'successor' as const,
        label: `Successor ${i + 1}`,
        peer,
      })),
      ...status.fingers.map((finger) => ({
        role: 'finger' as const,
        label: `Finger ${finger.level}`,
        peer: finger,
      })),
    ]
    if (rows.length === 0) return html`<p class="muted">No neighbours in the ring yet.</p>`
    return html`<div class="table-wrap"><table>
      <caption class="visually-hidden">This node's neighbours in the ring</caption>
      <thead><tr><th scope="col">Neighbour</th><th scope="col">Browser or peer</th><th scope="col">Connection</th></tr></thead>
      <tbody>
        ${repeat(
          rows,
          (row) => `${row.role}:${row.label}:${row.peer.nodeId}`,
          (
            row,
          ) => html`<tr data-ring-role=${row.role} data-peer-id=${row.peer.peerId} data-connection=${row.peer.connection}>
            <th scope="row">${row.label}</th>
            <td><code title=${row.peer.nodeId}>${row.peer.peerId}</code></td>
            <td>${RING_CONNECTION_LABELS[row.peer.connection]}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`
  }

  #renderEntryPoints() {
    return html`<h3>Ways in without the server</h3>
      ${
        this.entryPoints.length === 0
          ? html`<p class="muted">None known: with the server down, this page can only reach the network through another tab or a listening peer it knew before.</p>`
          : html`<ul>
            ${this.entryPoints.map(
              (entry) => html`<li data-entry-point=${entry.kind}>
                ${entry.label}: ${entry.peers.length} ${entry.peers.length === 1 ? 'peer' : 'peers'} reachable
              </li>`,
            )}
          </ul>`
      }`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-network': SwarmdropNetwork
  }
}
