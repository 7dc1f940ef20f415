import type { Clock, ClockTimer } from '../clock.ts'
import { StorageUnavailable } from '../errors.ts'

/** An episode of storage faults: from the first classified failure to the next write that commits. */
export interface StorageFault {
  /** Counts episodes since the store opened. */
  episode: number
  error: StorageUnavailable
  since: number
  /** Operations that failed with a storage fault during the episode so far. */
  failures: number
}

export interface StorageRecovery {
  episode: number
  condition: StorageUnavailable['condition']
  underlying: string
  downMs: number
  failures: number
}

export interface AvailabilityListener {
  unavailable? (fault: StorageFault): void
  available? (recovery: StorageRecovery): void
}

/** The first probe after a fault, doubling up to the longest. */
const FIRST_PROBE_MS = 250
const LONGEST_PROBE_MS = 5_000

/**
 * Whether the database takes writes, as the store has seen it. The store's driver reports every
 * classified failure (`failed`) and every write that committed (`succeeded`); an episode runs
 * from the first failure to the next commit. While one runs, the store probes with a small write
 * (backing off up to 5 s), so the episode ends by itself when the cause is gone even if nothing
 * else writes; whoever waits in `whenWritable` then goes on.
 */
/** `probe` makes one small write and reports its success by calling `succeeded`. */
export function createAvailability (clock: Clock, probe: () => Promise<void>) {
  let fault: StorageFault | undefined
  let probeTimer: ClockTimer | undefined
  let probeDelay = FIRST_PROBE_MS
  let closed = false
  let episodes = 0
  const listeners = new Set<AvailabilityListener>()
  const waiters = new Set<(writable: boolean) => void>()

  function scheduleProbe (): void {
    if (closed || fault === undefined || probeTimer !== undefined) return
    probeTimer = clock.setTimeout(() => {
      probeTimer = undefined
      probeDelay = Math.min(LONGEST_PROBE_MS, probeDelay * 2)
      // A probe that fails reports its fault through the driver like any other write.
      probe().catch(() => {}).finally(scheduleProbe)
    }, probeDelay)
  }

  function failed (error: StorageUnavailable): void {
    if (fault !== undefined) {
      fault.failures += 1
      fault.error = error
      return
    }
    fault = { episode: ++episodes, error, since: clock.now(), failures: 1 }
    probeDelay = FIRST_PROBE_MS
    for (const listener of listeners) listener.unavailable?.(fault)
    scheduleProbe()
  }

  function succeeded (): void {
    if (fault === undefined) return
    const ended = fault
    fault = undefined
    clock.clearTimeout(probeTimer)
    probeTimer = undefined
    const recovery = { episode: ended.episode, condition: ended.error.condition, underlying: ended.error.underlying, downMs: clock.now() - ended.since, failures: ended.failures }
    for (const listener of listeners) listener.available?.(recovery)
    for (const wake of waiters) wake(true)
    waiters.clear()
  }

  return {
    /** The current episode, or undefined while writes succeed. */
    get fault (): StorageFault | undefined { return fault },
    failed,
    succeeded,
    /**
     * Resolves true at once while writes succeed, else once one commits again; false when
     * `signal` aborts first or the store closes.
     */
    async whenWritable (signal?: AbortSignal): Promise<boolean> {
      if (fault === undefined) return true
      if (closed || signal?.aborted === true) return false
      return await new Promise<boolean>((resolve) => {
        const done = (writable: boolean) => {
          waiters.delete(done)
          signal?.removeEventListener('abort', aborted)
          resolve(writable)
        }
        const aborted = () => done(false)
        waiters.add(done)
        signal?.addEventListener('abort', aborted)
      })
    },
    /** Told when an episode starts and ends; returns the function that stops telling. */
    subscribe (listener: AvailabilityListener): () => void {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    close (): void {
      closed = true
      clock.clearTimeout(probeTimer)
      probeTimer = undefined
      for (const wake of waiters) wake(false)
      waiters.clear()
      listeners.clear()
    }
  }
}

export type Availability = ReturnType<typeof createAvailability>

/**
 * Runs `work` (a write that must not be lost, such as a step's recorded outcome) and, while it
 * fails because the database cannot take writes, waits until it can and runs it again. Gives up,
 * rethrowing the fault, only when `stop` aborts (the process is shutting down).
 */
export async function untilStored<T> (availability: Pick<Availability, 'whenWritable'>, work: () => Promise<T>, stop: AbortSignal): Promise<T> {
  for (;;) {
    try {
      return await work()
    } catch (err) {
      if (!(err instanceof StorageUnavailable) || stop.aborted) throw err
      if (!await availability.whenWritable(stop)) throw err
    }
  }
}

/**
 * A component's own account of a storage episode, once: `noted(err)` logs the first fault it
 * meets in an episode (later ones are counted by the store), and the end of that episode is
 * logged when the database takes writes again.
 */
export function storageFaultLog (availability: Pick<Availability, 'subscribe' | 'fault'>, log: { error: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void },
  messages: { unavailable: string, available: string }) {
  let logged: number | undefined
  const unsubscribe = availability.subscribe({
    available (recovery) {
      if (recovery.episode !== logged) return
      log.info({ downMs: recovery.downMs }, messages.available)
    }
  })
  return {
    /** True when `err` was a storage fault (now accounted for), false for anything else. */
    noted (err: unknown): boolean {
      if (!(err instanceof StorageUnavailable)) return false
      // An episode that already ended (a write committed meanwhile) needs no line of its own.
      const episode = availability.fault?.episode
      if (episode !== undefined && episode !== logged) {
        logged = episode
        log.error({ condition: err.condition, cause: err.underlying, remedy: err.remedy }, `${messages.unavailable}: ${err.message}`)
      }
      return true
    },
    stop: unsubscribe
  }
}
