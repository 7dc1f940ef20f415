import { EventEmitter } from 'node:events'

/**
 * In-process signal that a job changed, so long-polls and event streams answer at once. Other
 * replicas' changes are seen by the readers' periodic re-check.
 */
export function createNotifier () {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(0)
  return {
    changed (jobId: string): void { emitter.emit(jobId) },

    /** Resolves on the next change of the job, after `ms`, or when `signal` aborts. */
    async nextChange (jobId: string, ms: number, signal?: AbortSignal): Promise<void> {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          emitter.off(jobId, done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, ms)
        emitter.on(jobId, done)
        signal?.addEventListener('abort', done)
      })
    }
  }
}

export type Notifier = ReturnType<typeof createNotifier>
