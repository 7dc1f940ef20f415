/** A clock that moves only when the test says so; hand `now` to whatever should read it. */
export function manualClock (start = Date.parse('2026-01-05T09:00:00.000Z')) {
  let at = start
  return {
    now: (): number => at,
    advance (ms: number): void { at += ms }
  }
}
