import { createFairQueue, type Share } from './fair-queue.ts'

interface Waiter {
  grant: (sentAt: number) => void
  /** Its team had nothing waiting when it came: it may take the spare send (see nextSendAt). */
  newcomer: boolean
}

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
 *
 * One send of the window is kept spare: requests that queue behind others (a big job's backlog)
 * may fill the window only to `limit - 1`, and the spare goes to a newcomer (a request whose team
 * had nothing waiting), which then need not wait for the next evenly spaced slot either. So while
 * a big job saturates the budget, another team's occasional request goes at once instead of up to
 * a spacing later. The spare is taken at most once every two spacings, so newcomers cannot take
 * more than half the budget from a backlog; the limit holds either way.
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

  // When the spare send may next be taken.
  let spareReadyAt = 0

  const spacing = () => options.windowMs / limit
  /** Sends of the window kept for newcomers: one, when the limit is large enough to spare it. */
  const spare = () => (limit >= 10 ? 1 : 0)

  /** When the window holds fewer than `cap` sends (the oldest ones having left it). */
  function windowRoomAt (t: number, cap: number): number {
    return sent.length < cap ? t : sent[sent.length - cap]! + options.windowMs + margin
  }

  /**
   * When `waiter` may go, and whether it goes on the spare send: after the spacing with room in
   * the window below the spare, or, for a newcomer while the spare is ready, with room in the
   * window at all. Never during a pause.
   */
  function nextSendAt (t: number, waiter: Waiter): { at: number, spare: boolean } {
    while (sent.length > 0 && sent[0]! <= t - options.windowMs - margin) sent.shift()
    const regular = Math.max(t, pausedUntil, nextSlot, windowRoomAt(t, limit - spare()))
    if (!waiter.newcomer || spare() === 0) return { at: regular, spare: false }
    const spared = Math.max(t, pausedUntil, spareReadyAt, windowRoomAt(t, limit))
    return spared < regular ? { at: spared, spare: true } : { at: regular, spare: false }
  }

  /** Hands free send slots to the waiting requests, fairest first, and sleeps until the next one frees. */
  function dispatch (): void {
    clearTimeout(timer)
    timer = undefined
    while (queue.size > 0 && inFlight < options.concurrency) {
      const t = now()
      const { at, spare: onSpare } = nextSendAt(t, queue.peek()!)
      if (at > t) {
        timer = setTimeout(dispatch, at - t)
        timer.unref()
        return
      }
      const waiter = queue.shift()!
      inFlight += 1
      sent.push(t)
      // The spare send leaves the backlog's even spacing as it was.
      if (onSpare) spareReadyAt = t + 2 * spacing()
      else nextSlot = t + spacing()
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
        newcomer: false,
        grant (sentAt) {
          signal?.removeEventListener('abort', onAbort)
          resolve(permit(sentAt))
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      waiter.newcomer = queue.push(waiter, share)
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
