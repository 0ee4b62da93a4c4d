/**
 * Content routing through the tracker (content-routing.ts): its `peers` and catalog search. What this
 * peer holds reaches the tracker through the engine's announces (batched within the server's rate,
 * engine.ts), so `provide` and `withdraw` have nothing to add here.
 */
import { SwarmError } from '../../shared/errors.js'
import type { ContentRouting, NameHit, ProviderHit } from './content-routing.js'
import type { TrackerClient } from './tracker-client.js'

export class TrackerRouting implements ContentRouting {
  readonly #tracker: Pick<TrackerClient, 'peers' | 'catalog'>

  constructor(tracker: Pick<TrackerClient, 'peers' | 'catalog'>) {
    this.#tracker = tracker
  }

  async findProviders(digest: string): Promise<ProviderHit[]> {
    try {
      const { peers } = await this.#tracker.peers(digest)
      return peers.map((peer) => ({
        peerId: peer.peerId,
        source: 'tracker',
        sources: ['tracker'],
      }))
    } catch (error) {
      if (error instanceof SwarmError && error.code === 'FILE_NOT_FOUND') return []
      throw error
    }
  }

  async search(query: string): Promise<NameHit[]> {
    const page = await this.#tracker.catalog({ query })
    return page.files.map((entry) => ({
      digest: entry.digest,
      names: entry.names,
      size: entry.size,
      chunkCount: entry.chunkCount,
      ...(entry.mime === undefined ? {} : { mime: entry.mime }),
      holders: entry.seeders + entry.leechers,
      source: 'tracker',
      sources: ['tracker'],
    }))
  }

  provide(): void {}

  withdraw(): void {}
}
