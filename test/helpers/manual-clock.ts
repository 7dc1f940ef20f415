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
