import { describe, expect, it } from 'vitest'
import { type ConnectionInfo, isMetered, watchMembership } from '../../web/app/page-membership.js'
import type { MembershipInput } from '../../web/peer/ring/membership-policy.js'

class FakeDocument extends EventTarget {
  visibilityState: DocumentVisibilityState = 'visible'
  set(state: DocumentVisibilityState): void {
    this.visibilityState = state
    this.dispatchEvent(new Event('visibilitychange'))
  }
}

class FakeConnection extends EventTarget implements ConnectionInfo {
  saveData = false
  type: string | undefined
  change(update: Partial<Pick<FakeConnection, 'saveData' | 'type'>>): void {
    Object.assign(this, update)
    this.dispatchEvent(new Event('change'))
  }
}

function watched(connection?: FakeConnection) {
  const document = new FakeDocument()
  const told: MembershipInput[] = []
  const stop = watchMembership({ document, connection }, (input) => told.push(input))
  return { document, told, stop }
}

describe('the page’s membership input', () => {
  it('tells visible, hidden, frozen and resumed, once per change', () => {
    const { document, told } = watched()
    document.set('hidden')
    document.set('hidden')
    document.dispatchEvent(new Event('freeze'))
    document.dispatchEvent(new Event('resume'))
    document.set('visible')
    expect(told.map((input) => input.visibility)).toEqual([
      'visible',
      'hidden',
      'frozen',
      'hidden',
      'visible',
    ])
    expect(told.every((input) => input.metered === false)).toBe(true)
  })

  it('counts Save-Data, a metered flag and a cellular link as metered, and follows the connection’s changes', () => {
    expect(isMetered(undefined)).toBe(false)
    expect(isMetered(Object.assign(new EventTarget(), { metered: true }))).toBe(true)
    const connection = new FakeConnection()
    const { told } = watched(connection)
    connection.change({ saveData: true })
    connection.change({ saveData: false, type: 'wifi' })
    connection.change({ type: 'cellular' })
    expect(told.map((input) => input.metered)).toEqual([false, true, false, true])
  })

  it('tells nothing more once stopped', () => {
    const connection = new FakeConnection()
    const { document, told, stop } = watched(connection)
    stop()
    document.set('hidden')
    document.dispatchEvent(new Event('freeze'))
    connection.change({ saveData: true })
    expect(told).toHaveLength(1)
  })
})
