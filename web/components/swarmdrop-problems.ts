/** The problems to show: one clear sentence each (error-messages.ts), details on request, dismissable. */
import { css, html, LitElement, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { Problem } from '../app/services.js'
import { emit } from './events.js'
import { theme } from './theme.js'

@customElement('swarmdrop-problems')
export class SwarmdropProblems extends LitElement {
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
        gap: 0.5rem;
      }
      li {
        border: 1px solid var(--sd-danger);
        background: var(--sd-danger-bg);
        border-radius: 0.6rem;
        padding: 0.55rem 0.75rem;
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem 0.75rem;
        align-items: flex-start;
        justify-content: space-between;
      }
      .text {
        flex: 1 1 16rem;
        min-width: 0;
      }
      p {
        margin: 0;
      }
      details {
        font-size: 0.85rem;
        color: var(--sd-muted);
        overflow-wrap: anywhere;
      }
    `,
  ]

  @property({ attribute: false }) problems: readonly Problem[] = []

  override render() {
    // The live region is always there, so that screen readers announce problems added to it.
    return html`<div role="alert" aria-live="assertive">
      ${
        this.problems.length === 0
          ? nothing
          : html`<ul aria-label="Problems">
            ${repeat(
              this.problems,
              (problem) => problem.id,
              (problem) => html`<li data-code=${problem.code ?? 'UNEXPECTED'}>
                <div class="text">
                  <p>${problem.message}${problem.count > 1 ? html` <span class="muted">(${problem.count} times)</span>` : nothing}</p>
                  ${problem.detail ? html`<details><summary>Details</summary>${problem.code ? `${problem.code}: ` : ''}${problem.detail}</details>` : nothing}
                </div>
                <button type="button" aria-label="Dismiss this message" @click=${() => emit(this, 'swarmdrop-dismiss-problem', { id: problem.id })}>Dismiss</button>
              </li>`,
            )}
          </ul>`
      }
    </div>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-problems': SwarmdropProblems
  }
}
