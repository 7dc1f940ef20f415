import { Cron } from 'croner'

const FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const

/** Why a schedule's cron or time zone cannot be used, in words that name the field. */
export class ScheduleTimingInvalid extends Error {
  readonly field: 'cron' | 'timeZone'
  constructor (field: 'cron' | 'timeZone', message: string) {
    super(message)
    this.name = 'ScheduleTimingInvalid'
    this.field = field
  }
}

export function checkTimeZone (timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone }).format()
  } catch {
    throw new ScheduleTimingInvalid('timeZone', `timeZone '${timeZone}' is not an IANA time zone such as Europe/London or UTC`)
  }
}

const ALLOWED = ['0–59', '0–23', '1–31', '1–12 or JAN–DEC', '0–7 or SUN–SAT (0 and 7 are Sunday)']

/** The field croner refused: each field is tried alone, every other one left as `*`. */
function faultyField (fields: string[]): number {
  return fields.findIndex((value, i) => {
    try {
      // eslint-disable-next-line no-new
      new Cron(FIELDS.map((_, j) => (j === i ? value : '*')).join(' '), { paused: true })
      return false
    } catch {
      return true
    }
  })
}

function explain (fields: string[], message: string): string {
  const i = faultyField(fields)
  const reason = message.replace(/^CronPattern: /, '')
  if (i < 0) return `cron '${fields.join(' ')}' is not valid: ${reason}`
  return `cron field ${i + 1} (${FIELDS[i]}) '${fields[i]}' is not valid: it takes ${ALLOWED[i]}, as numbers, ranges (1-5), lists (1,3), steps (*/15) or * (${reason})`
}

/**
 * A schedule's timing: a five-field cron (minute hour day-of-month month day-of-week) read by
 * croner in the schedule's time zone, which also decides what happens across daylight-saving
 * changes (a time that does not exist that day fires at the next one that does; a time that
 * happens twice fires once for daily patterns, at each occurrence for interval patterns).
 */
export function parseCron (cron: string, timeZone: string) {
  checkTimeZone(timeZone)
  const fields = cron.trim().split(/\s+/)
  if (fields.length !== 5) {
    throw new ScheduleTimingInvalid('cron', `cron must have 5 fields (${FIELDS.join(', ')}); '${cron}' has ${fields.length}`)
  }
  let pattern: Cron
  try {
    pattern = new Cron(cron, { timezone: timeZone, paused: true })
  } catch (err) {
    throw new ScheduleTimingInvalid('cron', explain(fields, (err as Error).message))
  }
  if (pattern.nextRun(new Date(0)) === null) throw new ScheduleTimingInvalid('cron', `cron '${cron}' never fires (no date matches it, e.g. 30 February)`)
  return {
    /** The first tick strictly after `after` (epoch ms). */
    next (after: number): number | undefined {
      return pattern.nextRun(new Date(after))?.getTime()
    },
    /** The newest ticks at or before `until`, at most `limit` of them, oldest first. */
    latest (until: number, limit: number): number[] {
      return pattern.previousRuns(limit, new Date(until + 1)).map((d) => d.getTime()).reverse()
    },
    /** Every tick in (after, until], oldest first, at most `limit`. */
    between (after: number, until: number, limit = 10_000): number[] {
      const ticks: number[] = []
      for (let at = after; ticks.length < limit;) {
        const next = pattern.nextRun(new Date(at))?.getTime()
        if (next === undefined || next > until) break
        ticks.push(next)
        at = next
      }
      return ticks
    }
  }
}

export type CronSchedule = ReturnType<typeof parseCron>
