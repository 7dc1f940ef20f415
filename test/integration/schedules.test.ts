// Schedules, driven by a clock the test moves to each tick: no test waits for a real minute.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { FIXTURE_IDS } from '../../src/fixture-ids.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { createManualClock, type ManualClock } from '../helpers/manual-clock.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const MINUTE = 60_000

interface Setup { db: TestDatabase, clock: ManualClock, services: RunningService[], start (env?: Record<string, string>): Promise<RunningService> }

/** A fresh database and a clock; services started on them are closed (before the database goes) when the test ends. */
async function setup (t: TestContext, at: string): Promise<Setup> {
  const db = await createTestDatabase()
  const clock = createManualClock(Date.parse(at))
  const services: RunningService[] = []
  t.after(async () => {
    for (const s of services) await s.close()
    await db.drop()
  })
  return {
    db,
    clock,
    services,
    async start (env = {}) {
      const svc = await startService(undefined, { ...db.env, ...env }, { clock })
      services.push(svc)
      return svc
    }
  }
}

async function create (svc: RunningService, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await api(svc.url, 'POST', '/v1/schedules', body, headers)
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return res.body
}

async function runs (svc: RunningService, id: string, headers: Record<string, string> = {}): Promise<Array<{ tickAt: string, outcome: string, jobId: string | null, catchUp: boolean, reason: string | null, lagMs: number }>> {
  const res = await api(svc.url, 'GET', `/v1/schedules/${id}/runs?limit=500`, undefined, headers)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return [...res.body.items].reverse()
}

/** Moves the clock to the schedule's next tick and waits until that tick is recorded. */
async function toNextTick (svc: RunningService, clock: ManualClock, id: string): Promise<void> {
  const schedule = (await api(svc.url, 'GET', `/v1/schedules/${id}`)).body
  const before = (await runs(svc, id)).length
  clock.advance(Date.parse(schedule.nextTickAt) - clock.now())
  await eventually(async () => (await runs(svc, id)).length > before ? true : undefined, 30_000, `the tick at ${schedule.nextTickAt}`)
}

/** Waits until the job has ended (with overlap skip, a tick while it runs would make no job). */
async function ended (svc: RunningService, jobId: string): Promise<void> {
  await eventually(async () => ['succeeded', 'failed', 'cancelled', 'timed_out'].includes((await api(svc.url, 'GET', `/v1/jobs/${jobId}?waitSeconds=5`)).body.status) ? true : undefined, 30_000, `job ${jobId} to end`)
}

async function metric (base: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const family = name.replace(/_(bucket|count|sum)$/, '')
  assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), `/metrics has ${family}`)
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

const everyMinute = (name: string, extra: Record<string, unknown> = {}) => ({
  name, cron: '* * * * *', timeZone: 'UTC', kind: 'test-script', body: { script: [] }, labels: { schedule: name }, ...extra
})

