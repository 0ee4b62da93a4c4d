/**
 * File names from peers become names on the user's disk: make them safe there. The result has no path
 * (separators become `_`), no control or bidi characters, no characters Windows forbids, no leading dot
 * (hidden files, `..`), no trailing dot or space, no reserved device name, and at most 255 UTF-8 bytes
 * with the extension kept.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069<>:"/\\|?*]/g
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i
const MAX_NAME_BYTES = 255
const FALLBACK_NAME = 'download'

export function sanitizeFileName(name: string): string {
  let safe = name.normalize('NFC').replace(UNSAFE_CHARACTERS, '_')
  safe = safe.replace(/^[.\s]+/, (lead) => '_'.repeat(lead.length)).replace(/[.\s]+$/, '')
  if (WINDOWS_RESERVED.test(safe)) safe = `_${safe}`
  if (!safe || /^_+$/.test(safe)) safe = FALLBACK_NAME
  return truncateKeepingExtension(safe, MAX_NAME_BYTES)
}

function truncateKeepingExtension(name: string, maxBytes: number): string {
  const encoder = new TextEncoder()
  if (encoder.encode(name).length <= maxBytes) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
  let stem = name.slice(0, name.length - extension.length)
  // Cut whole code points, never half a surrogate pair.
  const points = [...stem]
  while (points.length > 0 && encoder.encode(points.join('') + extension).length > maxBytes) points.pop()
  stem = points.join('')
  return stem + extension
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const UNSHAREABLE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
/** The protocol's limit on names (MAX_NAME_LENGTH), in UTF-16 code units. */
const MAX_SHARED_NAME_LENGTH = 255

/**
 * The name a dropped file is shared under: its path inside a dropped folder, or its name, made valid for
 * the protocol (no control or bidi characters, at most 255 code units with the extension kept).
 */
export function shareableName(file: { name: string; webkitRelativePath?: string }): string {
  const raw = (file.webkitRelativePath || file.name).normalize('NFC').replace(UNSHAREABLE_CHARACTERS, '_')
  if (raw.length === 0) return 'unnamed'
  if (raw.length <= MAX_SHARED_NAME_LENGTH) return raw
  const dot = raw.lastIndexOf('.')
  const extension = dot > 0 && raw.length - dot <= 16 ? raw.slice(dot) : ''
  const points = [...raw.slice(0, raw.length - extension.length)]
  while (points.join('').length + extension.length > MAX_SHARED_NAME_LENGTH) points.pop()
  return points.join('') + extension
}

/** A MIME type the protocol accepts, or '' (unknown). */
export function shareableMime(type: string): string {
  return /^[\x21-\x7e]{1,127}$/.test(type) ? type : ''
}
