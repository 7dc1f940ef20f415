// A large LLM evaluation held half-way at the sandbox, on a service clock the test moves itself:
// its progress carries a rate and an estimate that can be checked exactly, and cancelling it keeps
// the metrics of the rows it finished, marked partial. Nothing here waits for time to pass.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { createManualClock, type ManualClock } from '../helpers/manual-clock.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const { llm } = SANDBOX_FIXTURES.actions
const ROWS = 5000
let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let clock: ManualClock
let jobId: string
let heldAt: { done: number }

before(async () => {
  db = await createTestDatabase()
  const started = await startTestSandbox()
  sandbox = started.sandbox
  clock = createManualClock(Date.parse('2026-11-23T10:00:00.000Z'))
  svc = await startService(undefined, { ...db.env, ...started.env }, { clock })
})
after(async () => {
  await svc.close()
  await sandbox.close()
  await db.drop()
})

const reverse = (s: string) => s.split(/\s+/).filter(Boolean).reverse().join(' ')
const job = async () => (await api(svc.url, 'GET', `/v1/jobs/${jobId}`)).body

test('progress.etaSeconds present and sane while a large evaluation runs: rows per second since the start, seconds left at that rate', async () => {
  const res = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', {
    datasetMatrix: Array.from({ length: ROWS }, (_, i) => ({ prompt: `row ${i} where is my order`, expectedOutput: i % 4 === 0 ? 'no' : reverse(`row ${i} where is my order`) })),
    engine: { type: 'data-action', actionId: llm, concurrency: 1 }
  })
  assert.equal(res.status, 202)
  jobId = res.body.id
  // One row at a time: once some are done, the next executions wait at the sandbox for a second
  // one in flight, which never comes, so the run stops half-way until the test goes on.
  await eventually(async () => ((await job()).progress?.done ?? 0) >= 20 ? true : undefined, 60_000, 'twenty rows done')
  const started = () => sandbox.stats().actionExecutions[llm] ?? 0
  sandbox.holdExecutions(llm, 2)
  // Every execution counted by now passed the hold check when it started; the next one waits.
  const beforeHold = started()
  heldAt = await eventually(async () => {
    const current = await job()
    return current.progress.done === beforeHold && started() === beforeHold + 1 ? { done: current.progress.done } : undefined
  }, 60_000, 'the run to stop at the held execution')
  const stopped = await job()
  assert.equal(stopped.status, 'running')
  assert.ok(stopped.progress.done > 0 && stopped.progress.done < ROWS, `held half-way: ${stopped.progress.done}`)
  assert.deepEqual([stopped.progress.ratePerSecond, stopped.progress.etaSeconds], [null, null], 'no time has passed on the service clock: no rate to tell yet')

  clock.advance(10_000)
  const later = await job()
  const done = later.progress.done
  assert.equal(done, heldAt.done)
  assert.equal(later.progress.ratePerSecond, Math.round(done / 10 * 1000) / 1000, 'rows done ÷ 10 s since the job started')
  assert.equal(later.progress.etaSeconds, Math.ceil((ROWS - done) / (done / 10)), 'the rows left at that rate')
  assert.ok(later.progress.etaSeconds > 0)

  clock.advance(10_000)
  const slower = await job()
  assert.equal(slower.progress.etaSeconds, Math.ceil((ROWS - done) / (done / 20)), 'nothing done for 10 s more: the rate halves, the estimate doubles')
})

test('a cancelled run keeps partial metrics: the metrics of the rows it finished, marked partial', async () => {
  const asked = await api(svc.url, 'POST', `/v1/jobs/${jobId}/cancel`)
  assert.equal(asked.status, 202)
  const ended = await eventually(async () => {
    const current = await job()
    return current.status === 'cancelled' ? current : undefined
  }, 60_000, 'the job to be cancelled')
  assert.equal(ended.error.code, 'JOB_CANCELLED')
  const result = ended.result
  assert.equal(result.partial, true)
  assert.equal(result.engine, 'data-action')
  const m = result.metrics
  assert.equal(m.rows, ROWS)
  assert.equal(m.completedRows, heldAt.done, 'the rows it finished')
  // Rows i % 4 = 0 expect an answer the model never gives; the finished rows are 0 … done − 1.
  const mismatched = Math.ceil(heldAt.done / 4)
  assert.equal(m.mismatchedRows, mismatched)
  assert.equal(m.matchedRows, heldAt.done - mismatched)
  assert.equal(m.failedRows, 0)
  assert.equal(m.errorRate, 0)
  assert.equal(m.accuracy, (heldAt.done - mismatched) / heldAt.done)
  assert.ok(m.latencyMs.p50 >= 0)
  const items = await api(svc.url, 'GET', `/v1/jobs/${jobId}/items?limit=1`)
  assert.deepEqual(items.body.counts, { match: m.matchedRows, mismatch: mismatched, error: 0 }, 'the rows are there too')
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${jobId}`)).body.items.find((r: { event: string }) => r.event === 'job.cancelled')
  assert.ok(typeof audit.details.resultSha256 === 'string', 'the audit record covers the partial result')
})
