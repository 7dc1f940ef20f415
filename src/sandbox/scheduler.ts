import { setTimeout as delay } from 'node:timers/promises'

/**
 * Owns every wait the sandbox starts (latency, slow actions, a webhook's retry), so `close()` can
 * stop them all: a test that closes its sandbox must not leave a delivery firing into the next
 * test. No state moves on a timer; these waits are latency only.
 */
export interface Scheduler {
  readonly signal: AbortSignal
  /** Resolves after `ms`; rejects with an AbortError once the sandbox closes. */
  sleep (ms: number): Promise<void>
  close (): void
}

export function createScheduler (): Scheduler {
  const controller = new AbortController()
  return {
    signal: controller.signal,
    async sleep (ms) {
      if (ms <= 0) return
      await delay(ms, undefined, { signal: controller.signal })
    },
    close () {
      controller.abort()
    }
  }
}
