import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'csv-parse/sync'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { queueMetrics, SANDBOX_MEDIA_TYPES } from '../../src/sandbox/analytics.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll } from '../helpers/secrets.ts'
import { requestsTo } from '../helpers/sandbox-log.ts'

checkLogsForSecretsAfterAll()
let sandbox: Sandbox
let svc: RunningService
const q = SANDBOX_FIXTURES.queues
const day = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' }

let stop: () => Promise<void>
before(async () => {
  // Each aggregates job answers QUEUED to its first poll, PENDING to the second and its outcome from the third.
  ({ sandbox, svc, stop } = await startGenesysService({ progress: { analyticsQueuedPolls: 1, analyticsPendingPolls: 1 } }))
})
after(async () => { await stop() })

const submit = (body: Record<string, unknown>) => api(svc.url, 'POST', '/v1/jobs/routing-evaluation', body)
async function run (body: Record<string, unknown>) {
  const res = await submit(body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
}
const near = (a: number, b: number) => Math.abs(a - b) < 1e-6

const STATUS_ROUTE = 'GET /api/v2/analytics/conversations/aggregates/jobs/:jobId'
const RESULTS_ROUTE = 'GET /api/v2/analytics/conversations/aggregates/jobs/:jobId/results'

test('routing-evaluation: submits an aggregates job, polls QUEUED → PENDING → FULFILLED, reads every page, scores each queue', async () => {
  const logBefore = sandbox.stats().log.length
  const job = await run({ queueIds: [q.support, q.sales, q.billing, q.retention, q.technical], interval: day })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  const result = job.result
  const log = sandbox.stats().log.slice(logBefore)
  assert.equal(requestsTo(sandbox, STATUS_ROUTE, log).length, 3, 'three polls: QUEUED, PENDING, FULFILLED')
  // The sandbox answers 2 groups per page: 5 queues take 3 pages, all of them read.
  assert.equal(result.pages, 3)
  assert.equal(requestsTo(sandbox, RESULTS_ROUTE, log).length, 3)
  const waits = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events
    .filter((e: { type: string }) => e.type === 'waiting').map((e: { data: { reason: string } }) => e.data.reason).join(' | ')
  assert.match(waits, /analytics job QUEUED.*analytics job PENDING/)

  // By hand, for a 24 h bucket (sandbox profile: queue i offered 12+4i/h, abandons 1+(2i mod 5)/h, answers after 8+6i s):
  //   handled 264, 312, 360, 528, 576 → normalised 0, .153846, .307692, .846154, 1
  //   speed of answer 8, 14, 20, 26, 32 s (lower is better) → 1, .75, .5, .25, 0
  //   abandoned 24, 72, 120, 48, 96 (lower is better) → 1, .5, 0, .75, .25
  //   score = .3 handled + .4 speed + .3 abandoned
  const expected = [
    [q.support, 0.7, 1], [q.retention, 0.578846, 0.8], [q.sales, 0.496154, 0.6], [q.technical, 0.375, 0.4], [q.billing, 0.292308, 0.2]
  ] as const
  assert.deepEqual(result.rows.map((r: { queueId: string }) => r.queueId), expected.map((e) => e[0]))
  result.rows.forEach((row: { score: number, percentileRank: number, rank: number }, i: number) => {
    assert.ok(near(row.score, expected[i]![1]), `score of row ${i}: ${row.score}`)
    assert.ok(near(row.percentileRank, expected[i]![2]))
    assert.equal(row.rank, i + 1)
  })
  assert.deepEqual(result.rows[0].kpis.handledCalls, { value: 264, normalized: 0 })
  assert.deepEqual(result.rows[0].kpis.avgSpeedOfAnswer, { value: 8000, normalized: 1 })
  assert.deepEqual(result.weights, { handledCalls: 0.3, avgSpeedOfAnswer: 0.4, abandonedCalls: 0.3 })
  assert.deepEqual(result.warnings, [])
})

test('routing-evaluation: a FAILED or EXPIRED analytics job fails the job with Genesys\'s errorMessage', async () => {
  const failed = await run({ queueIds: [q.failing], interval: day })
  assert.equal(failed.status, 'failed')
  assert.equal(failed.error.code, 'ANALYTICS_JOB_FAILED')
  assert.ok(failed.error.details.errorMessage.length > 0)
  assert.ok(failed.error.message.includes(failed.error.details.errorMessage))
  const expired = await run({ queueIds: [q.expiring], interval: day })
  assert.equal(expired.error.code, 'ANALYTICS_JOB_EXPIRED')
})

test('routing-evaluation: no data succeeds with an empty table and a warning', async () => {
  const job = await run({ queueIds: ['00000000-0000-4000-8000-00000000dead'], interval: day })
  assert.equal(job.status, 'succeeded')
  assert.deepEqual(job.result.rows, [])
  assert.match(job.result.warnings[0], /No conversation data/)
})

test('routing-evaluation: custom KPIs and weights are honoured', async () => {
  const job = await run({ queueIds: [q.support, q.sales], interval: day, kpis: ['offeredCalls', 'transferRate'], weights: { offeredCalls: 1, transferRate: 3 } })
  assert.equal(job.status, 'succeeded')
  // offered 288 vs 384 (higher better): support 0, sales 1. transfer rate 5% vs 8% (lower better): support 1, sales 0.
  assert.deepEqual(job.result.rows.map((r: { queueId: string, score: number }) => [r.queueId, r.score]), [[q.support, 3], [q.sales, 1]])
})

test('routing-evaluation: each invalid request answers 400 with its own code', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ interval: { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:01Z' } }, 'INTERVAL_TOO_LONG'],
    [{ interval: { from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' } }, 'INTERVAL_INVALID'],
    [{ interval: { from: '2026-11-01T00:00:00Z', to: '2026-11-01T00:00:00Z' } }, 'INTERVAL_INVALID'],
    [{ interval: day, kpis: ['handledCalls', 'avgSpeedOfAnswer', 'abandonedCalls', 'offeredCalls', 'answeredCalls', 'avgHandleTime', 'transferRate', 'abandonRate', 'handledCalls', 'offeredCalls', 'answeredCalls'] }, 'TOO_MANY_KPIS'],
    [{ interval: day, kpis: ['handledCalls', 'serviceLevel'] }, 'UNKNOWN_KPI'],
    [{ interval: day, kpis: ['handledCalls'], weights: { handledCalls: 1, abandonedCalls: 2 } }, 'WEIGHTS_UNKNOWN_KPI'],
    [{ interval: day, timeZone: 'Mars/Olympus' }, 'TIME_ZONE_INVALID'],
    [{ interval: day, granularity: 'every hour' }, 'GRANULARITY_INVALID'],
    [{ interval: day, queueIds: [] }, 'QUEUE_IDS_INVALID'],
    [{ interval: day, mediaTypes: [] }, 'NO_MEDIA_TYPES'],
    [{ interval: day, mediaTypes: ['voice', 'phone'] }, 'MEDIA_TYPE_UNKNOWN'],
    [{ interval: day, mediaTypes: ['voice', 'voice'] }, 'DUPLICATE_MEDIA_TYPES']
  ]
  for (const [body, code] of cases) {
    const res = await submit({ queueIds: [q.support], ...body })
    assert.equal(res.status, 400, `${code}: ${JSON.stringify(res.body)}`)
    assert.equal(res.body.code, code)
  }
})

const DAY_MS = 86_400_000
const predicate = (dimension: string, value: string) => ({ type: 'dimension', dimension, operator: 'matches', value })

/** Runs a job and returns it with the aggregates query bodies the sandbox received meanwhile. */
async function runAndCapture (body: Record<string, unknown>) {
  const before = sandbox.stats().analyticsQueries.length
  const job = await run(body)
  return { job, queries: sandbox.stats().analyticsQueries.slice(before) as Array<Record<string, unknown>> }
}

test('routing: the aggregates body the sandbox received carries the mediaType predicate', async () => {
  const { job, queries } = await runAndCapture({ queueIds: [q.support, q.sales], interval: day })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(queries.length, 1, 'one aggregates job submitted')
  assert.deepEqual(queries[0]!.groupBy, ['queueId'])
  assert.deepEqual(queries[0]!.filter, {
    type: 'and',
    clauses: [
      { type: 'or', predicates: [predicate('queueId', q.support), predicate('queueId', q.sales)] },
      { type: 'or', predicates: [predicate('mediaType', 'voice')] }
    ]
  })
  assert.deepEqual(job.result.mediaTypes, ['voice'], 'the result says what was counted')

  const chosen = await runAndCapture({ queueIds: [q.support], interval: day, mediaTypes: ['voice', 'callback'] })
  assert.equal(chosen.job.status, 'succeeded')
  assert.deepEqual((chosen.queries[0]!.filter as { clauses: unknown[] }).clauses[1], { type: 'or', predicates: [predicate('mediaType', 'voice'), predicate('mediaType', 'callback')] })
  assert.deepEqual(chosen.job.result.mediaTypes, ['voice', 'callback'])
})

test('routing: the sandbox\'s chat conversations are not counted', async () => {
  const kpis = ['handledCalls', 'offeredCalls', 'abandonedCalls', 'answeredCalls']
  const queues = [[q.support, 0], [q.billing, 2]] as const
  const voice = await run({ queueIds: queues.map(([id]) => id), interval: day, kpis })
  const every = await run({ queueIds: queues.map(([id]) => id), interval: day, kpis, mediaTypes: [...SANDBOX_MEDIA_TYPES] })
  assert.equal(voice.status, 'succeeded', JSON.stringify(voice.error))
  assert.equal(every.status, 'succeeded', JSON.stringify(every.error))
  const valuesOf = (job: typeof voice, queueId: string) => {
    const row = job.result.rows.find((r: { queueId: string }) => r.queueId === queueId)
    return Object.fromEntries(kpis.map((k) => [k, row.kpis[k].value]))
  }
  for (const [queueId, index] of queues) {
    const media = SANDBOX_MEDIA_TYPES.map((m) => queueMetrics(index, DAY_MS, m))
    const expected = (of: typeof media) => ({
      handledCalls: of.reduce((n, m) => n + m.tHandle!.count, 0),
      offeredCalls: of.reduce((n, m) => n + m.nOffered!.count, 0),
      abandonedCalls: of.reduce((n, m) => n + m.tAbandon!.count, 0),
      answeredCalls: of.reduce((n, m) => n + m.tAnswered!.count, 0)
    })
    assert.ok(media[1]!.tHandle!.count > 0 && media[2]!.tHandle!.count > 0, 'the sandbox has chats and emails for this queue')
    assert.deepEqual(valuesOf(voice, queueId), expected(media.slice(0, 1)), 'a voice-only evaluation counts the voice numbers')
    assert.notDeepEqual(valuesOf(voice, queueId), expected(media))
    assert.deepEqual(valuesOf(every, queueId), expected(media), 'asking for every media type counts chats and emails too')
  }
})

test('routing: queueIds ["Support"] is a 400', async () => {
  const res = await submit({ queueIds: ['Support'], interval: day })
  assert.equal(res.status, 400, JSON.stringify(res.body))
  assert.equal(res.body.code, 'QUEUE_ID_INVALID')
  assert.match(res.body.message, /^body\.queueIds\[0\] must be a GUID/)
  assert.match(res.body.message, /GET \/api\/v2\/routing\/queues/)
  assert.match(res.body.message, /not the queue's name/)

  const second = await submit({ queueIds: [q.sales, 'sales-queue'], interval: day })
  assert.equal(second.status, 400)
  assert.equal(second.body.code, 'QUEUE_ID_INVALID')
  assert.match(second.body.message, /^body\.queueIds\[1\] must be a GUID/)
})

test('routing: names from the sandbox\'s queues (GET /api/v2/routing/queues?id=…); an unknown queue id is named in a warning', async () => {
  const unknown = '00000000-0000-4000-8000-0000000beef0'
  const logBefore = sandbox.stats().log.length
  const job = await run({ queueIds: [q.support, q.sales, q.technical, unknown], interval: day })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  const names = Object.fromEntries(job.result.rows.map((r: { queueId: string, queueName: string }) => [r.queueId, r.queueName]))
  assert.deepEqual(names, { [q.support]: 'Support', [q.sales]: 'Sales', [q.technical]: 'Technical Support' })
  assert.ok(job.result.warnings.some((w: string) => w.includes(`Genesys knows no queue with id ${unknown}`)), JSON.stringify(job.result.warnings))
  const reads = requestsTo(sandbox, 'GET /api/v2/routing/queues', sandbox.stats().log.slice(logBefore))
  assert.equal(reads.length, 1, 'the four ids in one batch, one page')
})

test('routing: queue names are read 50 ids a request, and a read that fails transiently is repeated (repeat-safe)', async (t) => {
  const queueIds = [q.support, ...Array.from({ length: 59 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)]
  sandbox.planFaults([{ route: 'GET /api/v2/routing/queues', fault: 503, when: 'before', times: 1 }])
  t.after(() => sandbox.planFaults([]))
  const logBefore = sandbox.stats().log.length
  const job = await run({ queueIds, interval: day })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.rows[0].queueName, 'Support')
  const reads = requestsTo(sandbox, 'GET /api/v2/routing/queues', sandbox.stats().log.slice(logBefore))
  assert.deepEqual(reads.map((r) => r.status), [503, 200, 200], 'two batches (50 + 10 ids), the first sent again after its 503')
  assert.ok(job.result.warnings.some((w: string) => w.includes('Genesys knows no queue with ids 00000000-0000-4000-8000-000000000000')))
})

test('routing: with granularity P1D over 3 days every row has 3 series entries whose sum equals its totals; ?format=csv parses', async () => {
  const threeDays = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-04T00:00:00.000Z' }
  const kpis = ['handledCalls', 'abandonedCalls', 'offeredCalls', 'answeredCalls', 'avgSpeedOfAnswer']
  const job = await run({ queueIds: [q.support, q.sales, q.billing], interval: threeDays, granularity: 'P1D', kpis })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.granularity, 'P1D')
  assert.equal(job.result.rows.length, 3)
  for (const row of job.result.rows) {
    assert.deepEqual(row.series.map((s: { interval: string }) => s.interval), [
      '2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z',
      '2026-11-02T00:00:00.000Z/2026-11-03T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z/2026-11-04T00:00:00.000Z'
    ], `${row.queueName}: one entry per day, oldest first`)
    for (const kpi of ['handledCalls', 'abandonedCalls', 'offeredCalls', 'answeredCalls']) {
      const sum = row.series.reduce((total: number, s: { kpis: Record<string, number> }) => total + s.kpis[kpi]!, 0)
      assert.equal(sum, row.kpis[kpi].value, `${row.queueName} ${kpi}: the days add up to the total`)
    }
    // The sandbox's days are alike, so each day's average speed of answer is the whole interval's.
    for (const s of row.series) assert.ok(near(s.kpis.avgSpeedOfAnswer, row.kpis.avgSpeedOfAnswer.value), `${row.queueName} ${s.interval}`)
  }
  // Without a granularity, no series.
  const plain = await run({ queueIds: [q.support], interval: day })
  assert.equal(plain.result.rows[0].series, undefined)

  const res = await fetch(`${svc.url}/v1/jobs/${job.id}/result?format=csv`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv/)
  const records = parse(await res.text(), { columns: true }) as Array<Record<string, string>>
  assert.deepEqual(Object.keys(records[0]!), ['rank', 'queueId', 'queueName', 'interval', 'score', 'percentileRank', ...kpis])
  assert.equal(records.length, 3 * 4, 'per queue: a line for the whole interval and one per day')
  const support = records.filter((r) => r.queueId === q.support)
  assert.equal(support[0]!.interval, `${threeDays.from}/${threeDays.to}`)
  assert.equal(Number(support[0]!.handledCalls), support.slice(1).reduce((t, r) => t + Number(r.handledCalls), 0))
  assert.equal(support[0]!.queueName, 'Support')
  assert.equal(support[1]!.score, '', 'a day has no score of its own')

  const json = await api(svc.url, 'GET', `/v1/jobs/${job.id}/result`)
  assert.deepEqual(json.body, job.result, 'the result alone as JSON')
  const flow = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] })
  const notTable = await api(svc.url, 'GET', `/v1/jobs/${flow.body.id}/result?format=csv`)
  assert.equal(notTable.status, 409)
  assert.equal(notTable.body.code, 'RESULT_NOT_A_TABLE')
  assert.match(notTable.body.message, /routing-evaluation/)
})

test('routing: a series that would hold more than 10 000 entries is refused at submission, saying how to shorten it', async () => {
  const month = { from: '2026-11-01T00:00:00Z', to: '2026-11-30T00:00:00Z' }
  const queueIds = Array.from({ length: 20 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)
  const res = await submit({ queueIds, interval: month, granularity: 'PT15M' })
  assert.equal(res.status, 400)
  assert.equal(res.body.code, 'SERIES_TOO_LONG')
  assert.match(res.body.message, /2784 intervals for each of the 20 queue\(s\), 55680 series entries; at most 10000/)
  const zero = await submit({ queueIds: [q.support], interval: day, granularity: 'P0D' })
  assert.equal(zero.body.code, 'GRANULARITY_INVALID')
})
