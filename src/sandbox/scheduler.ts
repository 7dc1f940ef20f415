import { setTimeout as delay } from 'node:timers/promises'

/**
 * Owns every timer and wait the sandbox starts, so `close()` can stop them all: a test that
 * closes its sandbox must not leave node-event or webhook timers firing into the next test.
 */
export interface Scheduler {
  readonly signal: AbortSignal
  after (ms: number, fn: () => void): void
  /** Resolves after `ms`; rejects with an AbortError once the sandbox closes. */
  sleep (ms: number): Promise<void>
  close (): void
}

export function createScheduler (): Scheduler {
  const controller = new AbortController()
  const timers = new Set<NodeJS.Timeout>()
  return {
    signal: controller.signal,
    after (ms, fn) {
      if (controller.signal.aborted) return
      const timer = setTimeout(() => {
        timers.delete(timer)
        fn()
      }, Math.max(0, ms))
      timer.unref()
      timers.add(timer)
    },
    async sleep (ms) {
      if (ms <= 0) return
      await delay(ms, undefined, { signal: controller.signal })
    },
    close () {
      controller.abort()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    }
  }
}
