import { LRUCache } from 'lru-cache'

/**
 * Counts failed authentications (a wrong API key, a wrong webhook secret or signature) per client
 * address in fixed one-minute windows. Past the limit, the address is refused before any key is
 * compared until its window ends, so guessing keys or secrets costs a minute per `limit` tries.
 */
export function createFailureLimiter (options: { limit: number, windowMs?: number, now: () => number }) {
  const windowMs = options.windowMs ?? 60_000
  // Bounded: an attacker cycling addresses cannot grow it without end (the oldest are forgotten).
  const windows = new LRUCache<string, { startedAt: number, failures: number }>({ max: 100_000 })
  const current = (address: string) => {
    const window = windows.get(address)
    return window !== undefined && options.now() - window.startedAt < windowMs ? window : undefined
  }
  return {
    /** Milliseconds until this address may try again; 0 when it may now. */
    blockedForMs (address: string): number {
      const window = current(address)
      return window !== undefined && window.failures >= options.limit ? window.startedAt + windowMs - options.now() : 0
    },
    failed (address: string): void {
      const window = current(address)
      if (window === undefined) windows.set(address, { startedAt: options.now(), failures: 1 })
      else window.failures += 1
    },
    limit: options.limit
  }
}

export type FailureLimiter = ReturnType<typeof createFailureLimiter>
