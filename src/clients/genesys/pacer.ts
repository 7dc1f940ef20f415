import { createFairQueue, type Share } from './fair-queue.ts'

interface Waiter { grant: (sentAt: number) => void }

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
 * or when Genesys says the budget is spent) holds every request of the client. Waiting requests
 * are served fairly (fair-queue.ts): teams take turns, then a team's jobs by priority, so one
 * team's big job cannot make everyone else's small ones wait behind it.
 */
export function createPacer (options: PacerOptions) {
  const now = options.now ?? Date.now
  const margin = options.marginMs ?? Math.min(250, Math.ceil(options.windowMs * 0.02))
  let limit = options.limit
  const sent: number[] = []
  let nextSlot = 0
  let pausedUntil = 0
  let inFlight = 0
  let pauses = 0
  const queue = createFairQueue<Waiter>()
  let timer: NodeJS.Timeout | undefined

  const spacing = () => options.windowMs / limit

  /** When the next request may go: after the spacing, with room in the window, and no pause. */
  function nextSendAt (t: number): number {
    while (sent.length > 0 && sent[0]! <= t - options.windowMs - margin) sent.shift()
    const windowFree = sent.length < limit ? t : sent[0]! + options.windowMs + margin
    return Math.max(t, pausedUntil, nextSlot, windowFree)
  }

  /** Hands free send slots to the waiting requests, fairest first, and sleeps until the next one frees. */
  function dispatch (): void {
    clearTimeout(timer)
    timer = undefined
    while (queue.size > 0 && inFlight < options.concurrency) {
      const t = now()
      const at = nextSendAt(t)
      if (at > t) {
        timer = setTimeout(dispatch, at - t)
        timer.unref()
        return
      }
      const waiter = queue.shift()!
      inFlight += 1
      sent.push(t)
      nextSlot = t + spacing()
      waiter.grant(t)
    }
  }

  function permit (sentAt: number): Permit {
    let released = false
    return Object.assign(() => {
      if (released) return
      released = true
      inFlight -= 1
      dispatch()
    }, { sentAt })
  }

  /** Waits for a send slot; the returned permit must be called when the response is in. */
  async function acquire (signal?: AbortSignal, share?: Share): Promise<Permit> {
    signal?.throwIfAborted()
    return await new Promise<Permit>((resolve, reject) => {
      const onAbort = () => { if (queue.remove(waiter)) reject(signal!.reason) }
      const waiter: Waiter = {
        grant (sentAt) {
          signal?.removeEventListener('abort', onAbort)
          resolve(permit(sentAt))
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(waiter, share)
      dispatch()
    })
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
        dispatch()
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
      dispatch()
    },
    get pausedUntil (): number { return pausedUntil },
    get pauses (): number { return pauses },
    get inFlight (): number { return inFlight },
    /** Requests waiting for a send slot. */
    get waiting (): number { return queue.size },
    get limit (): number { return limit }
  }
}

export type Pacer = ReturnType<typeof createPacer>
