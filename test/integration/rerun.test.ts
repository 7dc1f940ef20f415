import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const keys = {
  qa: 'rerun-test-qa-key-7f31a9c2',
  reporting: 'rerun-test-reporting-key-55d0e1',
  admin: 'rerun-test-admin-key-b8c4f027'
}
Object.values(keys).forEach(trackSecret)
const API_KEYS = JSON.stringify([
  { name: 'qa-bot', team: 'qa', key: keys.qa, scopes: ['jobs:read', 'jobs:write'] },
  { name: 'reporting', key: keys.reporting, scopes: ['jobs:read', 'jobs:write'] },
  { name: 'ops', team: 'ops', key: keys.admin, scopes: ['jobs:admin'] }
])
const as = (key: string) => ({ authorization: `Bearer ${key}` })
const { llm } = SANDBOX_FIXTURES.actions
const EXECUTE = `/api/v2/integrations/actions/${llm}/execute`

let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
before(async () => {
  db = await createTestDatabase()
  const started = await startTestSandbox()
  sandbox = started.sandbox
  svc = await startService(undefined, { ...db.env, ...started.env, API_KEYS })
})
after(async () => {
  await svc.close()
  await sandbox.close()
  await db.drop()
})

async function finished (id: string, key: string) {
  return await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${id}?waitSeconds=20&include=input,result`, undefined, as(key))).body
    return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(job.status) ? job : undefined
  }, 90_000, `job ${id} to end`)
}

test('rerun: the new job is linked both ways (rerunOf, reruns), in the caller\'s team, with the input and the body\'s overrides', async () => {
  const submitted = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'fail', code: 'FIRST_TRY', message: 'first try fails' }], labels: { batch: 'b1' } }, as(keys.qa))
  assert.equal(submitted.status, 202)
  const original = await finished(submitted.body.id, keys.qa)
  assert.equal(original.status, 'failed')

  const rerun = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { script: [], labels: { batch: 'b1', attempt: '2' } }, as(keys.qa))
  assert.equal(rerun.status, 202, JSON.stringify(rerun.body))
  assert.equal(rerun.headers.get('location'), `/v1/jobs/${rerun.body.id}`)
  assert.equal(rerun.body.rerunOf, original.id)
  assert.equal(rerun.body.team, 'qa')
  assert.deepEqual(rerun.body.input, { script: [] }, 'the body replaced the input field it names')
  assert.deepEqual(rerun.body.labels, { batch: 'b1', attempt: '2' })
  assert.equal((await finished(rerun.body.id, keys.qa)).status, 'succeeded')

  const same = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, {}, as(keys.qa))
  assert.equal(same.status, 202)
  assert.deepEqual(same.body.input, original.input, 'an empty body runs the same input again')
  assert.deepEqual(same.body.labels, original.labels, 'with the same labels')

  // An admin re-runs it into its own team; the original's team does not see that re-run.
  const byAdmin = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, {}, as(keys.admin))
  assert.equal(byAdmin.status, 202)
  assert.equal(byAdmin.body.team, 'ops', "a re-run belongs to the caller's team")

  const linked = await api(svc.url, 'GET', `/v1/jobs/${original.id}`, undefined, as(keys.qa))
  assert.deepEqual(linked.body.reruns, [rerun.body.id, same.body.id], 'the original lists its re-runs the caller may see, oldest first')
  assert.deepEqual((await api(svc.url, 'GET', `/v1/jobs/${original.id}`, undefined, as(keys.admin))).body.reruns, [rerun.body.id, same.body.id, byAdmin.body.id])
  const events = (await api(svc.url, 'GET', `/v1/jobs/${original.id}/events`, undefined, as(keys.qa))).body.events
  assert.deepEqual(events.filter((e: { type: string }) => e.type === 'rerun').map((e: { data: { jobId: string } }) => e.data.jobId), [rerun.body.id, same.body.id, byAdmin.body.id])
  const first = (await api(svc.url, 'GET', `/v1/jobs/${rerun.body.id}/events`, undefined, as(keys.qa))).body.events[0]
  assert.deepEqual(first.data, { to: 'queued', by: { key: 'qa-bot', team: 'qa' }, rerunOf: original.id })
})

test('rerun: Idempotency-Key is honoured; another team\'s job is 404; an unfinished job is 409; a bad override is a 400 naming the field', async () => {
  const original = await finished((await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] }, as(keys.qa))).body.id, keys.qa)
  const headers = { ...as(keys.qa), 'Idempotency-Key': 'rerun-idem-key-0001' }
  const one = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, {}, headers)
  const two = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, {}, headers)
  assert.equal(one.status, 202)
  assert.equal(two.status, 202)
  assert.equal(two.body.id, one.body.id, 'the same key and body replay the first answer')
  assert.equal(two.headers.get('idempotent-replayed'), 'true')
  const other = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { labels: { x: 'y' } }, headers)
  assert.equal(other.status, 422)
  assert.equal(other.body.code, 'IDEMPOTENCY_KEY_REUSED')

  const hidden = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, {}, as(keys.reporting))
  assert.equal(hidden.status, 404)
  assert.equal(hidden.body.code, 'JOB_NOT_FOUND')

  const parked = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 3_600_000 }] }, as(keys.qa))
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${parked.body.id}`, undefined, as(keys.qa))).body.status === 'waiting' ? true : undefined)
  const busy = await api(svc.url, 'POST', `/v1/jobs/${parked.body.id}/rerun`, {}, as(keys.qa))
  assert.equal(busy.status, 409)
  assert.equal(busy.body.code, 'JOB_NOT_FINISHED')
  assert.match(busy.body.message, /is waiting: only a finished job can be re-run/)
  await api(svc.url, 'POST', `/v1/jobs/${parked.body.id}/cancel`, undefined, as(keys.qa))

  const bad = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { timeoutMs: 5 }, as(keys.qa))
  assert.equal(bad.status, 400)
  assert.match(bad.body.message, /^input\.timeoutMs must be at least 100/)
  const unknown = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { unknownField: 1 }, as(keys.qa))
  assert.equal(unknown.status, 400)
  assert.match(unknown.body.message, /input has an unknown field 'unknownField'/)
  const rows = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { rows: 'errors' }, as(keys.qa))
  assert.equal(rows.status, 400)
  assert.equal(rows.body.code, 'ROWS_NOT_SUPPORTED')
})

