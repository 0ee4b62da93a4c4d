/** What `swarmdrop --help` and `swarmdrop COMMAND --help` print. */
import type { CommandName } from './args.js'
import { SERVER_ENV } from './server-url.js'

const OVERVIEW = `swarmdrop — the headless Swarmdrop peer: browsers and terminals in one swarm

Usage:
  swarmdrop share DIR --server URL              seed everything in DIR and download into it
               [--listen PORT] [--entry URL…]
  swarmdrop get DIGEST|LINK… --server URL       download files (progress bar), then keep seeding them
               [--dir DIR] [--exit]
  swarmdrop list [QUERY] --server URL           the files the tracker knows (a table)
  swarmdrop peers DIGEST --server URL           who holds a file, and how many of its chunks each has

Options:
  --server URL   the Swarmdrop server, e.g. https://swarm.example.org (or set ${SERVER_ENV})
  --json         one JSON object a line on stdout, for scripts
  -q, --quiet    warnings and errors only
  -h, --help     this help; "swarmdrop COMMAND --help" for one command
  -V, --version  the version

On a terminal, "share" opens a text UI: list, peers, get, status, pause, resume, remove, help, quit.
Exit codes: 0 ok, 1 failure, 2 bad usage. docs/CLI.md has the details.`

const COMMANDS: Record<CommandName, string> = {
  share: `swarmdrop share DIR --server URL [--listen PORT] [--entry URL…] [--json] [--quiet]

Joins the swarm with the folder DIR: every file in it is shared (hashed once; a cache in DIR/.swarmdrop
remembers unchanged files), files added later are picked up and files removed stop being shared.
Downloads land in DIR, as <digest>.<index>.chunk files until they are complete, then under their name.
On a terminal a text UI opens (type "help"); otherwise it logs one line per event. Ctrl-C or SIGTERM
says goodbye to the tracker and exits 0.
--listen PORT makes this peer a way into the network for peers that cannot reach the server: they
connect to ws://THIS-HOST:PORT, link to this peer and join the ring through it. --entry URL (repeatable)
names such a peer to rejoin through when the server is down; it is kept in DIR/.swarmdrop/contacts.json.`,
  get: `swarmdrop get DIGEST|LINK… --server URL [--dir DIR] [--exit] [--json] [--quiet]

Downloads one file or several into DIR (default: the current folder) with a progress bar: bytes, rate,
ETA and sources. DIGEST may be the start of a digest; a link (https://host/#<digest>) also names the
server. Chunk files of them already in DIR are used; nothing else in DIR is hashed or shared. Once they
are complete it keeps seeding them until Ctrl-C, or exits 0 at once with --exit. Exits 1 if one cannot
be downloaded, or when stopped before they are complete (the same command then resumes).`,
  list: `swarmdrop list [QUERY] --server URL [--json]

Prints the files the tracker knows: name, size, chunks, seeders and digest; QUERY filters names (and
digests by their start).`,
  peers: `swarmdrop peers DIGEST --server URL [--json]

Prints the peers holding a file (DIGEST may be the start of one) and how many of its chunks each has.`,
}

export function helpText(topic?: CommandName): string {
  return topic ? COMMANDS[topic] : OVERVIEW
}
