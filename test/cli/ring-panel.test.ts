/** The CLI's `ring` command: the Network panel as text. */
import { describe, expect, it } from 'vitest'
import { ringPanel } from '../../cli/output/ring-panel.js'
import { aloneStatus } from '../../web/peer/ring/ring-status.js'

describe('ring panel', () => {
  it('says the state, the counters and each neighbour with its link', () => {
    const peer = (n: string, connection: 'direct' | 'relayed' | 'none') => ({
      nodeId: n.repeat(64),
      peerId: n.repeat(16),
      connection,
    })
    const text = ringPanel({
      state: 'member',
      nodeId: 'a'.repeat(64),
      peerId: 'A'.repeat(16),
      sizeEstimate: 42,
      predecessor: peer('b', 'direct'),
      successors: [peer('c', 'relayed')],
      fingers: [{ ...peer('d', 'none'), level: 3 }],
      recordsStored: 7,
      lookupsServed: 99,
      trackerOnline: false,
    })
    expect(text).toContain('ring member')
    expect(text).toContain('about 42 members · 7 records stored · 99 lookups served')
    expect(text).toContain('server offline')
    expect(text).toMatch(/predecessor\s+bbbbbbbbbbbbbbbb\s+b{16}\s+direct/)
    expect(text).toMatch(/successor 1\s+c{16}\s+c{16}\s+relayed/)
    expect(text).toMatch(/finger 1\/2\^3\s+d{16}\s+d{16}\s+none/)
    expect(ringPanel(aloneStatus({ nodeId: 'a'.repeat(64), peerId: 'A'.repeat(16) }, true))).toContain(
      'alone',
    )
  })
})
