/** "Download all": the zip streamed from stored chunks (public and private members), and its safe paths. */
import { describe, expect, it } from 'vitest'
import { safePaths, zipStream } from '../../web/app/save-zip.js'
import { ingest } from '../../web/storage/ingest.js'
import { MemoryChunkStore } from '../../web/storage/memory-chunk-store.js'
import { MemoryFileStore } from '../../web/storage/memory-file-store.js'
import { readZip } from '../support/zip-reader.js'

describe('Download all as a zip', () => {
  it('streams every member from storage, a private one opened on the way, byte for byte', async () => {
    const deps = {
      chunks: new MemoryChunkStore(),
      files: new MemoryFileStore(),
      now: () => 1_700_000_000_000,
    }
    const plain = Uint8Array.from({ length: 1_500_000 }, (_, i) => (i * 13) & 255)
    const secret = new TextEncoder().encode('only for the link’s holders')
    const a = await ingest(new Blob([plain]), deps, { name: 'a.bin', mime: '' })
    const b = await ingest(new Blob([secret]), deps, {
      name: 'b.txt',
      mime: 'text/plain',
      sealed: { key: new Uint8Array(32).fill(9) },
    })
    const zip = Buffer.from(
      await new Response(
        zipStream(deps.chunks, [
          { path: 'album/a.bin', record: a.record },
          { path: 'album/notes/b.txt', record: b.record },
        ]),
      ).arrayBuffer(),
    )
    const entries = readZip(zip)
    expect(entries.map((e) => e.name)).toEqual(['album/a.bin', 'album/notes/b.txt'])
    expect(Buffer.compare(entries[0]!.bytes, Buffer.from(plain))).toBe(0)
    expect(entries[1]!.bytes.toString()).toBe('only for the link’s holders')
  })

  it('keeps every path inside the archive, and apart from the others', () => {
    expect(
      safePaths(['../../etc/passwd', '/abs/x', 'a\\\\b.txt', 'same.txt', 'Same.txt', '', 'c/./d/../e']),
    ).toEqual(['etc/passwd', 'abs/x', 'a/b.txt', 'same.txt', 'Same (2).txt', 'file', 'c/d/e'])
  })
})
