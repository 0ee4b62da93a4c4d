/** The load workers, driven together: each command goes to every worker and the phase ends with the last. */
import { Worker } from 'node:worker_threads'
import type { Command, CommandResult, TrackerKind, WorkerInit, WorkerReply } from './commands.js'

export class WorkerPool {
  readonly #workers: Worker[]
  #nextId = 0

  constructor(script: string, kind: TrackerKind, urls: string[], count: number) {
    this.#workers = Array.from(
      { length: count },
      (_, workerIndex) =>
        new Worker(script, { workerData: { kind, urls, workerIndex } satisfies WorkerInit }),
    )
  }

  get size(): number {
    return this.#workers.length
  }

  /** Sends each worker its command (from `commandFor(index)`) and waits for all; throws on any failure. */
  async all<R extends CommandResult>(commandFor: (index: number) => Command): Promise<R[]> {
    return Promise.all(this.#workers.map((worker, index) => this.#run<R>(worker, commandFor(index))))
  }

  async terminate(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()))
  }

  #run<R extends CommandResult>(worker: Worker, command: Command): Promise<R> {
    const id = ++this.#nextId
    return new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return
        worker.off('message', onMessage)
        worker.off('error', onError)
        if (reply.ok) resolve(reply.result as R)
        else reject(new Error(`worker failed at ${command.op}: ${reply.error}`))
      }
      const onError = (error: Error) => {
        worker.off('message', onMessage)
        reject(error)
      }
      worker.on('message', onMessage)
      worker.once('error', onError)
      worker.postMessage({ id, command })
    })
  }
}
