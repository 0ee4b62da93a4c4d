/**
 * Content routing through the ring (content-routing.ts): provider records for who holds a digest, the
 * name index for search, and this peer's own records published (and republished) by its node. Every
 * record a lookup returns was checked already (signature, key, expiry: record-check.ts); a provider is
 * the peer whose key signed the record, so nobody can name another peer as a holder.
 */
import { nodeIdOf, peerIdOf } from '../../../shared/identity-proof.js'
import type { ContentRouting, NameHit, ProvideOptions, ProviderHit } from '../content-routing.js'
import type { RingHost } from './ring-host.js'

export class RingRouting implements ContentRouting {
  readonly #host: RingHost

  constructor(host: RingHost) {
    this.#host = host
  }

  async findProviders(digest: string): Promise<ProviderHit[]> {
    const node = this.#host.node
    const { records } = await node.findProviders(digest)
    const hits = new Map<string, ProviderHit>()
    for (const record of records) {
      const peerId = peerIdOf(await nodeIdOf(record.publisher))
      const known = hits.get(peerId)
      if (peerId === node.peerId || (known && (known.chunks ?? 0) >= record.chunks)) continue
      hits.set(peerId, { peerId, chunks: record.chunks, source: 'ring', sources: ['ring'] })
    }
    return [...hits.values()]
  }

  async search(query: string): Promise<NameHit[]> {
    const records = await this.#host.node.search(query)
    const hits = new Map<string, NameHit & { names: string[] }>()
    for (const record of records) {
      const hit = hits.get(record.digest)
      if (!hit) {
        hits.set(record.digest, {
          digest: record.digest,
          names: [record.name],
          size: record.size,
          chunkCount: record.chunkCount,
          source: 'ring',
          sources: ['ring'],
        })
      } else if (!hit.names.includes(record.name)) hit.names.push(record.name)
    }
    return [...hits.values()]
  }

  provide(digest: string, options: ProvideOptions): void {
    this.#host.provide(digest, options)
  }

  withdraw(digest: string): void {
    this.#host.withdraw(digest)
  }
}
