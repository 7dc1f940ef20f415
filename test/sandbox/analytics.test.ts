import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, sleep, waitFor, type Harness } from './helpers.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'
import { queueMetrics } from '../../src/sandbox/analytics.ts'

const { queues } = SANDBOX_FIXTURES
const JOBS = '/api/v2/analytics/conversations/aggregates/jobs'
const DAY = '2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z'
const METRICS = ['nOffered', 'tHandle', 'tAnswered', 'tAbandon', 'nTransferred']
const STATES = ['QUEUED', 'PENDING', 'FAILED', 'CANCELLED', 'FULFILLED', 'EXPIRED']
const timing = { analyticsQueuedMs: 60, analyticsPendingMs: 60 }

const byQueue = (...ids: string[]) => ({ type: 'or', predicates: ids.map((value) => ({ dimension: 'queueId', value })) })

async function finished (api: Harness['api'], jobId: string) {
  return await waitFor(async () => {
    const r = await api('GET', `${JOBS}/${jobId}`)
    return !['QUEUED', 'PENDING'].includes(r.body.state) && r.body
  }, 2000, 'job end')
}

test('sandbox: an aggregates job goes QUEUED → PENDING → FULFILLED with the AsyncQueryStatus fields', async (t) => {
  const { api } = await harness(t, { timing: { analyticsQueuedMs: 100, analyticsPendingMs: 100 } })
  const sent = Date.now()
  const submit = await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.support), metrics: METRICS })
  assert.equal(submit.status, 202)
  assert.deepEqual(Object.keys(submit.body), ['jobId'])
  const path = `${JOBS}/${submit.body.jobId}`

  const queued = await api('GET', path)
  assert.equal(queued.body.state, 'QUEUED')
  assert.ok(!Number.isNaN(Date.parse(queued.body.submissionDate)))
  assert.ok(Date.parse(queued.body.expirationDate) > Date.parse(queued.body.submissionDate))
  assert.equal(queued.body.completionDate, undefined)
  const early = await api('GET', `${path}/results`)
  assert.equal(early.status, 400)
  assert.equal(early.body.code, 'bad.request')

  await sleep(sent + 150 - Date.now())
  assert.equal((await api('GET', path)).body.state, 'PENDING')
  const done = await finished(api, submit.body.jobId)
  assert.equal(done.state, 'FULFILLED')
  assert.ok(STATES.includes(done.state))
  assert.ok(Date.parse(done.completionDate) >= Date.parse(done.submissionDate))
  assert.equal(done.errorMessage, undefined)
})

