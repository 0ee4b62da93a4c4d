/** The parent's handle on a tracker child process: start it, read its memory and CPU time, stop it. */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync } from 'node:fs'
import type { ChildMessage, ChildStats, ParentRequest } from './server-ipc.js'

/** Longest wait for a child to start listening or to answer a question. */
const CHILD_TIMEOUT_MS = 30_000
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks on every common kernel. */
const CLOCK_TICKS_PER_SECOND = 100

export interface Memory {
  /** Resident set now (VmRSS), in bytes. */
  rssBytes: number
  /** Peak resident set since start (VmHWM), in bytes. */
  peakRssBytes: number
}

export class TrackerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(
    script: string,
    args: string[],
    options: { cpuProfileDir?: string | undefined; nodeFlags?: readonly string[] },
  ): Promise<TrackerProcess> {
    const execArgv = ['--expose-gc', ...(options.nodeFlags ?? [])]
    if (options.cpuProfileDir) {
      mkdirSync(options.cpuProfileDir, { recursive: true })
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`)
    }
    const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const ready = await waitFor(child, (message) => message.type === 'ready')
    if (ready.type !== 'ready') throw new Error('tracker child did not start')
    return new TrackerProcess(child, ready.url)
  }

  get pid(): number {
    return this.child.pid!
  }

  /** RSS as the kernel counts it, read from outside so the child's event loop plays no part. */
  memory(): Memory {
    return memoryOf(this.pid)
  }

  /** CPU time (user + system, all threads) used so far, in ms. */
  cpuMs(): number {
    return cpuMsOf(this.pid)
  }

  /** The child's figures; `resetLoop` starts a new window for its event-loop delay. */
  stats(resetLoop = false): Promise<ChildStats> {
    return this.#ask({ op: 'stats', resetLoop })
  }

  /** Forces a full garbage collection in the child, then reports. */
  collect(): Promise<ChildStats> {
    return this.#ask({ op: 'gc' })
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.send({ op: 'stop' } satisfies ParentRequest)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }

  async #ask(request: ParentRequest): Promise<ChildStats> {
    const reply = waitFor(this.child, (message) => message.type === 'stats')
    this.child.send(request)
    const message = await reply
    if (message.type !== 'stats') throw new Error('unexpected reply from tracker child')
    return message.stats
  }
}

function waitFor(child: ChildProcess, match: (message: ChildMessage) => boolean): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (!match(message)) return
      cleanup()
      resolve(message)
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`tracker child exited with ${code}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error('tracker child did not answer in time'))
    }, CHILD_TIMEOUT_MS)
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** A process's resident set now and at its peak, as the kernel counts them. */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { rssBytes: kib('VmRSS') * 1024, peakRssBytes: kib('VmHWM') * 1024 }
}

/** A process's CPU time (user + system, all threads) so far, in ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of stat)
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}
