/**
 * The app shell: a skip link to the search, the banner (the server connection, `data-tracker-state`; the
 * network (the ring); this browser's id; storage used and available), then in the main landmark a short
 * line on how Swarmdrop works, "Server offline — finding peers through the network" while the ring stands
 * in for the server, the problems, the drop zone, my files and the catalog, the Network panel; the peers
 * or the link of a file on
 * request; the question a link asks before it downloads; toasts with Undo; a polite live region for what
 * finished. It turns the events its parts emit into calls on the services it gets from context (web/main.ts).
 */
import { ContextConsumer } from '@lit/context'
import { css, html, LitElement, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { servicesContext } from '../app/context.js'
import { ERROR_MESSAGES, messageFor } from '../app/error-messages.js'
import { formatBytes } from '../app/format.js'
import { LinkRequestController } from '../app/link-request-controller.js'
import { AttentionController, LeaveGuardController, PasteController } from '../app/page-controllers.js'
import { ProblemsController, ShareJobsController, ToastsController } from '../app/problems-controller.js'
import { RING_FALLBACK_BANNER, RingStatusController } from '../app/ring-status-controller.js'
import type { AppServices } from '../app/services.js'
import { StorageController } from '../app/storage-controller.js'
import { TrackerStatusController } from '../app/tracker-status-controller.js'
import { emit, type SwarmdropEventDetails } from './events.js'
import { theme } from './theme.js'
import './swarmdrop-catalog.js'
import './swarmdrop-drop-zone.js'
import './swarmdrop-link-confirm.js'
import './swarmdrop-my-files.js'
import { RING_STATE_LABELS } from './swarmdrop-network.js'
import './swarmdrop-peers.js'
import './swarmdrop-problems.js'
import './swarmdrop-share-link.js'

/** Where the intro line remembers it was dismissed. */
export const INTRO_DISMISSED_KEY = 'swarmdrop.intro-dismissed'
/** How long "Copied" stays on screen. */
const NOTICE_MS = 3_000

const TRACKER_LABELS = { connecting: 'Connecting…', online: 'Connected', offline: 'Offline' } as const

@customElement('swarmdrop-app')
export class SwarmdropApp extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
        min-height: 100vh;
        background: var(--sd-bg);
      }
      .page {
        max-width: 68rem;
        margin: 0 auto;
        padding: 0.75rem 1rem 3rem;
      }

      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem 1.5rem;
        padding-bottom: 0.75rem;
        border-bottom: 1px solid var(--sd-border);
      }
      h1 {
        font-size: 1.5rem;
        margin: 0;
      }
      .status {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem 1.25rem;
        align-items: center;
        font-size: 0.9rem;
        margin: 0;
      }
      .status div {
        display: flex;
        gap: 0.35rem;
        align-items: center;
      }
      .status dt {
        color: var(--sd-muted);
      }
      .status dd {
        margin: 0;
      }
      .badge {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
        font-weight: 600;
      }
      .badge::before {
        content: '';
        width: 0.6rem;
        height: 0.6rem;
        border-radius: 50%;
        background: var(--sd-warn);
      }
      .badge[data-tracker-state='online']::before {
        background: var(--sd-ok);
      }
      .badge[data-tracker-state='offline']::before {
        background: var(--sd-danger);
      }
      meter {
        width: 6rem;
      }
      .intro {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
        justify-content: space-between;
        margin: 0;
        padding: 0.6rem 0.8rem;
        border-radius: 0.6rem;
        background: var(--sd-surface);
        border: 1px solid var(--sd-border);
      }
      .intro p {
        margin: 0;
        flex: 1 1 20rem;
      }
      .offline {
        margin: 0;
        color: var(--sd-danger);
      }
      .fallback {
        margin: 0;
        padding: 0.5rem 0.8rem;
        border-radius: 0.6rem;
        border: 1px solid var(--sd-warn);
        background: var(--sd-surface);
      }
      .badge[data-ring-state='member']::before,
      .badge[data-ring-state='client']::before {
        background: var(--sd-ok);
      }
      .badge[data-ring-state='alone']::before {
        background: var(--sd-muted);
      }
      .columns {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 1.25rem;
        align-items: start;
      }
      @media (max-width: 52rem) {
        .columns {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      /* Spacing between the parts of the page (after the rules above, which reset their own margins). */
      .page > * + * {
        margin-top: 1.25rem;
      }
      /* An empty problems list keeps its live region but takes no room. */
      .page > swarmdrop-problems.empty {
        margin-top: 0;
      }
      .toasts {
        position: fixed;
        bottom: 1rem;
        left: 50%;
        transform: translateX(-50%);
        display: grid;
        gap: 0.4rem;
        z-index: 5;
        width: max-content;
        max-width: 94vw;
      }
      .toast {
        display: flex;
        gap: 0.75rem;
        align-items: center;
        background: var(--sd-fg);
        color: var(--sd-bg);
        padding: 0.4rem 0.6rem 0.4rem 0.9rem;
        border-radius: 0.5rem;
      }
      .toast button {
        background: var(--sd-bg);
        color: var(--sd-fg);
      }
      .skip {
        position: absolute;
        left: 0.5rem;
        top: -3rem;
        background: var(--sd-surface);
        color: var(--sd-accent);
        padding: 0.4rem 0.8rem;
        border-radius: 0.4rem;
        z-index: 20;
      }
      .skip:focus {
        top: 0.5rem;
      }
      main {
        display: block;
      }
      main > * + * {
        margin-top: 1.25rem;
      }
      main > swarmdrop-problems.empty {
        margin-top: 0;
      }
    `,
  ]

  /** Set by main.ts when the services could not be built (no IndexedDB, …): shown instead of the app. */
  @property({ attribute: false }) startupError: unknown

  @state() private _peersOf: { digest: string; name: string } | undefined
  @state() private _linkOf: { digest: string; name: string } | undefined
  @state() private _notice = ''
  @state() private _introDismissed = readIntroDismissed()

  readonly #tracker = new TrackerStatusController(this)
  readonly #ring = new RingStatusController(this)
  readonly #storage = new StorageController(this)
  readonly #problems = new ProblemsController(this)
  readonly #jobs = new ShareJobsController(this)
  readonly #toasts = new ToastsController(this)
  readonly #attention = new AttentionController(this)
  readonly #linkRequest = new LinkRequestController(this)
  #services: AppServices | undefined
  #noticeTimer: ReturnType<typeof setTimeout> | undefined

  constructor() {
    super()
    new ContextConsumer(this, {
      context: servicesContext,
      subscribe: true,
      callback: (services) => {
        this.#services = services
      },
    })
    new LeaveGuardController(this)
    new PasteController(this)
    this.addEventListener('swarmdrop-share', (e) => this._onShare(e.detail))
    this.addEventListener('swarmdrop-download', (e) => void this.#services?.download(e.detail.digest))
    this.addEventListener('swarmdrop-download-all', (e) => void this.#services?.downloadAll(e.detail.digest))
    this.addEventListener(
      'swarmdrop-download-member',
      (e) => void this.#services?.downloadMember(e.detail.collection, e.detail.digest),
    )
    this.addEventListener(
      'swarmdrop-save-all',
      (e) => void this.#services?.saveAll(e.detail.digest, e.detail.into),
    )
    this.addEventListener('swarmdrop-stop-sharing', (e) => void this.#services?.stopSharing(e.detail.digest))
    this.addEventListener('swarmdrop-share-again', (e) => void this.#services?.shareAgain(e.detail.digest))
    this.addEventListener('swarmdrop-show-link', (e) => this._onShowLink(e.detail))
    this.addEventListener('swarmdrop-copy-text', (e) => void this._onCopyText(e.detail.text))
    this.addEventListener('swarmdrop-undo', (e) => this.#services?.undo(e.detail.id))
    this.addEventListener('swarmdrop-dismiss-toast', (e) => this.#services?.dismissToast(e.detail.id))
    this.addEventListener('swarmdrop-pause', (e) => this.#services?.pause(e.detail.digest))
    this.addEventListener('swarmdrop-resume', (e) => this.#services?.resume(e.detail.digest))
    this.addEventListener('swarmdrop-remove', (e) => void this.#services?.remove(e.detail.digest))
    this.addEventListener('swarmdrop-save', (e) => void this.#services?.save(e.detail.digest))
    this.addEventListener('swarmdrop-save-to', (e) => void this.#services?.saveTo(e.detail.digest))
    this.addEventListener('swarmdrop-cancel-job', (e) => this.#services?.cancelJob(e.detail.jobId))
    this.addEventListener('swarmdrop-show-peers', (e) => this._onShowPeers(e.detail))
    this.addEventListener('swarmdrop-copy', (e) => void this._onCopy(e.detail))
    this.addEventListener('swarmdrop-dismiss-problem', (e) => this.#problems.dismiss(e.detail.id))
    this.addEventListener('swarmdrop-answer-link', (e) =>
      this.#linkRequest.answer(e.detail.download, e.detail.password),
    )
    this.addEventListener('swarmdrop-error', (e) => this.#services?.report(e.detail.error))
    this.addEventListener('swarmdrop-member-at-once', (e) => this.#ring.setMemberAtOnce(e.detail.on))
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearTimeout(this.#noticeTimer)
  }

  protected override updated(): void {
    // The hook scripts read (SPEC §2): the ring's state on the app element itself.
    this.dataset.ringState = this.#ring.state
  }

  override render() {
    if (this.startupError !== undefined) {
      return html`<div class="page">
        <header><h1>Swarmdrop</h1></header>
        <p class="offline" role="alert">Swarmdrop could not start. ${messageFor(this.startupError)}</p>
      </div>`
    }
    const link = this._linkOf ? this.#services?.linkFor(this._linkOf.digest) : undefined
    const privateLink = this._linkOf
      ? this.#services?.engine.local.get(this._linkOf.digest)?.record.sealed !== undefined
      : false
    return html`<a class="skip" href="#catalog-search" @click=${this._onSkip}>Skip to search</a>
    <div class="page">
      <header>
        <h1>Swarmdrop</h1>
        ${this.#renderStatus()}
      </header>
      <main>
        ${this.#renderIntro()}
        ${this.#renderOffline()}
        <swarmdrop-problems
          class=${this.#problems.problems.length === 0 ? 'empty' : ''}
          .problems=${this.#problems.problems}
        ></swarmdrop-problems>
        <swarmdrop-drop-zone .jobs=${this.#jobs.jobs}></swarmdrop-drop-zone>
        <div class="columns">
          <section aria-label="My files"><swarmdrop-my-files></swarmdrop-my-files></section>
          <section aria-label="Shared with everyone"><swarmdrop-catalog></swarmdrop-catalog></section>
        </div>
        <swarmdrop-network .status=${this.#ring.status} .entryPoints=${this.#ring.entryPoints} ?memberAtOnce=${this.#ring.memberAtOnce}></swarmdrop-network>
      </main>
      <swarmdrop-peers .digest=${this._peersOf?.digest} .name=${this._peersOf?.name ?? ''}></swarmdrop-peers>
      <swarmdrop-share-link .link=${link} .name=${this._linkOf?.name ?? ''} ?private=${privateLink}></swarmdrop-share-link>
      <div class="toasts" role="status">
        ${this._notice ? html`<div class="toast">${this._notice}</div>` : nothing}
        ${this.#toasts.toasts.map(
          (toast) => html`<div class="toast" data-toast=${toast.id}>
            <span>${toast.text}</span>
            ${toast.undo ? html`<button type="button" @click=${() => emit(this, 'swarmdrop-undo', { id: toast.id })}>Undo</button>` : nothing}
          </div>`,
        )}
      </div>
      <div class="visually-hidden" role="status" aria-live="polite">${this.#attention.announcement}</div>
      <swarmdrop-link-confirm .request=${this.#linkRequest.request}></swarmdrop-link-confirm>
    </div>`
  }

  #renderStatus() {
    const state = this.#tracker.status.state
    const room = this.#storage.room
    return html`<dl class="status">
      <div>
        <dt>Server</dt>
        <dd><span class="badge" data-tracker-state=${state} role="status">${TRACKER_LABELS[state]}</span></dd>
      </div>
      <div>
        <dt>Network</dt>
        <dd><span class="badge" data-ring-state=${this.#ring.state}>${RING_STATE_LABELS[this.#ring.state]}</span></dd>
      </div>
      <div>
        <dt title="How other browsers reach this one; the same on every visit">This browser</dt>
        <dd><code>${this.#tracker.peerId ?? '–'}</code></dd>
      </div>
      ${
        notificationsAskable()
          ? html`<div><dt class="visually-hidden">Notifications</dt><dd><button type="button" @click=${this._onAskNotifications}>Notify me when downloads finish</button></dd></div>`
          : nothing
      }
      <div>
        <dt>Storage</dt>
        <dd>
          ${
            room
              ? html`<meter min="0" max=${room.quotaBytes} .value=${room.usageBytes} aria-label="Storage used"></meter>
                ${formatBytes(room.usageBytes)} used, ${formatBytes(room.availableBytes)} available`
              : html`<span class="muted">unknown</span>`
          }
        </dd>
      </div>
    </dl>`
  }

  #renderIntro() {
    if (this._introDismissed) return nothing
    return html`<div class="intro">
      <p>
        Drop files here to share them straight from this browser: with everyone (listed here for anyone who opens
        Swarmdrop) or with a link (private and encrypted: only people with the link can open them). Downloads come
        from every browser that has the file, checked piece by piece; file data never passes through the server.
        Keep this page open while others download what you share.
      </p>
      <button type="button" @click=${this._onDismissIntro}>Got it</button>
    </div>`
  }

  #renderOffline() {
    const status = this.#tracker.status
    if (status.state !== 'offline') return nothing
    const retry = this.#tracker.retryInSeconds
    if (this.#ring.fallingBack && !status.error) {
      // Not an error to act on: search, links and downloads go on through the ring.
      return html`<p class="fallback" role="status" data-ring-fallback>
        ${RING_FALLBACK_BANNER}${retry !== undefined ? `. Next attempt to reach the server in ${retry} s.` : '.'}
      </p>`
    }
    const reason = status.error ? messageFor(status.error) : ERROR_MESSAGES.TRACKER_OFFLINE
    return html`<p class="offline" role="alert">
      ${reason}${retry !== undefined ? ` Next attempt in ${retry} s.` : ''}
    </p>`
  }

  /** Asks for permission to notify; finished downloads are then notified while the tab is hidden. */
  private async _onAskNotifications(): Promise<void> {
    await globalThis.Notification?.requestPermission().catch(() => 'denied')
    this.requestUpdate()
  }

  private _onSkip(event: Event): void {
    event.preventDefault()
    const catalog = this.renderRoot.querySelector('swarmdrop-catalog')
    catalog?.renderRoot.querySelector<HTMLInputElement>('#catalog-search')?.focus()
  }

  private _onShare({ files, ...how }: SwarmdropEventDetails['swarmdrop-share']): void {
    this.#services?.share(files, how)
  }

  private _onShowLink({ digest, name }: SwarmdropEventDetails['swarmdrop-show-link']): void {
    this._linkOf = digest ? { digest, name } : undefined
  }

  private async _onCopyText(text: string): Promise<void> {
    if (await this.#services?.copy(text)) this.#notify('Link copied')
  }

  private _onShowPeers({ digest, name }: SwarmdropEventDetails['swarmdrop-show-peers']): void {
    this._peersOf = digest ? { digest, name: name ?? '' } : undefined
  }

  private async _onCopy({ digest, what }: SwarmdropEventDetails['swarmdrop-copy']): Promise<void> {
    const services = this.#services
    if (!services) return
    const text = what === 'link' ? services.linkFor(digest) : digest
    if (text === undefined) return
    const copied = await services.copy(text)
    if (copied) this.#notify(what === 'link' ? 'Link copied' : 'Digest copied')
  }

  private _onDismissIntro(): void {
    this._introDismissed = true
    try {
      localStorage.setItem(INTRO_DISMISSED_KEY, '1')
    } catch {
      // Storage refused (private mode): the line comes back on the next visit, nothing worse.
    }
  }

  #notify(text: string): void {
    this._notice = text
    clearTimeout(this.#noticeTimer)
    this.#noticeTimer = setTimeout(() => {
      this._notice = ''
    }, NOTICE_MS)
  }
}

/** Whether the browser can notify and the user has not answered yet (then the page offers to ask). */
function notificationsAskable(): boolean {
  return typeof globalThis.Notification === 'function' && globalThis.Notification.permission === 'default'
}

function readIntroDismissed(): boolean {
  try {
    return localStorage.getItem(INTRO_DISMISSED_KEY) === '1'
  } catch {
    return false
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-app': SwarmdropApp
  }
}
