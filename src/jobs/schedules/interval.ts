import { DateTime, Duration } from 'luxon'

/**
 * An interval given relative to a schedule's tick: the `last` ISO-8601 duration up to the tick, or
 * the `previous` whole calendar day, week (ISO, from Monday) or month before the tick's own, both in
 * the schedule's time zone, so "the previous day" of a 23-hour daylight-saving day is 23 hours long.
 */
export type RelativeInterval = { last: string } | { previous: 'day' | 'week' | 'month' }

export class IntervalInvalid extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'IntervalInvalid'
  }
}

export function resolveInterval (relative: RelativeInterval, tick: number, timeZone: string): { from: string, to: string } {
  const at = DateTime.fromMillis(tick, { zone: timeZone })
  if (!at.isValid) throw new IntervalInvalid(`timeZone '${timeZone}' is not an IANA time zone`)
  const iso = (d: DateTime) => d.toUTC().toISO({ suppressMilliseconds: false })!
  if ('last' in relative) {
    const duration = Duration.fromISO(relative.last)
    if (!duration.isValid || duration.toMillis() <= 0) {
      throw new IntervalInvalid(`interval.last '${relative.last}' is not a positive ISO-8601 duration such as PT1H, P1D or P7D`)
    }
    return { from: iso(at.minus(duration)), to: iso(at) }
  }
  const end = at.startOf(relative.previous)
  return { from: iso(end.minus({ [`${relative.previous}s`]: 1 })), to: iso(end) }
}
