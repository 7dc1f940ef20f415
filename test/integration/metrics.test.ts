import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { buildMetrics, mean, percentile, summarizeKind, type FinishedSample, type KindRows } from '../../src/jobs/statistics.ts'
import { api, eventually, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
let svc: RunningService
const { echo, failing, fnGreeting } = SANDBOX_FIXTURES.actions

let stop: () => Promise<void>
before(async () => {
  ({ svc, stop } = await startGenesysService())
})
after(async () => { await stop() })

async function run (kind: string, body: unknown) {
  const res = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
  assert.ok(['succeeded', 'failed'].includes(job.status), `job ${job.id} finished (${job.status})`)
  return job
}
const durationOf = (job: { createdAt: string, finishedAt: string }) => Date.parse(job.finishedAt) - Date.parse(job.createdAt)

test('metrics: /v1/metrics summarises exactly the jobs that ran, per kind', async () => {
  const tag = Date.now()
  const a = await run('data-action', { actionId: echo, inputs: { message: `metrics-a-${tag}` } })
  const b = await run('data-action', { actionId: echo, inputs: { message: `metrics-b-${tag}` } })
  const c = await run('data-action', { actionId: echo, inputs: { message: `metrics-c-${tag}` } })
  const again = await run('data-action', { actionId: echo, inputs: { message: `metrics-a-${tag}` } })
  const failed = await run('data-action', { actionId: failing, inputs: {} })
  const greeting = await run('custom-code', { actionId: fnGreeting, inputs: { name: 'Ada' } })
  assert.deepEqual([a, b, c, again, failed, greeting].map((j) => j.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded'])
  assert.equal(again.result.cacheHit, true)

  const res = await api(svc.url, 'GET', '/v1/metrics')
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const { generatedAt, kinds } = res.body
  assert.ok(Math.abs(Date.parse(generatedAt) - Date.now()) < 60_000)
  assert.deepEqual(Object.keys(kinds).sort(), ['custom-code', 'data-action'], 'only kinds that have jobs')

  const da = kinds['data-action']
  const ran = [a, b, c, again, failed]
  assert.equal(da.total, 5)
  assert.equal(da.succeeded, 4)
  assert.equal(da.failed, 1)
  assert.equal(da.cancelled, 0)
  assert.equal(da.timedOut, 0)
  assert.equal(da.running, 0)
  assert.equal(da.successRate, 0.8)
  assert.equal(da.cacheHits, 1)
  assert.equal(da.totalCalls, 5)
  const latencies = ran.filter((j) => typeof j.result?.latencyMs === 'number').map((j) => j.result.latencyMs as number)
  assert.equal(latencies.length, 4, 'the failed job has no result')
  assert.equal(da.avgExecutionLatencyMs, Math.round(latencies.reduce((x, y) => x + y, 0) / 4 * 100) / 100)

  // Nearest rank over 5 durations: p50 is the 3rd smallest, p95 the largest.
  const durations = ran.map(durationOf).sort((x, y) => x - y)
  assert.equal(da.latencyMs.sampleSize, 5)
  assert.equal(da.latencyMs.p50, durations[2])
  assert.equal(da.latencyMs.p95, durations[4])
  assert.equal(da.latencyMs.avg, Math.round(durations.reduce((x, y) => x + y, 0) / 5 * 100) / 100)
  assert.ok(da.latencyMs.p50 <= da.latencyMs.p95)
  assert.ok(da.latencyMs.avg > 0)

  assert.deepEqual(da.last10, [...ran].reverse().map((j) => ({
    id: j.id,
    status: j.status,
    createdAt: j.createdAt,
    durationMs: durationOf(j),
    cacheHit: j.result?.cacheHit ?? null
  })), 'newest first')
  assert.deepEqual(da.last10.map((j: { cacheHit: boolean | null }) => j.cacheHit), [null, true, false, false, false])

  const cc = kinds['custom-code']
  assert.deepEqual({ ...cc, latencyMs: undefined, last10: undefined }, {
    total: 1,
    succeeded: 1,
    failed: 0,
    cancelled: 0,
    timedOut: 0,
    running: 0,
    successRate: 1,
    latencyMs: undefined,
    cacheHits: 0,
    totalCalls: 1,
    avgExecutionLatencyMs: greeting.result.latencyMs,
    last10: undefined
  })
  assert.deepEqual(cc.latencyMs, { avg: durationOf(greeting), p50: durationOf(greeting), p95: durationOf(greeting), sampleSize: 1 })
  assert.deepEqual(cc.last10.map((j: { id: string }) => j.id), [greeting.id])
})

/** Every family of a scrape, by name, after checking the text parses. */
async function scrape (): Promise<Map<string, PrometheusFamily>> {
  const res = await fetch(`${svc.url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
  const families = parsePrometheusTextFormat(await res.text())
  assert.ok(Array.isArray(families) && families.length > 0)
  return new Map(families.map((f) => [f.name, f]))
}

function sample (families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string>): number {
  const found = families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return found === undefined ? 0 : Number(found.value)
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

test('metrics: /metrics is valid Prometheus text with the domain families, exact counter increments and low-cardinality labels', async () => {
  const before = await scrape()
  const submittedBefore = sample(before, 'orchestrator_jobs_submitted_total', { kind: 'data-action' })
  const succeededBefore = sample(before, 'orchestrator_jobs_finished_total', { kind: 'data-action', outcome: 'succeeded' })

  const tag = Date.now()
  for (const n of [1, 2]) {
    const job = await run('data-action', { actionId: echo, inputs: { message: `prometheus-${n}-${tag}` } })
    assert.equal(job.status, 'succeeded')
  }

  // The counter moves just after the job's row commits, so let a scrape catch up.
  const after = await eventually(async () => {
    const families = await scrape()
    return sample(families, 'orchestrator_jobs_finished_total', { kind: 'data-action', outcome: 'succeeded' }) >= succeededBefore + 2 ? families : undefined
  }, 5000, 'the finished counter')
  assert.equal(sample(after, 'orchestrator_jobs_finished_total', { kind: 'data-action', outcome: 'succeeded' }) - succeededBefore, 2)
  assert.equal(sample(after, 'orchestrator_jobs_submitted_total', { kind: 'data-action' }) - submittedBefore, 2)

  for (const name of ['orchestrator_jobs_finished_total', 'orchestrator_jobs_submitted_total', 'orchestrator_genesys_requests_total', 'orchestrator_cache_hits_total', 'http_request_duration_seconds', 'orchestrator_jobs_current']) {
    assert.ok(after.has(name), `${name} is exposed`)
  }
  assert.equal(after.get('orchestrator_jobs_finished_total')!.type, 'COUNTER')
  assert.equal(after.get('http_request_duration_seconds')!.type, 'HISTOGRAM')
  assert.equal(after.get('orchestrator_jobs_current')!.type, 'GAUGE')
  assert.deepEqual(after.get('orchestrator_jobs_current')!.metrics.map((m) => m.labels?.status).sort(), ['queued', 'running', 'waiting'])
  assert.ok(sample(after, 'orchestrator_genesys_requests_total', {}) > 0, 'Genesys requests were counted')
  assert.ok(after.get('orchestrator_cache_hits_total')!.metrics.some((m) => m.labels?.kind === 'data-action' && Number(m.value) >= 1), 'the earlier cache hit was counted')

  // The test database is SQLite unless TEST_DATABASE_URL names a PostgreSQL server (test/helpers/database.ts).
  const onSqlite = (process.env.TEST_DATABASE_URL ?? '') === ''
  for (const name of ['orchestrator_sqlite_commits_total', 'orchestrator_sqlite_transactions_total']) {
    if (onSqlite) assert.ok(sample(after, name, {}) > sample(before, name, {}), `${name} counted the jobs' writes`)
    else assert.equal(after.has(name), false, `${name} is SQLite's only`)
  }

  const labelValues = [...after.values()].flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})))
  assert.ok(labelValues.length > 0)
  assert.deepEqual(labelValues.filter((v) => UUID.test(v)), [], 'no label value is an id')
})