test('schedules: an every-minute schedule over 10 simulated minutes makes 10 jobs', async (t) => {
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const svc = await s.start()
  const schedule = await create(svc, everyMinute('every-minute'))
  assert.equal(schedule.nextTickAt, '2026-11-30T07:01:00.000Z')
  assert.deepEqual({ overlap: schedule.overlap, catchUp: schedule.catchUp, enabled: schedule.enabled }, { overlap: 'skip', catchUp: 'none', enabled: true })
  for (let minute = 1; minute <= 10; minute++) {
    s.clock.advance(MINUTE)
    await eventually(async () => (await runs(svc, schedule.id)).length === minute ? true : undefined, 30_000, `tick ${minute}`)
    await ended(svc, (await runs(svc, schedule.id))[minute - 1]!.jobId!)
  }
  const ticks = await runs(svc, schedule.id)
  assert.deepEqual(ticks.map((r) => r.tickAt), Array.from({ length: 10 }, (_, i) => `2026-11-30T07:${String(i + 1).padStart(2, '0')}:00.000Z`))
  assert.ok(ticks.every((r) => r.outcome === 'created' && r.jobId !== null && r.lagMs === 0 && !r.catchUp))
  const jobs = (await api(svc.url, 'GET', '/v1/jobs?label=schedule:every-minute&limit=50')).body.items
  assert.equal(jobs.length, 10)
  assert.deepEqual(new Set(jobs.map((j: { id: string }) => j.id)), new Set(ticks.map((r) => r.jobId)))
  assert.ok(jobs.every((j: { submittedBy: string }) => j.submittedBy === 'schedule:every-minute'))
  const first = (await api(svc.url, 'GET', `/v1/jobs/${ticks[0]!.jobId}/events`)).body.events[0]
  assert.deepEqual(first.data.schedule, { id: schedule.id, name: 'every-minute', tickAt: '2026-11-30T07:01:00.000Z', catchUp: false })
  assert.equal(await metric(svc.url, 'orchestrator_schedule_ticks_total', 'kind="test-script",outcome="created"'), 10)
  assert.equal(await metric(svc.url, 'orchestrator_schedule_lag_seconds_count', 'kind="test-script"'), 10)
  assert.equal(await metric(svc.url, 'orchestrator_schedule_lag_seconds_bucket', 'le="0.01",kind="test-script"'), 10, 'each job was made at its tick')
})

test('schedules: two replicas over 10 simulated minutes still make 10 jobs', async (t) => {
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const a = await s.start()
  const b = await s.start()
  const schedule = await create(a, everyMinute('two-replicas'))
  for (let minute = 1; minute <= 10; minute++) {
    // Both replicas' tickers wake at the same instant of their shared clock.
    s.clock.advance(MINUTE)
    await eventually(async () => (await runs(b, schedule.id)).length === minute ? true : undefined, 30_000, `tick ${minute}`)
    await ended(a, (await runs(a, schedule.id))[minute - 1]!.jobId!)
  }
  const ticks = await runs(a, schedule.id)
  assert.equal(ticks.length, 10)
  assert.ok(ticks.every((r) => r.outcome === 'created'))
  assert.equal((await api(a.url, 'GET', '/v1/jobs?label=schedule:two-replicas&limit=50')).body.items.length, 10, 'one job per tick across the replicas')
  const created = await metric(a.url, 'orchestrator_schedule_ticks_total', 'kind="test-script",outcome="created"') + await metric(b.url, 'orchestrator_schedule_ticks_total', 'kind="test-script",outcome="created"')
  assert.equal(created, 10, 'the replicas together counted each tick once')
  const errors = [...a.logs, ...b.logs].filter((l) => JSON.parse(l).level >= 50)
  assert.deepEqual(errors, [])
})

