import type { Clock, ClockTimer } from './clock.ts'

/** Background work kept in the database: jobs for the engine, callbacks for the deliverer. */
export interface WorkSource<T> {
  /**
   * Takes one piece of work that is due now (leasing it so that no other process takes it), if
   * any. It may also say when the next piece after it falls due (`nextDueAt`, undefined: nothing
   * waits): then the scheduler neither claims again nor asks `nextDueAt()` until that time, a
   * wake or the poll interval.
   */
  claim (): Promise<T | undefined | Claimed<T>>
  /** When the next piece falls due (epoch ms of the clock), if anything waits. */
  nextDueAt (): Promise<number | undefined>
  /** Does the work; it counts against the concurrency until it settles. */
  run (item: T): Promise<void>
}

/** A claim that also told when the next piece of work falls due. */
export interface Claimed<T> { claimed: T, nextDueAt: number | undefined }

function isClaimed<T> (value: T | Claimed<T>): value is Claimed<T> {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, 'claimed') && Object.hasOwn(value, 'nextDueAt')
}

export interface SchedulerOptions {
  /** Pieces of work run at once, at most. */
  concurrency: number
  /** The longest sleep: work written by other processes is found within it. */
  pollMs: number
  clock: Clock
  /** Told about a failure to claim or to run, which the scheduler survives. */
  onError: (err: unknown, during: 'claim' | 'run') => void
}

/**
 * Claims due work up to a concurrency, then sleeps until the next piece falls due or the poll
 * interval passes, whichever is first. `wake()` claims at once: it never waits on the clock's
 * timers, so new work starts immediately even under a test clock that only moves when told.
 */
export function createScheduler<T> (source: WorkSource<T>, options: SchedulerOptions) {
  const { clock } = options
  const inFlight = new Set<Promise<void>>()
  // An object, so that loops see a stop made while they awaited.
  const state = { running: false }
  let timer: ClockTimer | undefined
  let claiming = false
  let again = false

  function sleep (delayMs: number): void {
    clock.clearTimeout(timer)
    timer = clock.setTimeout(() => { void pump() }, delayMs)
  }

  function launch (item: T): void {
    const work: Promise<void> = source.run(item)
      .catch((err) => { options.onError(err, 'run') })
      .finally(() => {
        inFlight.delete(work)
        wake()
      })
    inFlight.add(work)
  }

  /** Fills free slots with due work; the delay until it should look again. */
  async function fill (): Promise<number> {
    let told: { due: number | undefined } | undefined
    while (state.running && inFlight.size < options.concurrency) {
      const got = await source.claim()
      if (got === undefined) break
      if (!isClaimed(got)) {
        launch(got)
        continue
      }
      launch(got.claimed)
      // Nothing else is due yet: no need to ask again (a wake during this fill claims once more).
      if (got.nextDueAt === undefined || got.nextDueAt > clock.now()) {
        told = { due: got.nextDueAt }
        break
      }
    }
    if (inFlight.size >= options.concurrency) return options.pollMs
    const due = told === undefined ? await source.nextDueAt() : told.due
    // +1: a lease that expires at `due` is claimable only once the clock has passed it.
    return due === undefined ? options.pollMs : Math.max(0, Math.min(options.pollMs, due - clock.now() + 1))
  }

  async function pump (): Promise<void> {
    if (claiming) { again = true; return }
    claiming = true
    try {
      let delay: number
      let passes = 0
      do {
        again = false
        delay = await fill()
        // A wake that came while we were reading may be for work this pass missed; so may work that
        // fell due while we read (the clock moved on), which a timer for "now" would leave until the
        // clock moves again. A few passes only: work another replica holds stays due until it lets go.
        if (delay === 0 && passes++ < 3) again = true
      } while (again && state.running)
      if (state.running) sleep(delay)
    } catch (err) {
      if (state.running) {
        options.onError(err, 'claim')
        sleep(options.pollMs)
      }
    } finally {
      claiming = false
    }
  }

  function wake (): void {
    if (state.running) void pump()
  }

  return {
    start (): void {
      if (state.running) return
      state.running = true
      wake()
    },
    /** New or newly due work: claim now. */
    wake,
    /** Stops claiming; the work already running goes on (see `settled`). */
    stop (): void {
      state.running = false
      clock.clearTimeout(timer)
    },
    /** Resolves once every piece of work started so far has settled. */
    async settled (): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    }
  }
}

export type Scheduler = ReturnType<typeof createScheduler>
