/** A bench-peer.ts child process, called like a function over IPC. */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { PeerAnswers, PeerReply, PeerRequest } from './ipc.js'

const BENCH_PEER = fileURLToPath(new URL('./bench-peer.ts', import.meta.url))

export class PeerProcess {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  #nextId = 1

  constructor(readonly name: string) {
    this.#child = fork(BENCH_PEER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#child.on('message', (reply: PeerReply) => {
      const pending = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      if (reply.ok) pending?.resolve(reply.value)
      else pending?.reject(new Error(`${name}: ${reply.error}`))
    })
    this.#child.on('exit', (code) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`${name} exited (${code})`))
      this.#pending.clear()
    })
  }

  get pid(): number {
    return this.#child.pid!
  }

  call<K extends PeerRequest['type']>(request: Extract<PeerRequest, { type: K }>): Promise<PeerAnswers[K]> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.#child.send({ id, request })
    })
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    await this.call({ type: 'close' }).catch(() => {})
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}