test('schedules: a replica down for 5 ticks with catchUp "latest" makes one catch-up job; "none" makes none', async (t) => {
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const first = await s.start()
  const latest = await create(first, { ...everyMinute('catch-up-latest'), cron: '*/10 * * * *', catchUp: 'latest' })
  const none = await create(first, { ...everyMinute('catch-up-none'), cron: '*/10 * * * *', catchUp: 'none' })
  s.clock.advance(10 * MINUTE)
  for (const schedule of [latest, none]) await eventually(async () => (await runs(first, schedule.id)).length === 1 ? true : undefined, 30_000, 'the 07:10 tick')
  await first.close()

  // No replica runs through the ticks of 07:20 … 08:00; one comes back at 08:02.
  s.clock.advance(52 * MINUTE)
  const second = await s.start()
  for (const schedule of [latest, none]) await eventually(async () => (await runs(second, schedule.id)).length === 6 ? true : undefined, 30_000, 'the missed ticks recorded')
  const caughtUp = await runs(second, latest.id)
  assert.deepEqual(caughtUp.map((r) => [r.tickAt.slice(11, 16), r.outcome, r.catchUp]), [
    ['07:10', 'created', false], ['07:20', 'missed', false], ['07:30', 'missed', false], ['07:40', 'missed', false], ['07:50', 'missed', false], ['08:00', 'created', true]
  ])
  assert.match(caughtUp[5]!.reason!, /catch-up/)
  assert.equal(caughtUp[5]!.lagMs, 2 * MINUTE)
  assert.match(caughtUp[1]!.reason!, /no replica made this tick's job within 60 s of its time; catchUp latest runs only the newest missed tick/)
  assert.equal((await api(second.url, 'GET', '/v1/jobs?label=schedule:catch-up-latest')).body.items.length, 2, 'the 07:10 job and one catch-up job')
  const catchUpJob = (await api(second.url, 'GET', `/v1/jobs/${caughtUp[5]!.jobId}/events`)).body.events[0]
  assert.equal(catchUpJob.data.schedule.catchUp, true)

  const skipped = await runs(second, none.id)
  assert.deepEqual(skipped.map((r) => r.outcome), ['created', 'missed', 'missed', 'missed', 'missed', 'missed'])
  assert.equal((await api(second.url, 'GET', '/v1/jobs?label=schedule:catch-up-none')).body.items.length, 1, 'no catch-up job')
  assert.equal(await metric(second.url, 'orchestrator_schedule_skipped_ticks_total', 'kind="test-script",reason="missed"'), 9)
  assert.equal((await api(second.url, 'GET', `/v1/schedules/${latest.id}`)).body.nextTickAt, '2026-11-30T08:10:00.000Z')
})

test('schedules: overlap "skip" while a run is active records a skipped tick; "allow" makes the job anyway', async (t) => {
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const svc = await s.start()
  // Each job waits 10 minutes of the clock: it is still unfinished at the next tick.
  const skip = await create(svc, everyMinute('overlap-skip', { body: { script: [{ op: 'wait', ms: 10 * MINUTE }] } }))
  const allow = await create(svc, everyMinute('overlap-allow', { body: { script: [{ op: 'wait', ms: 10 * MINUTE }] }, overlap: 'allow' }))
  s.clock.advance(MINUTE)
  for (const schedule of [skip, allow]) await eventually(async () => (await runs(svc, schedule.id)).length === 1 ? true : undefined)
  const [firstRun] = await runs(svc, skip.id)
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${firstRun!.jobId}`)).body.status === 'waiting' ? true : undefined)
  s.clock.advance(MINUTE)
  for (const schedule of [skip, allow]) await eventually(async () => (await runs(svc, schedule.id)).length === 2 ? true : undefined)
  const skipped = (await runs(svc, skip.id))[1]!
  assert.equal(skipped.outcome, 'skipped')
  assert.equal(skipped.jobId, null)
  assert.equal(skipped.reason, `overlap skip: the run of 2026-11-30T07:01:00.000Z (job ${firstRun!.jobId}) is still waiting`)
  assert.deepEqual((await runs(svc, allow.id)).map((r) => r.outcome), ['created', 'created'])
  assert.equal(await metric(svc.url, 'orchestrator_schedule_skipped_ticks_total', 'kind="test-script",reason="overlap"'), 1)
  assert.equal(await metric(svc.url, 'orchestrator_schedule_ticks_total', 'kind="test-script",outcome="skipped"'), 1)
  for (const schedule of [skip, allow]) assert.equal((await api(svc.url, 'PATCH', `/v1/schedules/${schedule.id}`, { enabled: false })).body.enabled, false)
})

test('schedules: a DST change in Europe/London is handled (01:30 daily: once a day, at 02:00 BST when 01:30 does not exist)', async (t) => {
  const s = await setup(t, '2026-03-27T12:00:00.000Z')
  // The clock jumps seven months: retention would prune the spring jobs meanwhile.
  const svc = await s.start({ RETENTION_DAYS: '0' })
  const spring = await create(svc, everyMinute('nightly', { cron: '30 1 * * *', timeZone: 'Europe/London' }))
  for (let i = 0; i < 4; i++) {
    await toNextTick(svc, s.clock, spring.id)
    await ended(svc, (await runs(svc, spring.id)).pop()!.jobId!)
  }
  assert.deepEqual((await runs(svc, spring.id)).map((r) => [r.tickAt, r.outcome]), [
    ['2026-03-28T01:30:00.000Z', 'created'], // 01:30 GMT
    ['2026-03-29T01:00:00.000Z', 'created'], // the clocks go forward at 01:00: 02:00 BST, the first time that exists
    ['2026-03-30T00:30:00.000Z', 'created'], // 01:30 BST
    ['2026-03-31T00:30:00.000Z', 'created']
  ])
  assert.equal((await api(svc.url, 'DELETE', `/v1/schedules/${spring.id}`)).status, 204)

  s.clock.advance(Date.parse('2026-10-23T12:00:00.000Z') - s.clock.now())
  const autumn = await create(svc, everyMinute('nightly', { cron: '30 1 * * *', timeZone: 'Europe/London' }))
  for (let i = 0; i < 4; i++) {
    await toNextTick(svc, s.clock, autumn.id)
    await ended(svc, (await runs(svc, autumn.id)).pop()!.jobId!)
  }
  assert.deepEqual((await runs(svc, autumn.id)).map((r) => r.tickAt), [
    '2026-10-24T00:30:00.000Z', // 01:30 BST
    '2026-10-25T00:30:00.000Z', // 01:30 happens twice on the 25th: the job is made once, at the first
    '2026-10-26T01:30:00.000Z', // 01:30 GMT
    '2026-10-27T01:30:00.000Z'
  ])
  assert.equal((await api(svc.url, 'GET', '/v1/jobs?label=schedule:nightly&limit=50')).body.items.length, 8)
})

test('schedules: a bad cron is a 400 that says which field is wrong', async (t) => {
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const svc = await s.start()
  const bad = await api(svc.url, 'POST', '/v1/schedules', everyMinute('bad', { cron: '0 25 * * *' }))
  assert.equal(bad.status, 400)
  assert.equal(bad.body.code, 'CRON_INVALID')
  assert.match(bad.body.message, /^cron field 2 \(hour\) '25' is not valid: it takes 0–23/)
  const short = await api(svc.url, 'POST', '/v1/schedules', everyMinute('bad', { cron: '0 6 * *' }))
  assert.equal(short.status, 400)
  assert.match(short.body.message, /cron must have 5 fields \(minute, hour, day of month, month, day of week\); '0 6 \* \*' has 4/)
  const zone = await api(svc.url, 'POST', '/v1/schedules', everyMinute('bad', { timeZone: 'Europe/Atlantis' }))
  assert.equal(zone.body.code, 'TIME_ZONE_INVALID')
  const kind = await api(svc.url, 'POST', '/v1/schedules', everyMinute('bad', { kind: 'nope' }))
  assert.equal(kind.body.code, 'UNKNOWN_KIND')
  assert.match(kind.body.message, /routing-evaluation/)
  const body = await api(svc.url, 'POST', '/v1/schedules', everyMinute('bad', { body: { script: [], unknown: 1 } }))
  assert.equal(body.status, 400)
  assert.match(body.body.message, /^body\.body has an unknown field 'unknown'/)
  const patch = await api(svc.url, 'PATCH', `/v1/schedules/${(await create(svc, everyMinute('good'))).id}`, { cron: '*/0 * * * *' })
  assert.equal(patch.status, 400)
  assert.match(patch.body.message, /cron field 1 \(minute\) '\*\/0' is not valid/)
  assert.equal((await api(svc.url, 'GET', '/v1/schedules')).body.items.length, 1, 'nothing bad was kept')
})

test('schedules: a relative interval resolves to the right dates in the schedule\'s time zone', async (t) => {
  const s = await setup(t, '2026-11-29T12:00:00.000Z')
  const svc = await s.start()
  const queues = [FIXTURE_IDS.queues.support, FIXTURE_IDS.queues.sales]
  const daily = await create(svc, { name: 'yesterday', cron: '0 6 * * *', timeZone: 'Europe/London', kind: 'routing-evaluation', body: { queueIds: queues, interval: { previous: 'day' }, granularity: 'PT1H' } })
  const weekly = await create(svc, { name: 'last-week', cron: '0 6 * * MON', timeZone: 'America/New_York', kind: 'routing-evaluation', body: { queueIds: queues, interval: { previous: 'week' }, timeZone: 'UTC' } })
  const rolling = await create(svc, { name: 'last-6h', cron: '0 */6 * * *', timeZone: 'UTC', kind: 'routing-evaluation', body: { queueIds: queues, interval: { last: 'PT6H' } } })
  assert.deepEqual(daily.body.interval, { previous: 'day' }, 'the schedule keeps the relative interval')
  const jobOf = async (id: string) => {
    await toNextTick(svc, s.clock, id)
    const run = (await runs(svc, id)).pop()!
    assert.equal(run.outcome, 'created', run.reason ?? '')
    return (await api(svc.url, 'GET', `/v1/jobs/${run.jobId}?include=input`)).body
  }
  const six = await jobOf(rolling.id) // 2026-11-29T18:00Z
  assert.deepEqual(six.input.interval, { from: '2026-11-29T12:00:00.000Z', to: '2026-11-29T18:00:00.000Z' })
  const d = await jobOf(daily.id) // 2026-11-30T06:00Z, 06:00 in London
  assert.deepEqual(d.input.interval, { from: '2026-11-29T00:00:00.000Z', to: '2026-11-30T00:00:00.000Z' })
  assert.equal(d.input.timeZone, 'Europe/London', "the report's buckets follow the schedule's time zone")
  const w = await jobOf(weekly.id) // Monday 2026-11-30T11:00Z, 06:00 in New York
  assert.deepEqual(w.input.interval, { from: '2026-11-23T05:00:00.000Z', to: '2026-11-30T05:00:00.000Z' }, 'the previous week from Monday 00:00 in New York')
  assert.equal(w.input.timeZone, 'UTC', 'a time zone in the body stays')

  const tooLong = await api(svc.url, 'POST', '/v1/schedules', { name: 'too-long', cron: '0 6 * * *', timeZone: 'UTC', kind: 'routing-evaluation', body: { queueIds: queues, interval: { last: 'P60D' } } })
  assert.equal(tooLong.status, 400)
  assert.equal(tooLong.body.code, 'INTERVAL_TOO_LONG')
  const wrong = await api(svc.url, 'POST', '/v1/schedules', { name: 'wrong', cron: '0 6 * * *', timeZone: 'UTC', kind: 'routing-evaluation', body: { queueIds: queues, interval: { last: '1 day' } } })
  assert.equal(wrong.status, 400)
  assert.equal(wrong.body.code, 'INTERVAL_INVALID')
  assert.match(wrong.body.message, /interval.last '1 day' is not a positive ISO-8601 duration/)
  for (const id of [daily.id, weekly.id, rolling.id]) await api(svc.url, 'PATCH', `/v1/schedules/${id}`, { enabled: false })
})

test('schedules: belong to teams (schedules:read, schedules:write); change, run by hand, delete', async (t) => {
  const keys = { reporting: 'schedules-test-reporting-key-3e9a', qa: 'schedules-test-qa-key-b71c20', admin: 'schedules-test-admin-key-5d0f' }
  Object.values(keys).forEach(trackSecret)
  const s = await setup(t, '2026-11-30T07:00:00.000Z')
  const svc = await s.start({
    API_KEYS: JSON.stringify([
      { name: 'reporting', key: keys.reporting, scopes: ['schedules:read', 'schedules:write', 'jobs:read'] },
      { name: 'qa-viewer', team: 'qa', key: keys.qa, scopes: ['schedules:read', 'jobs:read'] },
      { name: 'ops', team: 'ops', key: keys.admin, scopes: ['schedules:read', 'jobs:admin'] }
    ])
  })
  const as = (key: string) => ({ authorization: `Bearer ${key}` })
  const forbidden = await api(svc.url, 'POST', '/v1/schedules', everyMinute('x'), as(keys.qa))
  assert.equal(forbidden.status, 403)
  assert.match(forbidden.body.message, /lacks the scope schedules:write/)
  const mine = await create(svc, everyMinute('team-report'), as(keys.reporting))
  assert.equal(mine.team, 'reporting')
  assert.equal(mine.createdBy, 'reporting')
  assert.equal((await api(svc.url, 'GET', `/v1/schedules/${mine.id}`, undefined, as(keys.qa))).status, 404, "another team's schedule is not found")
  assert.equal((await api(svc.url, 'GET', `/v1/schedules/${mine.id}/runs`, undefined, as(keys.qa))).status, 404)
  assert.equal((await api(svc.url, 'GET', '/v1/schedules', undefined, as(keys.qa))).body.items.length, 0)
  assert.equal((await api(svc.url, 'GET', '/v1/schedules', undefined, as(keys.admin))).body.items.length, 1, 'a jobs:admin key sees every team\'s')
  const taken = await api(svc.url, 'POST', '/v1/schedules', everyMinute('team-report'), as(keys.reporting))
  assert.equal(taken.status, 409)
  assert.equal(taken.body.code, 'SCHEDULE_NAME_TAKEN')

  s.clock.advance(MINUTE)
  await eventually(async () => (await runs(svc, mine.id, as(keys.reporting))).length === 1 ? true : undefined)
  const [tick] = await runs(svc, mine.id, as(keys.reporting))
  const job = await api(svc.url, 'GET', `/v1/jobs/${tick!.jobId}`, undefined, as(keys.reporting))
  assert.equal(job.body.team, 'reporting', "the schedule's jobs are its team's")
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${tick!.jobId}`, undefined, as(keys.qa))).status, 404)

  const changed = await api(svc.url, 'PATCH', `/v1/schedules/${mine.id}`, { cron: '0 6 * * *', timeZone: 'Europe/London', labels: { schedule: 'team-report', v: '2' } }, as(keys.reporting))
  assert.equal(changed.status, 200, JSON.stringify(changed.body))
  assert.equal(changed.body.nextTickAt, '2026-12-01T06:00:00.000Z')
  assert.deepEqual(changed.body.labels, { schedule: 'team-report', v: '2' })
  const byHand = await api(svc.url, 'POST', `/v1/schedules/${mine.id}/run`, undefined, as(keys.reporting))
  assert.equal(byHand.status, 202, JSON.stringify(byHand.body))
  assert.equal(byHand.body.team, 'reporting')
  assert.deepEqual(byHand.body.labels, { schedule: 'team-report', v: '2' })
  const last = (await runs(svc, mine.id, as(keys.reporting))).pop()!
  assert.deepEqual([last.outcome, last.jobId, last.reason], ['created', byHand.body.id, 'run by hand by reporting'])
  const disabled = await api(svc.url, 'PATCH', `/v1/schedules/${mine.id}`, { enabled: false }, as(keys.reporting))
  assert.equal(disabled.body.nextTickAt, null)
  assert.equal((await api(svc.url, 'DELETE', `/v1/schedules/${mine.id}`, undefined, as(keys.reporting))).status, 204)
  assert.equal((await api(svc.url, 'GET', `/v1/schedules/${mine.id}`, undefined, as(keys.reporting))).status, 404)
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${byHand.body.id}`, undefined, as(keys.reporting))).status, 200, 'its jobs stay')
})
