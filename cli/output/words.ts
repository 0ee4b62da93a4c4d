/**
 * Every error code as a sentence for someone at a terminal (the page has its own, web/app/error-messages.ts:
 * there it is "reload the page", here "restart swarmdrop" or "free disk space"). Typed over ErrorCode, so a
 * new code without a sentence here fails the type check.
 */
import type { ErrorCode } from '../../shared/errors.js'

export const TERMINAL_WORDS: Readonly<Record<ErrorCode, string>> = {
  BAD_MESSAGE: 'the server or a peer sent something this version does not understand; it was ignored',
  UNKNOWN_TYPE: 'the server did not understand a request: it may run another version of Swarmdrop',
  RATE_LIMITED: 'the server asked to slow down; swarmdrop does so by itself',
  TOO_MANY_FILES: 'the server takes no more files from one peer: share fewer files from this folder',
  SIGNAL_TOO_LARGE: 'a connection offer was too large for the server to pass on',
  FILE_NOT_FOUND: 'nobody online holds this file right now',
  FILE_CONFLICT: 'this file is already here, or listed with another size',
  NOT_ANNOUNCED: 'the server lost track of a file; it is announced again on the next reconnect',
  CHUNK_OUT_OF_RANGE: 'the server refused the chunk list of a file',
  MANIFEST_MISMATCH: 'the description of this file that arrived does not match its digest; it was not used',
  PEER_NOT_FOUND: 'a peer left before it could be reached; the others are tried',
  PEER_BUSY: 'a peer is busy; it is asked again shortly',
  SELF_SIGNAL: 'tried to connect to itself',
  CATALOG_LIMITED:
    'the server is answering searches from this address slowly for a moment; search again shortly',
  INTERNAL: 'the server failed while handling a request; try again',
  CLUSTER_UNAVAILABLE:
    'the server cannot reach the rest of its cluster for a moment (catalog and peers on other servers); this folder stays shared, try again in a few seconds',
  HOP_LIMIT: 'a search through the peers went too far without an answer; it is tried again another way',
  NO_ROUTE: 'not linked to enough peers to search without the tracker; swarmdrop joins again by itself',
  NOT_MEMBER: 'a peer is still joining the ring of peers and cannot answer yet; another is asked',
  BAD_SIGNATURE: 'a peer sent file information not signed by who it claims; it was ignored',
  KEY_MISMATCH: 'a peer sent file information to the wrong place; it was ignored',
  RECORD_EXPIRED:
    "file information was out of date or dated in the future; it was ignored (check this machine's clock)",
  PUBLISHER_QUOTA: "a peer keeps no more of this peer's file information; other peers keep the rest",
  WRONG_KEY:
    'this private file needs the key from its link (the part after the dot); without it the bytes stay sealed',
  RING_FULL: 'a peer has no room for another link right now; another is tried',
  TRACKER_OFFLINE: 'not connected to the server; reconnecting by itself (transfers already running go on)',
  TIMEOUT: 'the server or a peer did not answer in time',
  SESSION_CLOSED: 'the connection to a peer closed before it answered; the other peers are asked',
  PEER_BANNED:
    'a peer misbehaved (bad data or a flood) and is refused for a while; the file comes from the others',
  HELLO_REQUIRED: 'a peer broke the connection rules (it spoke before greeting) and was dropped',
  SIGNAL_FORGED:
    'a connection offer was not signed by the peer it claimed to come from (the server or a relay may be tampering); it was refused',
  SIGNAL_REPLAYED:
    'a connection offer was a copy of one already used, or too old (the server or a relay may be replaying it); it was refused',
  IDENTITY_IN_USE:
    "another swarmdrop (or browser) with this folder's identity connected to the server, so this one stopped",
  LINK_BUDGET_LOW: 'most of the connections allowed are built; new ones are opened only for downloads',
  LINK_BUDGET_SPENT: 'no more connections can be built; the open ones go on',
  PEER_UNREACHABLE: 'no connection could be made to the peers holding this file; still trying',
  NAT_BLOCKED:
    'cannot connect to the peers holding this file: both networks block direct connections (symmetric NAT or a strict firewall) and the server has no TURN relay',
  UDP_BLOCKED:
    "this network blocks the UDP that WebRTC needs to reach the server's STUN; no peer can be reached",
  INSECURE_CONTEXT: 'the server page is not served over HTTPS (browsers need it; swarmdrop does not)',
  QUOTA_EXCEEDED: 'the disk is full: free some space, then "resume" (what is stored is kept)',
  FILE_TOO_LARGE: 'the file is larger than Swarmdrop can share (at most 256 GiB)',
  CANCELLED: 'cancelled',
  NOT_HELD: 'this file is not (or not completely) in the folder: download it first',
  INVALID_DIGEST: 'that is not a digest: 64 characters of 0-9 and a-f',
  SOURCE_CHANGED: 'the file changed on disk while it was read; it is hashed again once it settles',
  CHUNK_CORRUPT: 'part of a file failed its check and was thrown away; it is fetched again',
  STORAGE_FAILED: 'writing to the folder failed',
}
