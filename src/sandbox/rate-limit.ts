import type { RateLimit } from './options.ts'

export interface RateDecision {
  allowed: boolean
  /** Requests accepted in the current window, this one included when allowed. */
  count: number
  limit: number
  /** Whole seconds until the window resets, at least 1 (the `inin-ratelimit-reset` header). */
  resetSeconds: number
  /** Exact ms until the window resets. */
  resetMs: number
  /** Which of the token's windows this is: 1 for its first, so a test can count windows instead of timing them. */
  window: number
}

export interface RateLimiter {
  take (token: string, now: number): RateDecision
  /** What the headers say for a request that has no token bucket (e.g. a 401). */
  idle (): RateDecision
  configure (limit: RateLimit): void
}

/**
 * Fixed window per token; the window opens at the token's first request after the previous
 * one closed. Headers carry whole seconds, so a window shorter than 1 s still says
 * `Retry-After: 1` although it really reopens sooner: a client that honours the header is
 * merely a little slower than it needs to be, never too fast.
 */
export function createRateLimiter (initial: RateLimit): RateLimiter {
  let config = initial
  let windows = new Map<string, { start: number, count: number, ordinal: number }>()
  const decision = (allowed: boolean, count: number, resetMs: number, window: number): RateDecision => ({
    allowed,
    count,
    limit: config.limit,
    resetMs,
    resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
    window
  })
  return {
    take (token, now) {
      let window = windows.get(token)
      if (window === undefined || now >= window.start + config.windowMs) {
        window = { start: now, count: 0, ordinal: (window?.ordinal ?? 0) + 1 }
        windows.set(token, window)
      }
      const resetMs = window.start + config.windowMs - now
      if (window.count >= config.limit) return decision(false, window.count, resetMs, window.ordinal)
      window.count++
      return decision(true, window.count, resetMs, window.ordinal)
    },
    idle () {
      return decision(true, 0, config.windowMs, 0)
    },
    configure (limit) {
      config = limit
      windows = new Map()
    }
  }
}
