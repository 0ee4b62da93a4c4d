/**
 * Every error code as a sentence the user can act on: the one place where codes become words (the
 * transport and storage carry codes only). The map is typed over ErrorCode, so adding a code to
 * shared/errors.ts without a sentence here fails the type check.
 */
import { type ErrorCode, SwarmError } from '../../shared/errors.js'

export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  BAD_MESSAGE:
    'The tracker or a peer sent data this page could not understand, so it was ignored. If this keeps happening, reload the page: the server may run a newer version.',
  UNKNOWN_TYPE:
    'The tracker did not understand a request from this page. Reload the page to get the version the server runs.',
  RATE_LIMITED:
    'This page sent the tracker too many requests at once. Wait a few seconds; Swarmdrop slows down by itself.',
  TOO_MANY_FILES:
    'You are sharing more files than the tracker accepts from one browser. Stop sharing some files, then add the others again.',
  SIGNAL_TOO_LARGE:
    'A connection offer to a peer was too large for the tracker to pass on. Try again; if it keeps happening, try from another network.',
  FILE_NOT_FOUND:
    'Nobody online has this file right now. Swarmdrop waits and starts by itself when someone who has it comes online; ask whoever shared it to open Swarmdrop.',
  FILE_CONFLICT:
    'This digest is already listed with a different size, or the file is already here. Check My files: a finished file can be saved from there.',
  NOT_ANNOUNCED: 'The tracker lost track of one of your files. Reload the page to announce your files again.',
  CHUNK_OUT_OF_RANGE:
    'The tracker refused the list of chunks this browser holds for a file. Reload the page; if it keeps happening, remove the file and add it again.',
  MANIFEST_MISMATCH:
    'The description of this file that arrived does not match its digest, so it was not used. Check that the digest is right, or try again later.',
  PEER_NOT_FOUND:
    'A peer left before it could be reached. Swarmdrop tries the other peers that hold the file.',
  PEER_BUSY: 'A peer is too busy to answer right now. Swarmdrop tries again shortly.',
  SELF_SIGNAL: 'This browser tried to connect to itself. Reload the page if a download does not start.',
  CATALOG_LIMITED:
    'The tracker is answering searches from your network slowly for a moment: too many searches came from it at once. Wait a few seconds and search again.',
  INTERNAL:
    'The tracker failed while handling a request. Try again; if it keeps happening, tell whoever runs this server.',
  CLUSTER_UNAVAILABLE:
    'The tracker cannot reach the rest of its cluster for a moment, so the catalog and peers on other servers are out of reach. Your files stay shared; try again in a few seconds.',
  HOP_LIMIT:
    'A search through the other peers went too far without an answer. Swarmdrop tries again by another way; if it keeps failing, try again in a minute.',
  NO_ROUTE:
    'This browser is not connected to enough other peers to search without the tracker. Keep the page open: it joins again by itself.',
  NOT_MEMBER:
    'A peer is still joining the network of peers and cannot answer yet. Swarmdrop asks another one.',
  BAD_SIGNATURE:
    'A peer sent information about a file that was not signed by who it claims, so it was ignored.',
  KEY_MISMATCH: 'A peer sent information about a file to the wrong place, so it was ignored.',
  RECORD_EXPIRED:
    'Information about a file was out of date, or dated in the future, so it was ignored. If this browser’s clock is wrong, correct it.',
  PUBLISHER_QUOTA:
    'Another peer already keeps as much of this browser’s file information as it accepts. The rest is kept by other peers.',
  RING_FULL: 'A peer has no room for another connection right now. Swarmdrop connects to another one.',
  TRACKER_OFFLINE:
    'Not connected to the tracker. Swarmdrop keeps reconnecting by itself; check your network connection. Transfers already running go on.',
  TIMEOUT: 'The tracker or a peer did not answer in time. Check your network connection, then try again.',
  SESSION_CLOSED:
    'The connection to a peer closed before it answered. Swarmdrop asks the other peers that hold the file.',
  PEER_BANNED:
    'A peer misbehaved (sent bad data or flooded this page) and is blocked for a while. Swarmdrop gets the file from other peers.',
  HELLO_REQUIRED:
    'A peer broke the connection rules (it spoke before greeting), so the connection to it was closed. Swarmdrop uses other peers.',
  SIGNAL_FORGED:
    'A connection offer that claimed to come from a peer was not signed by that peer, so it was refused: the server or a relay may be tampering with connections. Your files are safe; Swarmdrop uses other peers.',
  SIGNAL_REPLAYED:
    'A connection offer from a peer was a copy of one already used, or too old, so it was refused: the server or a relay may be replaying old offers (or this computer’s clock is far off). Your files are safe; Swarmdrop uses other peers.',
  IDENTITY_IN_USE:
    'Swarmdrop is open in another tab of this browser, which now holds the connection to the tracker (one per browser). Use that tab, or reload this one to take the connection back.',
  LINK_BUDGET_LOW:
    'This tab has opened most of the connections a browser allows in one tab. It keeps the connections it has and now opens new ones only for downloads you ask for. Reload the page when nothing is running to start afresh.',
  LINK_BUDGET_SPENT:
    'This tab cannot open any more connections: the browser allows only so many in one tab. Transfers over the connections it has go on; reload the page when nothing is running to connect to new peers again.',
  PEER_UNREACHABLE:
    'No connection could be made to the peers holding this file: they may have left, or a network on the way blocks the connection. Swarmdrop keeps trying; try again later or from another network.',
  NAT_BLOCKED:
    'Can’t connect to the peers that have this file: your network and theirs both block direct connections (symmetric NAT or a strict firewall), and this server has no TURN relay to go around them. Try another network, or ask whoever runs this server to set up TURN (Swarmdrop’s SELF-HOSTING guide explains how).',
  UDP_BLOCKED:
    'Can’t connect to any peer: your network blocks the UDP traffic that WebRTC needs to reach this server’s STUN service, so no connection can be set up. Try another network (a phone hotspot often works), or ask your network administrator to allow outgoing UDP.',
  INSECURE_CONTEXT:
    'This page is not served over HTTPS, so the browser withholds the cryptography Swarmdrop needs to check files, and nothing can be shared or downloaded. Open it through https:// (or on localhost); whoever runs this server: see Swarmdrop’s SELF-HOSTING guide.',
  WRONG_KEY:
    'This private file does not open with the key or password you have. Check the link (it must be copied whole, with everything after the #) or the password, then open it again.',
  QUOTA_EXCEEDED:
    'The browser has no room left to store this file. Remove files from My files or free disk space, then try again; what is already stored is kept.',
  FILE_TOO_LARGE: 'This file is larger than Swarmdrop can share (at most 256 GiB per file).',
  CANCELLED: 'The work was cancelled. Add the file again to start over.',
  NOT_HELD:
    'This file is not (or not completely) in this browser, so that cannot be done yet. Download it first, or check My files.',
  INVALID_DIGEST:
    'That is not a file digest: a digest is 64 characters of 0–9 and a–f. Copy it again from the catalog or from the link you were given.',
  SOURCE_CHANGED:
    'The file changed on your disk while it was being shared, so it no longer matches what was announced. Add it again to share the new version.',
  CHUNK_CORRUPT:
    'Part of a file failed its integrity check and was thrown away; it is fetched again from another peer. A peer that keeps sending bad data is dropped.',
  STORAGE_FAILED:
    'The browser’s storage failed. Check that this site may store data (private windows may not allow it), then reload the page.',
}