test('metrics: percentile is nearest-rank and mean rounds to 0.01', () => {
  const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
  assert.equal(percentile(ten, 50), 50) // rank ceil(5) = 5
  assert.equal(percentile(ten, 95), 100) // rank ceil(9.5) = 10
  assert.equal(percentile(ten, 90), 90) // rank 9
  assert.equal(percentile(ten, 0), 10)
  assert.equal(percentile(ten, 100), 100)
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1)
  assert.equal(percentile(twenty, 95), 19) // rank exactly 19, no float drift to 20
  assert.equal(percentile(twenty, 50), 10)
  assert.equal(percentile([7], 50), 7)
  assert.equal(percentile([7], 95), 7)
  assert.equal(percentile([3, 9], 50), 3)
  assert.equal(percentile([], 50), null)
  assert.throws(() => percentile(ten, 101), RangeError)
  assert.equal(mean([]), null)
  assert.equal(mean([1, 2]), 1.5)
  assert.equal(mean([1, 1, 2]), 1.33)
})

test('metrics: summarizeKind and buildMetrics compute the summary from rows', () => {
  const t0 = Date.parse('2025-01-01T00:00:00.000Z')
  const finished = (createdAt: number, durationMs: number, cacheHit: boolean | null, latencyMs: number | null): FinishedSample =>
    ({ createdAt, finishedAt: createdAt + durationMs, cacheHit, latencyMs })
  const rows = {
    counts: { succeeded: 3, failed: 1, timed_out: 1, queued: 2, running: 1, waiting: 1 },
    finished: [
      finished(t0 + 5000, 100, false, 40),
      finished(t0 + 4000, 400, true, 0),
      finished(t0 + 3000, 200, false, 80),
      finished(t0 + 2000, 1000, null, null),
      finished(t0 + 1000, 300, null, null)
    ],
    recent: [
      { id: 'j6', status: 'running', createdAt: t0 + 6000, finishedAt: null, cacheHit: null },
      { id: 'j5', status: 'succeeded', createdAt: t0 + 5000, finishedAt: t0 + 5100, cacheHit: false }
    ]
  }
  const da = summarizeKind(rows, true)
  assert.deepEqual(da, {
    total: 9,
    succeeded: 3,
    failed: 1,
    cancelled: 0,
    timedOut: 1,
    running: 4,
    successRate: 0.6,
    // durations sorted: 100 200 300 400 1000 → p50 rank 3, p95 rank 5, mean 400
    latencyMs: { avg: 400, p50: 300, p95: 1000, sampleSize: 5 },
    cacheHits: 1,
    totalCalls: 9,
    avgExecutionLatencyMs: 40, // (40 + 0 + 80) / 3
    last10: [
      { id: 'j6', status: 'running', createdAt: '2025-01-01T00:00:06.000Z', durationMs: null, cacheHit: null },
      { id: 'j5', status: 'succeeded', createdAt: '2025-01-01T00:00:05.000Z', durationMs: 100, cacheHit: false }
    ]
  })

  const other = summarizeKind({ counts: { queued: 1 }, finished: [], recent: [] }, false)
  assert.deepEqual(other, {
    total: 1,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    timedOut: 0,
    running: 1,
    successRate: null,
    latencyMs: { avg: null, p50: null, p95: null, sampleSize: 0 },
    cacheHits: 0,
    last10: []
  }, 'no totalCalls nor avgExecutionLatencyMs for kinds that report no call; nulls when nothing finished')
  assert.equal(summarizeKind({ counts: { succeeded: 1 }, finished: [finished(t0, 5, true, null)], recent: [] }, true).avgExecutionLatencyMs, null)

  const summary = buildMetrics(new Map<string, KindRows>([['routing-evaluation', { counts: { queued: 1 }, finished: [], recent: [] }], ['data-action', rows], ['empty', { counts: {}, finished: [], recent: [] }]]), t0, new Set(['data-action']))
  assert.equal(summary.generatedAt, '2025-01-01T00:00:00.000Z')
  assert.deepEqual(Object.keys(summary.kinds), ['data-action', 'routing-evaluation'])
  assert.deepEqual(summary.kinds['data-action'], da)
})