test('sandbox: results page by cursor, pageSize groups at a time, with deterministic queue metrics', async (t) => {
  const { api } = await harness(t, { timing })
  const five = [queues.support, queues.sales, queues.billing, queues.retention, queues.technical]
  const { body: { jobId } } = await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(...five, '00000000-0000-4000-8000-000000000000'), metrics: METRICS })
  await finished(api, jobId)

  const pages = []
  let cursor: string | undefined
  do {
    const page = await api('GET', `${JOBS}/${jobId}/results${cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`}`)
    assert.equal(page.status, 200)
    pages.push(page.body)
    cursor = page.body.cursor
  } while (cursor !== undefined)
  assert.deepEqual(pages.map((p) => p.results.length), [2, 2, 1])
  const groups = pages.flatMap((p) => p.results)
  assert.deepEqual(groups.map((g) => g.group.queueId), five, 'the unknown queue has no group')

  const support = groups[0]
  assert.equal(support.data.length, 1)
  assert.equal(support.data[0].interval, DAY)
  const stats = Object.fromEntries(support.data[0].metrics.map((m: { metric: string, stats: unknown }) => [m.metric, m.stats]))
  assert.deepEqual(Object.keys(stats), METRICS)
  assert.deepEqual(stats, queueMetrics(0, 86_400_000))
  // queue 0 over a day: 12 offered an hour, 1 abandoned an hour, 8 s to answer, 180 s handling.
  assert.equal(stats.nOffered.count, 288)
  assert.equal(stats.tAbandon.count, 24)
  assert.equal(stats.tAnswered.count, 264)
  assert.equal(stats.tAnswered.sum, 264 * 8000)
  assert.equal(stats.tHandle.sum, 264 * 180_000)
  assert.ok(groups[4].data[0].metrics.find((m: { metric: string }) => m.metric === 'nOffered').stats.count > stats.nOffered.count)

  const badCursor = await api('GET', `${JOBS}/${jobId}/results?cursor=bogus`)
  assert.equal(badCursor.status, 400)
  assert.equal((await api('GET', `${JOBS}/00000000-0000-4000-8000-000000000000`)).status, 404)
})

test('sandbox: granularity splits the interval, pageSize and unknown queues are honoured', async (t) => {
  const { api } = await harness(t, { timing: { analyticsQueuedMs: 1, analyticsPendingMs: 1 } })
  const { body: { jobId } } = await api('POST', JOBS, { interval: DAY, granularity: 'PT12H', timeZone: 'Europe/London', groupBy: ['queueId'], filter: byQueue(queues.sales, queues.billing), metrics: ['nOffered'], pageSize: 5 })
  await finished(api, jobId)
  const page = (await api('GET', `${JOBS}/${jobId}/results`)).body
  assert.equal(page.cursor, undefined)
  assert.equal(page.results.length, 2)
  assert.deepEqual(page.results[0].data.map((d: { interval: string }) => d.interval), ['2026-01-01T00:00:00.000Z/2026-01-01T12:00:00.000Z', '2026-01-01T12:00:00.000Z/2026-01-02T00:00:00.000Z'])
  assert.deepEqual(page.results[0].data[0].metrics, [{ metric: 'nOffered', qualifier: null, stats: { count: 192 } }])

  const nobody = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue('11111111-1111-4111-8111-111111111111'), metrics: ['nOffered'] })).body.jobId
  await finished(api, nobody)
  assert.deepEqual((await api('GET', `${JOBS}/${nobody}/results`)).body, { results: [] })
})

test('sandbox: jobs naming the failing or expiring queue end FAILED or EXPIRED with errorMessage', async (t) => {
  const { api } = await harness(t, { timing })
  const failing = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.support, queues.failing), metrics: METRICS })).body.jobId
  const expiring = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.expiring), metrics: METRICS })).body.jobId
  const failed = await finished(api, failing)
  assert.equal(failed.state, 'FAILED')
  assert.equal(typeof failed.errorMessage, 'string')
  const expired = await finished(api, expiring)
  assert.equal(expired.state, 'EXPIRED')
  assert.equal(typeof expired.errorMessage, 'string')
  assert.equal((await api('GET', `${JOBS}/${failing}/results`)).status, 400)
  assert.equal((await api('GET', `${JOBS}/${expiring}/results`)).status, 400)
})

test('sandbox: a job query without interval or metrics, or with a malformed interval, is a 400', async (t) => {
  const { api } = await harness(t)
  const cases = [
    { metrics: METRICS },
    { interval: DAY },
    { interval: DAY, metrics: [] },
    { interval: '2026-01-01', metrics: METRICS },
    { interval: '2026-01-02T00:00:00Z/2026-01-01T00:00:00Z', metrics: METRICS },
    { interval: DAY, metrics: METRICS, granularity: 'P1M' },
    { interval: DAY, metrics: METRICS, timeZone: 'Mars/Olympus' }
  ]
  for (const body of cases) {
    const answer = await api('POST', JOBS, body)
    assert.equal(answer.status, 400, JSON.stringify(body))
    assert.equal(answer.body.code, 'bad.request')
    assert.equal(answer.body.status, 400)
  }
  const bad = await api('POST', JOBS, '{not json')
  assert.equal(bad.status, 400)
  assert.equal(bad.body.code, 'bad.request')
})
