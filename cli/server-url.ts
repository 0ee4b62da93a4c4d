/**
 * The tracker's WebSocket URL from what the user gives (`--server` or SWARMDROP_SERVER): the page's own
 * address is enough — `https://swarm.example.org` becomes `wss://swarm.example.org/ws`, and a server
 * behind a path prefix keeps it (`https://example.org/swarm/` → `wss://example.org/swarm/ws`). A
 * `ws:`/`wss:` URL is taken as it is.
 */
import { usageError } from './errors.js'

export const SERVER_ENV = 'SWARMDROP_SERVER'

export function trackerUrlOf(input: string): string {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    throw usageError(`"${input}" is not a server address: give one like https://swarm.example.org`)
  }
  url.hash = ''
  url.search = ''
  switch (url.protocol) {
    case 'ws:':
    case 'wss:':
      return url.href
    case 'http:':
    case 'https:':
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`
      return url.href
    default:
      throw usageError(
        `"${input}" is not a server address: it must start with https://, http://, wss:// or ws://`,
      )
  }
}
