/**
 * The events components emit (they bubble and cross shadow roots); the app shell turns them into calls on
 * the services. Declared in HTMLElementEventMap so that listeners get their details typed.
 */

export interface SwarmdropEventDetails {
  /** Files dropped or chosen: share them (publicly unless said otherwise). */
  'swarmdrop-share': { files: File[]; private?: boolean; password?: string; collection?: boolean }
  /** A digest was activated: download that file. */
  'swarmdrop-download': { digest: string }
  /** "Download all" of a collection: fetch its files and save them as one zip. */
  'swarmdrop-download-all': { digest: string }
  /** Download one file of a collection. */
  'swarmdrop-download-member': { collection: string; digest: string }
  /** Save a collection whose files are all here: one zip, or into a folder the user picks. */
  'swarmdrop-save-all': { digest: string; into: 'zip' | 'folder' }
  'swarmdrop-pause': { digest: string }
  'swarmdrop-resume': { digest: string }
  /** Stop sharing or downloading the file and delete it from this browser (undoable for a while). */
  'swarmdrop-remove': { digest: string }
  /** Stop sharing the file but keep it here. */
  'swarmdrop-stop-sharing': { digest: string }
  'swarmdrop-share-again': { digest: string }
  /** Show a file's link with its QR code (an empty digest closes it). */
  'swarmdrop-show-link': { digest: string; name: string }
  /** Download the private link opened in this page (with its password, when it asks for one). */
  'swarmdrop-accept-link': { password?: string }
  'swarmdrop-dismiss-link': Record<string, never>
  'swarmdrop-undo': { id: number }
  'swarmdrop-dismiss-toast': { id: number }
  /** Save a complete file again through a normal download. */
  'swarmdrop-save': { digest: string }
  /** Save a complete file to a place the user picks (File System Access API). */
  'swarmdrop-save-to': { digest: string }
  /** Cancel hashing or storing a dropped file, or forget one that failed. */
  'swarmdrop-cancel-job': { jobId: number }
  /** Show the peers of a file (undefined: close the view). */
  'swarmdrop-show-peers': { digest: string | undefined; name?: string }
  /** "Help the network now" was switched on or off in the Network panel. */
  'swarmdrop-member-at-once': { on: boolean }
  'swarmdrop-copy': { digest: string; what: 'digest' | 'link' }
  /** Copy text shown in the page (a link). */
  'swarmdrop-copy-text': { text: string; what: 'link' }
  'swarmdrop-dismiss-problem': { id: number }
  /** The answer to a link that asks to download a file; a password link's Download carries the password. */
  'swarmdrop-answer-link': { download: boolean; password?: string }
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
