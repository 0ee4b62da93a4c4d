/** The part of bittorrent-tracker's server API this benchmark uses; the package ships no types. */
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  import type { WebSocketServer } from 'ws'

  export interface ServerOptions {
    udp?: boolean
    http?: boolean
    ws?: boolean
    stats?: boolean
    /** Announce interval told to clients, in ms (default 10 minutes; WebSocket clients get a fifth). */
    interval?: number
  }

  export default class Server extends EventEmitter {
    constructor(options?: ServerOptions)
    readonly http: HttpServer | null
    readonly ws: WebSocketServer | null
    /** Swarms by hex info_hash. */
    readonly torrents: Record<string, unknown>
    listen(port: number, hostname: string, onListening?: () => void): void
    close(callback?: () => void): void
  }
}
