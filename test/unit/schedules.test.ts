import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseCron, ScheduleTimingInvalid } from '../../src/jobs/schedules/cron.ts'
import { IntervalInvalid, resolveInterval } from '../../src/jobs/schedules/interval.ts'

const iso = (ms: number) => new Date(ms).toISOString()
const at = (text: string) => Date.parse(text)

test('schedules: a bad cron says which field is wrong and what it takes', () => {
  const cases: Array<[string, RegExp]> = [
    ['61 * * * *', /field 1 \(minute\) '61' is not valid: it takes 0–59/],
    ['* 25 * * *', /field 2 \(hour\) '25' is not valid: it takes 0–23/],
    ['* * 32 * *', /field 3 \(day of month\) '32'/],
    ['* * * 13 *', /field 4 \(month\) '13'/],
    ['* * * * 8', /field 5 \(day of week\) '8'/],
    ['* * * x *', /field 4 \(month\) 'x'/],
    ['*/0 * * * *', /field 1 \(minute\) '\*\/0'/],
    ['5-1 * * * *', /field 1 \(minute\) '5-1'/],
    ['* * * *', /must have 5 fields .* has 4/],
    ['0 * * * * *', /must have 5 fields .* has 6/],
    ['0 1 30 2 *', /never fires/]
  ]
  for (const [cron, message] of cases) {
    assert.throws(() => parseCron(cron, 'UTC'), (err: unknown) => err instanceof ScheduleTimingInvalid && err.field === 'cron' && message.test(err.message), cron)
  }
  assert.throws(() => parseCron('* * * * *', 'Mars/Olympus'), (err: unknown) => err instanceof ScheduleTimingInvalid && err.field === 'timeZone')
})

test('schedules: every-minute ticks over 10 minutes are exactly 10', () => {
  const every = parseCron('* * * * *', 'UTC')
  const ticks = every.between(at('2026-11-30T07:00:00Z'), at('2026-11-30T07:10:00Z'))
  assert.equal(ticks.length, 10)
  assert.equal(iso(ticks[0]!), '2026-11-30T07:01:00.000Z')
  assert.equal(iso(ticks[9]!), '2026-11-30T07:10:00.000Z')
})

test('schedules: a DST change in Europe/London is handled (a daily 01:30 fires once each day; half-hourly ticks are neither lost nor doubled in UTC)', () => {
  const daily = parseCron('30 1 * * *', 'Europe/London')
  // Spring forward on 29 March 2026: 01:30 does not exist that day and fires at 02:00 BST (01:00 UTC).
  assert.deepEqual(daily.between(at('2026-03-27T12:00:00Z'), at('2026-03-31T12:00:00Z')).map(iso),
    ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'])
  // Fall back on 25 October 2026: 01:30 happens twice and fires once, at the first.
  assert.deepEqual(daily.between(at('2026-10-23T12:00:00Z'), at('2026-10-27T12:00:00Z')).map(iso),
    ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z'])
  const halfHourly = parseCron('*/30 * * * *', 'Europe/London')
  const spring = halfHourly.between(at('2026-03-28T23:00:00Z'), at('2026-03-29T03:00:00Z'))
  assert.deepEqual(spring.map((t, i) => i === 0 ? 0 : t - spring[i - 1]!), [0, ...Array(spring.length - 1).fill(1_800_000)], 'one tick every 30 minutes of real time')
  assert.equal(spring.length, 8)
  const autumn = halfHourly.between(at('2026-10-24T23:00:00Z'), at('2026-10-25T03:00:00Z'))
  assert.equal(autumn.length, 8, 'the repeated hour keeps its own two ticks')
  assert.equal(new Set(autumn).size, autumn.length)
})

test('schedules: a relative interval resolves to the right dates in the schedule\'s time zone', () => {
  const tick = at('2026-11-30T07:00:00Z') // a Monday, 07:00 in London (GMT)
  assert.deepEqual(resolveInterval({ previous: 'day' }, tick, 'Europe/London'), { from: '2026-11-29T00:00:00.000Z', to: '2026-11-30T00:00:00.000Z' })
  assert.deepEqual(resolveInterval({ previous: 'week' }, tick, 'Europe/London'), { from: '2026-11-23T00:00:00.000Z', to: '2026-11-30T00:00:00.000Z' })
  assert.deepEqual(resolveInterval({ previous: 'month' }, tick, 'Europe/London'), { from: '2026-09-30T23:00:00.000Z', to: '2026-11-01T00:00:00.000Z' }, 'October began in BST: 00:00 local is 23:00 UTC the day before')
  assert.deepEqual(resolveInterval({ last: 'P1D' }, tick, 'Europe/London'), { from: '2026-11-29T07:00:00.000Z', to: '2026-11-30T07:00:00.000Z' })
  assert.deepEqual(resolveInterval({ last: 'PT6H' }, tick, 'UTC'), { from: '2026-11-30T01:00:00.000Z', to: '2026-11-30T07:00:00.000Z' })
  // The day the clocks went forward had 23 hours; the previous day of a tick on 30 March covers exactly it.
  assert.deepEqual(resolveInterval({ previous: 'day' }, at('2026-03-30T06:00:00Z'), 'Europe/London'), { from: '2026-03-29T00:00:00.000Z', to: '2026-03-29T23:00:00.000Z' })
  assert.deepEqual(resolveInterval({ previous: 'day' }, tick, 'America/New_York'), { from: '2026-11-29T05:00:00.000Z', to: '2026-11-30T05:00:00.000Z' })
  for (const last of ['1 day', 'P', 'PT0S', '-P1D']) assert.throws(() => resolveInterval({ last }, tick, 'UTC'), IntervalInvalid, last)
})

test('schedules: the newest ticks at or before an instant, oldest first (what a replica coming back finds due)', () => {
  const tenMinutes = parseCron('*/10 * * * *', 'UTC')
  assert.deepEqual(tenMinutes.latest(at('2026-11-30T08:02:00Z'), 3).map(iso), ['2026-11-30T07:40:00.000Z', '2026-11-30T07:50:00.000Z', '2026-11-30T08:00:00.000Z'])
  assert.deepEqual(tenMinutes.latest(at('2026-11-30T08:00:00Z'), 1).map(iso), ['2026-11-30T08:00:00.000Z'], 'a tick at the instant itself is due')
  const nightly = parseCron('30 1 * * *', 'Europe/London')
  assert.deepEqual(nightly.latest(at('2026-03-30T12:00:00Z'), 2).map(iso), ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'])
})
