/**
 * The events components emit (they bubble and cross shadow roots); the app shell turns them into calls on
 * the services. Declared in HTMLElementEventMap so that listeners get their details typed.
 */

export interface SwarmdropEventDetails {
  /** Files dropped or chosen: share them. */
  'swarmdrop-share': { files: File[] }
  /** A digest was activated: download that file. */
  'swarmdrop-download': { digest: string }
  'swarmdrop-pause': { digest: string }
  'swarmdrop-resume': { digest: string }
  /** Stop sharing or downloading the file and delete it from this browser. */
  'swarmdrop-remove': { digest: string }
  /** Save a complete file again through a normal download. */
  'swarmdrop-save': { digest: string }
  /** Save a complete file to a place the user picks (File System Access API). */
  'swarmdrop-save-to': { digest: string }
  /** Cancel hashing or storing a dropped file, or forget one that failed. */
  'swarmdrop-cancel-job': { jobId: number }
  /** Show the peers of a file (undefined: close the view). */
  'swarmdrop-show-peers': { digest: string | undefined; name?: string }
  'swarmdrop-copy': { digest: string; what: 'digest' | 'link' }
  'swarmdrop-dismiss-problem': { id: number }
  /** The answer to a link from another page that asks to download a file. */
  'swarmdrop-answer-link': { download: boolean }
  /** Something failed in a component (e.g. a dropped folder could not be read): show it. */
  'swarmdrop-error': { error: unknown }
}

export type SwarmdropEventType = keyof SwarmdropEventDetails

type SwarmdropEventMap = { [K in SwarmdropEventType]: CustomEvent<SwarmdropEventDetails[K]> }

declare global {
  interface HTMLElementEventMap extends SwarmdropEventMap {}
}

/** Dispatches a typed app event from `target`: bubbling, composed (it leaves shadow roots). */
export function emit<K extends SwarmdropEventType>(
  target: EventTarget,
  type: K,
  detail: SwarmdropEventDetails[K],
): boolean {
  return target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }))
}
