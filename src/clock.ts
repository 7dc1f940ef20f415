/** A pending timer of a Clock, to pass back to its `clearTimeout`. */
export type ClockTimer = object

/**
 * The service's time: what `now` is and when timers fire. Everything that schedules work (the
 * engine, the callback deliverer, leases, deadlines, retry backoff, poll intervals) reads this
 * instead of Date.now and setTimeout, so a test can move time instead of waiting for it.
 */
export interface Clock {
  now (): number
  setTimeout (fn: () => void, ms: number): ClockTimer
  clearTimeout (timer: ClockTimer | undefined): void
  /** Resolves after `ms` of this clock's time, or at once when `signal` aborts. */
  sleep (ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => { clearTimeout(timer as NodeJS.Timeout | undefined) },
  sleep: async (ms, signal) => await sleepOn(systemClock, ms, signal)
}

/** `sleep` for any clock, built on its timers. */
export async function sleepOn (clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const done = () => {
      clock.clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = clock.setTimeout(done, ms)
    signal?.addEventListener('abort', done)
  })
}
