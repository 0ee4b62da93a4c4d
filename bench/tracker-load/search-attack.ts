/**
 * Hostile catalog searches from one address (issue 17): eight connections, as in the attack that stalled
 * `/healthz` for 34.6 s, each sending a search as broad as a search gets (two characters: no trigram, so
 * every name is checked) at 40 a second, under the message rate limit so that none is closed for
 * flooding. No query repeats while it could still be cached. What the server does is bounded by the
 * address's catalog budget; everything past it is answered CATALOG_LIMITED undone. Runs on the main thread,
 * beside the workers that time the relay, so that it takes nothing from their event loops.
 */
import { helloAnswer, nodeIdentity } from '../../test/support/identities.js'
import { openSocket } from './load-client.js'

/** The attacker's own address, apart from every simulated peer (load-client.ts loopbackAddressOf). */
export const ATTACK_ADDRESS = '127.100.0.1'
export const ATTACK_CONNECTIONS = 8
/** Searches a second per connection: under Swarmdrop's 50 messages a second, so none is closed as a flood. */
export const ATTACK_SEARCHES_PER_SECOND = 40
const SYMBOLS = 'abcdefghijklmnopqrstuvwxyz0123456789'

export interface AttackCounts {
  sent: number
  /** Searches the server ran (a catalog page came back). */
  answered: number
  /** Searches refused undone: CATALOG_LIMITED. */
  limited: number
  /** Any other reply (none expected): by type or error code. */
  other: Record<string, number>
}

export class SearchAttack {
  readonly counts: AttackCounts = { sent: 0, answered: 0, limited: 0, other: {} }
  #timer: NodeJS.Timeout | undefined
  #query = 0

  private constructor(private readonly sockets: import('ws').WebSocket[]) {}

  /** Connects the attacker's sockets (each answered by the tracker's welcome) and starts searching. */
  static async start(url: string): Promise<SearchAttack> {
    let attack: SearchAttack | undefined
    const onMessage = (text: string) => attack?.onReply(text)
    const sockets = await Promise.all(
      Array.from({ length: ATTACK_CONNECTIONS }, async () => {
        // Each proves a key of its own first, as any client must; its searches come after the welcome.
        const identity = nodeIdentity()
        let socket: import('ws').WebSocket | undefined
        let hello: string | undefined
        const answer = (text: string) => {
          const reply = helloAnswer(identity, text, url)
          if (reply === undefined) return onMessage(text)
          if (socket) socket.send(reply)
          else hello = reply
        }
        socket = await openSocket(url, answer, () => {}, ATTACK_ADDRESS)
        if (hello !== undefined) socket.send(hello)
        return socket
      }),
    )
    attack = new SearchAttack(sockets)
    attack.#timer = setInterval(() => attack!.#tick(), 1000 / ATTACK_SEARCHES_PER_SECOND)
    return attack
  }

  /** Stops searching and closes the sockets; returns what happened. */
  stop(): AttackCounts {
    clearInterval(this.#timer)
    for (const socket of this.sockets) socket.terminate()
    return this.counts
  }

  private onReply(text: string): void {
    const message = JSON.parse(text) as { type: string; code?: string }
    if (message.type === 'welcome' || message.type === 'challenge') return
    if (message.type === 'catalog') this.counts.answered++
    else if (message.type === 'error' && message.code === 'CATALOG_LIMITED') this.counts.limited++
    else {
      const key = message.code ?? message.type
      this.counts.other[key] = (this.counts.other[key] ?? 0) + 1
    }
  }

  #tick(): void {
    for (const socket of this.sockets) {
      // 1,296 two-character queries in turn: far more than the 64 the server caches.
      const n = this.#query++ % (SYMBOLS.length * SYMBOLS.length)
      const query = `${SYMBOLS[Math.floor(n / SYMBOLS.length)]}${SYMBOLS[n % SYMBOLS.length]}`
      socket.send(JSON.stringify({ type: 'catalog', query, limit: 50, ref: `a${this.counts.sent}` }))
      this.counts.sent++
    }
  }
}