const reverse = (s: string) => s.split(/\s+/).filter(Boolean).reverse().join(' ')

test('rerun: rows "errors" of a 200-row run with 7 errors runs 7 rows, and its result says which rows of the original', async () => {
  // Seven executes run and lose their answer (500 after the action ran): at most once, so those rows are errors.
  sandbox.planFaults([{ route: 'POST /api/v2/integrations/actions/:actionId/execute', path: EXECUTE, fault: 500, when: 'after', times: 7 }])
  const datasetMatrix = Array.from({ length: 200 }, (_, i) => {
    const prompt = `row ${i} where is my order`
    return { prompt, expectedOutput: i % 40 === 3 ? 'not what the model says' : reverse(prompt) }
  })
  const submitted = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', { datasetMatrix, engine: { type: 'data-action', actionId: llm, concurrency: 5 } }, as(keys.qa))
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body))
  const original = await finished(submitted.body.id, keys.qa)
  assert.equal(original.status, 'succeeded', JSON.stringify(original.error))
  assert.equal(original.result.metrics.failedRows, 7)
  const errorRows = original.result.failedRowSamples.map((s: { row: number }) => s.row).sort((a: number, b: number) => a - b)
  assert.equal(errorRows.length, 7)

  const executesBefore = (sandbox.stats().actionBodies[llm] ?? []).length
  const rerun = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { rows: 'errors' }, as(keys.qa))
  assert.equal(rerun.status, 202, JSON.stringify(rerun.body))
  assert.deepEqual(rerun.body.input.datasetMatrix, errorRows.map((i: number) => datasetMatrix[i]), 'the re-run holds the error rows, in order')
  const done = await finished(rerun.body.id, keys.qa)
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error))
  assert.equal(done.result.metrics.rows, 7)
  assert.deepEqual({ done: done.progress.done, total: done.progress.total }, { done: 7, total: 7 })
  assert.equal((sandbox.stats().actionBodies[llm] ?? []).length - executesBefore, 7, 'the model was asked 7 times')
  assert.deepEqual(done.result.rerunOf, { jobId: original.id, rows: 'errors', originalRows: errorRows })
  const first = (await api(svc.url, 'GET', `/v1/jobs/${rerun.body.id}/events`, undefined, as(keys.qa))).body.events[0]
  assert.equal(first.data.rows, 'errors')

  // The 5 rows whose expected answer differs from the model's are the mismatches.
  const mismatches = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { rows: 'mismatches' }, as(keys.qa))
  assert.equal(mismatches.status, 202)
  const wrong = datasetMatrix.map((_, i) => i).filter((i) => i % 40 === 3 && !errorRows.includes(i))
  const m = await finished(mismatches.body.id, keys.qa)
  assert.deepEqual(m.result.rerunOf.originalRows, wrong)
  assert.equal(m.result.metrics.accuracy, 0)

  const none = await api(svc.url, 'POST', `/v1/jobs/${rerun.body.id}/rerun`, { rows: 'errors' }, as(keys.qa))
  assert.equal(none.status, 422)
  assert.equal(none.body.code, 'NO_ROWS_TO_RERUN')
  const clash = await api(svc.url, 'POST', `/v1/jobs/${original.id}/rerun`, { rows: 'errors', datasetMatrix: [{ prompt: 'x', expectedOutput: 'x' }] }, as(keys.qa))
  assert.equal(clash.status, 400)
  assert.equal(clash.body.code, 'ROWS_WITH_DATASET')
})
