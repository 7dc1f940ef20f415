import { sleepOn, type Clock, type ClockTimer } from '../../src/clock.ts'

export interface ManualClock extends Clock {
  /**
   * Moves the clock `ms` forward, then fires every timer that is due by then, earliest first
   * (timers they set that fall due by then fire too).
   */
  advance (ms: number): void
  /** Timers set and not yet fired or cleared. */
  pending (): number
}

interface Timer { at: number, order: number, fire: () => void }

/** A clock that stands still until told to move: tests pass it to the service instead of waiting. */
export function createManualClock (start = Date.now()): ManualClock {
  let now = start
  let order = 0
  const timers = new Map<ClockTimer, Timer>()

  function nextDue (): [ClockTimer, Timer] | undefined {
    let found: [ClockTimer, Timer] | undefined
    for (const entry of timers) {
      const [, timer] = entry
      if (timer.at > now) continue
      if (found === undefined || timer.at < found[1].at || (timer.at === found[1].at && timer.order < found[1].order)) found = entry
    }
    return found
  }

  const clock: ManualClock = {
    now: () => now,
    setTimeout (fire, ms) {
      const handle = {}
      timers.set(handle, { at: now + Math.max(0, ms), order: order++, fire })
      return handle
    },
    clearTimeout (handle) {
      if (handle !== undefined) timers.delete(handle)
    },
    sleep: async (ms, signal) => await sleepOn(clock, ms, signal),
    advance (ms) {
      if (!(ms >= 0)) throw new RangeError(`a clock only moves forward; advance(${ms})`)
      now += ms
      for (let due = nextDue(); due !== undefined; due = nextDue()) {
        timers.delete(due[0])
        due[1].fire()
      }
    },
    pending: () => timers.size
  }
  return clock
}

/** A clock that moves only when the test says so; hand `now` to whatever should read it. */
export function manualClock (start = Date.parse('2026-01-05T09:00:00.000Z')) {
  let at = start
  return {
    now: (): number => at,
    advance (ms: number): void { at += ms }
  }
}

/**
 * Real time plus jumps the test makes, for code that also needs time to pass on its own (the
 * Genesys client's pacer spaces requests by it): a jump far beyond anything a test run could
 * take moves a deadline past, however busy the machine.
 */
export function jumpingClock () {
  let offset = 0
  return {
    now: (): number => Date.now() + offset,
    jump (ms: number): void { offset += ms }
  }
}