/** Why a peer is refused, in a few words for the peers view (codes a link is closed with for abuse). */
export function banReasonFor(code: ErrorCode): string {
  switch (code) {
    case 'CHUNK_CORRUPT':
      return 'sent pieces that failed their check'
    case 'RATE_LIMITED':
      return 'flooded this page with messages'
    case 'HELLO_REQUIRED':
      return 'spoke before greeting'
    case 'UNKNOWN_TYPE':
      return 'sent messages of an unknown kind'
    case 'TIMEOUT':
      return 'connected and never greeted'
    default:
      return 'sent data that breaks the protocol'
  }
}

/** For failures that carry no code (a bug, or a browser API that threw something unexpected). */
export const UNEXPECTED_ERROR_MESSAGE = 'Something unexpected went wrong. Reload the page and try again.'

/** The code of any thrown value, when it has one. */
export function errorCodeOf(error: unknown): ErrorCode | undefined {
  if (error instanceof SwarmError) return error.code
  if (error instanceof DOMException && error.name === 'QuotaExceededError') return 'QUOTA_EXCEEDED'
  return undefined
}

/** The sentence for any thrown value. */
export function messageFor(error: unknown): string {
  const code = errorCodeOf(error)
  return code ? ERROR_MESSAGES[code] : UNEXPECTED_ERROR_MESSAGE
}
