/**
 * The network origin of a connection, as an opaque tag stamped on the signals it sends (docs/PROTOCOL.md,
 * "Relaying signals"). Peer ids are keys a peer mints for nothing (SPEC §9), so a peer that is refused under
 * one id comes back under another; its address is what it cannot change cheaply. The receiver of a knock
 * budgets abuse per origin before it builds anything (web/peer/link-manager.ts), so an attacker's fresh ids
 * do not lock out honest newcomers from other addresses.
 *
 * An IPv6 address counts by its /64 (one subscriber usually holds a whole /64, RFC 6177); an IPv4-mapped
 * IPv6 address as its IPv4. The tag is a keyed hash, so peers learn which knocks share an origin but not the
 * address itself (they would see it in the ICE candidates only once they agree to link). The key is this
 * process's own, or with several instances (REDIS_URL) one shared through Redis (cluster.ts), so an address
 * has one tag whichever instance it reaches.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/** Characters of the tag: 96 bits of the HMAC, base64url (shared/tracker-protocol.ts OriginTagSchema). */
const TAG_CHARS = 16

/** What a connection's address counts as: the IPv4 address, an IPv6 /64, or the string as given. */
export function originOf(address: string): string {
  const bare = address.split('%')[0]!.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv6(bare)) return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`
  return bare
}

/** Tags origins with a key of this process (default: a fresh random one). */
export function originTagger(key: Uint8Array = randomBytes(32)): (address: string) => string {
  return (address) =>
    createHmac('sha256', key).update(originOf(address)).digest('base64url').slice(0, TAG_CHARS)
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const groupsOf = (part: string | undefined) => (part ? part.split(':') : [])
  let left = groupsOf(head)
  let right = groupsOf(tail)
  // An embedded IPv4 tail (::ffff:1.2.3.4 handled above; 64:ff9b::1.2.3.4 here) is two groups.
  const last = (right.length > 0 ? right : left).at(-1)
  if (last && isIPv4(last)) {
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number]
    const groups = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
    if (right.length > 0) right = [...right.slice(0, -1), ...groups]
    else left = [...left.slice(0, -1), ...groups]
  }
  const missing = 8 - left.length - right.length
  const all = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right]
  return all.map((group) => Number.parseInt(group, 16).toString(16))
}
