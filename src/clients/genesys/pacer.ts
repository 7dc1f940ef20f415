import { setTimeout as sleep } from 'node:timers/promises'

export interface PacerOptions {
  /** Requests allowed per window (Genesys: 300 per minute per token). */
  limit: number
  windowMs: number
  /** Requests in flight at once. */
  concurrency: number
  /**
   * Slack added to the window: a request's arrival lags its send by network jitter, so a send
   * exactly one window after another could still land in the server's previous window.
   */
  marginMs?: number
  now?: () => number
}

/** Given when a request may go; call it when the response is in. */
export interface Permit {
  (): void
  /** The instant (by the pacer's clock) the send slot was granted and counted in the window. */
  readonly sentAt: number
}

export interface RateLimitHeaders {
  allowed?: number
  count?: number
  resetMs?: number
}

/**
 * Keeps one client under its per-token limit: requests are spaced evenly, never more than `limit`
 * are sent in any sliding window, at most `concurrency` are in flight, and a pause (after a 429,
 * or when Genesys says the budget is spent) holds every request of the client.
 */
export function createPacer (options: PacerOptions) {
  const now = options.now ?? Date.now
  const margin = options.marginMs ?? Math.min(250, Math.ceil(options.windowMs * 0.02))
  let limit = options.limit
  const sent: number[] = []
  let nextSlot = 0
  let pausedUntil = 0
  let inFlight = 0
  const waiters: Array<() => void> = []
  let pauses = 0

  const spacing = () => options.windowMs / limit

  function releaseSlot (): void {
    inFlight -= 1
    waiters[0]?.()
  }

  async function acquireConcurrency (signal?: AbortSignal): Promise<void> {
    while (inFlight >= options.concurrency) {
      signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const wake = () => {
          const at = waiters.indexOf(wake)
          if (at >= 0) waiters.splice(at, 1)
          signal?.removeEventListener('abort', wake)
          resolve()
        }
        waiters.push(wake)
        signal?.addEventListener('abort', wake, { once: true })
      })
    }
    inFlight += 1
  }

  /** Waits for a send slot; the returned permit must be called when the response is in. */
  async function acquire (signal?: AbortSignal): Promise<Permit> {
    await acquireConcurrency(signal)
    let sentAt: number
    try {
      for (;;) {
        signal?.throwIfAborted()
        const t = now()
        while (sent.length > 0 && sent[0]! <= t - options.windowMs - margin) sent.shift()
        const windowFree = sent.length < limit ? t : sent[0]! + options.windowMs + margin
        const at = Math.max(t, pausedUntil, nextSlot, windowFree)
        if (at <= t) {
          sentAt = t
          sent.push(t)
          nextSlot = t + spacing()
          break
        }
        await sleep(at - t, undefined, { signal })
      }
    } catch (err) {
      releaseSlot()
      throw err
    }
    let released = false
    return Object.assign(() => { if (!released) { released = true; releaseSlot() } }, { sentAt })
  }

  return {
    acquire,
    /**
     * Holds every request until `ms` from now (extends, never shortens, a pause under way);
     * answers when requests may go again.
     */
    pauseFor (ms: number): number {
      const until = now() + ms
      if (until > pausedUntil) {
        pausedUntil = until
        pauses += 1
      }
      return pausedUntil
    },
    /**
     * Follows what Genesys reports: its allowance, down and back up again (never above the
     * configured limit, which is the operator's), and a spent budget.
     */
    observe (headers: RateLimitHeaders): void {
      if (headers.allowed !== undefined && headers.allowed > 0) limit = Math.min(options.limit, headers.allowed)
      if (headers.allowed !== undefined && headers.count !== undefined && headers.resetMs !== undefined && headers.count >= headers.allowed) {
        // Genesys counts a budget we did not spend (another client on the token?): wait for its
        // reset. When our own window is full anyway, the window's exact timing is the better guide
        // than the reset, which Genesys rounds up to whole seconds.
        const t = now()
        const ownInWindow = sent.filter((s) => s > t - options.windowMs - margin).length
        const until = t + headers.resetMs
        if (ownInWindow < limit && until > pausedUntil) pausedUntil = until
      }
    },
    get pausedUntil (): number { return pausedUntil },
    get pauses (): number { return pauses },
    get inFlight (): number { return inFlight },
    get limit (): number { return limit }
  }
}

export type Pacer = ReturnType<typeof createPacer>
