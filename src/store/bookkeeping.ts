import { AsyncLocalStorage } from 'node:async_hooks'

const context = new AsyncLocalStorage<true>()

/**
 * Runs `work` as bookkeeping: writes whose loss in a power failure (or OS crash) only makes a job
 * repeat work it may repeat anyway, such as a lease claim or renewal. On SQLite they commit without
 * waiting for an fsync (synchronous=NORMAL for that commit): a process crash still loses nothing,
 * and the next durable commit's fsync covers them too. Anything answered to a caller, or recording
 * that something happened outside, must not run in here.
 */
export async function bookkeeping<T> (work: () => Promise<T>): Promise<T> {
  return await context.run(true, work)
}

export function isBookkeeping (): boolean {
  return context.getStore() === true
}
