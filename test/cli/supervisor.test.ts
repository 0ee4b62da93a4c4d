/**
 * The watching process of `share` and `get` (cli/supervisor.ts) with fake peer processes: it passes the
 * peer's exit code on, starts a crashed peer again (waiting longer after each quick crash, giving up after
 * ten), turns SIGINT/SIGTERM into one stop over IPC, and does not restart a peer it was told to stop. The
 * real processes and a real SIGSEGV are in test/e2e/cli.e2e.ts.
 */
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Level, Output } from '../../cli/output/output.js'
import { RESTART_FIRST_MS, STOP_MESSAGE, supervise } from '../../cli/supervisor.js'

/** A peer process the test ends as it likes. */
class FakePeer extends EventEmitter {
  connected = true
  readonly sent: unknown[] = []
  send(message: unknown, callback?: () => void): boolean {
    this.sent.push(message)
    callback?.()
    return true
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false
    this.emit('exit', code, signal)
  }
}

function harness() {
  const peers: FakePeer[] = []
  const events: { level: Level; name: string; fields: Record<string, unknown> | undefined }[] = []
  const output: Output = { event: (level, name, _text, fields) => events.push({ level, name, fields }) }
  const signals = new EventEmitter()
  const spawnPeer = () => {
    const peer = new FakePeer()
    peers.push(peer)
    return peer as unknown as ChildProcess
  }
  const code = supervise({
    argv: ['share', '/tmp/x'],
    output,
    spawnPeer,
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
  })
  return { peers, events, signals, code, last: () => peers.at(-1)! }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the process that watches the peer', () => {
  it("exits with the peer's own exit code, without starting it again", async () => {
    for (const exitCode of [0, 1, 2]) {
      const run = harness()
      run.last().exit(exitCode)
      expect(await run.code).toBe(exitCode)
      expect(run.peers).toHaveLength(1)
    }
  })

  it('starts a peer that crashed again, and says so', async () => {
    const run = harness()
    run.last().exit(null, 'SIGSEGV')
    await vi.advanceTimersByTimeAsync(RESTART_FIRST_MS - 1)
    expect(run.peers).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(run.peers).toHaveLength(2)
    expect(run.events).toEqual([
      {
        level: 'warn',
        name: 'restarting',
        fields: { signal: 'SIGSEGV', crashes: 1, restartInMs: RESTART_FIRST_MS },
      },
    ])
    run.last().exit(0)
    expect(await run.code).toBe(0)
  })

  it('waits twice as long after each quick crash, and gives up with exit 1 after ten restarts in a row', async () => {
    const run = harness()
    const waits: unknown[] = []
    for (let crash = 1; crash <= 11; crash++) {
      run.last().exit(null, 'SIGABRT')
      await vi.advanceTimersByTimeAsync(30_000)
    }
    for (const event of run.events) waits.push(event.fields?.restartInMs)
    expect(waits.slice(0, 7)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000])
    expect(run.events.at(-1)).toMatchObject({ level: 'error', name: 'crashed' })
    expect(await run.code).toBe(1)
    expect(run.peers).toHaveLength(11)
  })

  it('counts the streak afresh after a peer that ran for a while', async () => {
    const run = harness()
    run.last().exit(null, 'SIGSEGV')
    await vi.advanceTimersByTimeAsync(RESTART_FIRST_MS)
    await vi.advanceTimersByTimeAsync(120_000)
    run.last().exit(null, 'SIGSEGV')
    await vi.advanceTimersByTimeAsync(0)
    expect(run.events.map((e) => e.fields?.restartInMs)).toEqual([RESTART_FIRST_MS, RESTART_FIRST_MS])
    run.signals.emit('SIGTERM')
    expect(await run.code).toBe(0)
  })

  it('passes SIGINT and SIGTERM on as a stop over IPC, and does not start a peer it stopped again', async () => {
    const run = harness()
    run.signals.emit('SIGTERM')
    run.signals.emit('SIGINT')
    expect(run.last().sent).toEqual([STOP_MESSAGE, STOP_MESSAGE])
    // A crash while stopping ends the command, as a shell would say a death by that signal.
    run.last().exit(null, 'SIGSEGV')
    expect(await run.code).toBe(128 + 11)
    expect(run.peers).toHaveLength(1)
    expect(run.signals.listenerCount('SIGTERM')).toBe(0)
  })

  it('does not start again a peer killed from outside (SIGKILL: the OOM killer, a person)', async () => {
    const run = harness()
    run.last().exit(null, 'SIGKILL')
    expect(await run.code).toBe(128 + 9)
    expect(run.peers).toHaveLength(1)
  })
})
