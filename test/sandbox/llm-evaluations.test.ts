import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { harness, receiver, UUID } from './helpers.ts'
import { manualClock } from '../helpers/manual-clock.ts'

const BASE = '/api/v2/ai/llm/evaluations'
const HEADERS = { 'Idempotency-Key': 'job-1:create', 'X-Genesys-Evaluation-Version': '2.1' }
const STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED']

const payload = (extra: Record<string, unknown> = {}) => ({
  evaluationId: '7f0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
  datasetMatrix: [
    { prompt: 'subscription my cancel', expectedOutput: 'cancel my subscription' },
    { prompt: 'What is my order status?', expectedOutput: 'check_order_status' }
  ],
  metricCalculationDirectives: { accuracy: true, latency: true, hallucination_rate: true },
  privacyMasking: { enabled: true, patterns: ['PII', 'EMAIL'] },
  ...extra
})

test('sandbox: creating an evaluation needs Idempotency-Key and version 2.1; it answers QUEUED to its create and first poll, RUNNING to the second, COMPLETED from the third', async (t) => {
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, progress: { evaluationQueuedPolls: 1, evaluationRunningPolls: 1 } })
  const noKey = await api('POST', BASE, payload(), { 'X-Genesys-Evaluation-Version': '2.1' })
  assert.equal(noKey.status, 400)
  assert.equal(noKey.body.code, 'bad.request')
  const oldVersion = await api('POST', BASE, payload(), { ...HEADERS, 'X-Genesys-Evaluation-Version': '2.0' })
  assert.equal(oldVersion.status, 400)
  assert.match(oldVersion.body.message, /X-Genesys-Evaluation-Version/)
  const badBody = await api('POST', BASE, payload({ datasetMatrix: [{ prompt: 'x' }] }), { ...HEADERS, 'Idempotency-Key': 'other' })
  assert.equal(badBody.status, 400)
  assert.equal(badBody.body.details[0].fieldName, 'datasetMatrix.0.expectedOutput')

  const created = await api('POST', BASE, payload(), HEADERS)
  assert.equal(created.status, 201)
  assert.equal(created.body.id, '7f0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d')
  assert.equal(created.body.status, 'QUEUED')
  assert.equal(created.body.privacyMaskingApplied, true)
  assert.equal(created.body.startTime, undefined)
  assert.equal(created.headers.get('location'), `${BASE}/${created.body.id}`)

  const path = `${BASE}/${created.body.id}`
  assert.equal((await api('GET', path)).body.status, 'QUEUED')
  clock.advance(1000)
  const running = (await api('GET', path)).body
  assert.equal(running.status, 'RUNNING')
  assert.equal(running.startTime, new Date(clock.now()).toISOString(), 'started at the poll that moved it')
  assert.equal(running.completionTime, undefined)
  assert.equal(running.metrics, undefined)

  clock.advance(200)
  const done = (await api('GET', path)).body
  assert.equal(done.status, 'COMPLETED')
  assert.ok(STATUSES.includes(done.status))
  assert.equal(Date.parse(done.completionTime) - Date.parse(done.startTime), 200)
  // The reverse-words model gets row 1 right and row 2 wrong.
  assert.equal(done.metrics.accuracy, 0.5)
  assert.equal(done.metrics.hallucination_rate, 0.5)
  assert.equal(done.metrics.toxicity_score, undefined)
  assert.equal(done.metrics.latency_p95_ms, 40 + 3 * 'What is my order status?'.length)
  assert.equal(done.privacyMaskingApplied, true)

  const stats = sandbox.stats()
  assert.equal(stats.evaluationsCreated, 1)
  assert.equal(stats.evaluationKeys['job-1:create'], 2, 'the bad-version attempt and the create')
  assert.equal((await api('GET', `${BASE}/00000000-0000-4000-8000-000000000000`)).status, 404)
})

test('sandbox: the same Idempotency-Key again is a 409 general.conflict naming the existing evaluation', async (t) => {
  const { sandbox, api } = await harness(t)
  const first = await api('POST', BASE, payload({ evaluationId: undefined }), HEADERS)
  assert.equal(first.status, 201)
  assert.match(first.body.id, UUID)
  const again = await api('POST', BASE, payload({ evaluationId: undefined }), HEADERS)
  assert.equal(again.status, 409)
  assert.equal(again.body.code, 'general.conflict')
  assert.equal(again.body.status, 409)
  assert.equal(again.body.id, first.body.id)
  assert.equal(again.body.contextId, again.headers.get('inin-correlation-id'))

  const dupId = await api('POST', BASE, payload({ evaluationId: first.body.id }), { ...HEADERS, 'Idempotency-Key': 'job-2:create' })
  assert.equal(dupId.status, 409)
  assert.equal(dupId.body.id, first.body.id)
  const stats = sandbox.stats()
  assert.equal(stats.evaluationsCreated, 1)
  assert.deepEqual(stats.evaluationKeys, { 'job-1:create': 2, 'job-2:create': 1 })
})

test('sandbox: a dataset row with FAIL_EVALUATION ends FAILED', async (t) => {
  // The default progress: QUEUED and RUNNING take no polls, so the first poll finds it ended.
  const { api } = await harness(t)
  const created = await api('POST', BASE, payload({ datasetMatrix: [{ prompt: 'please FAIL_EVALUATION now', expectedOutput: 'x' }] }), HEADERS)
  assert.equal(created.body.status, 'QUEUED', 'the create answer is the QUEUED answer')
  const failed = (await api('GET', `${BASE}/${created.body.id}`)).body
  assert.equal(failed.status, 'FAILED')
  assert.ok(failed.completionTime !== undefined)
  assert.equal(typeof failed.errorMessage, 'string')
})

test('sandbox: the RUNNING listing pages, and ten running evaluations block a new one with 409', async (t) => {
  const { sandbox, api } = await harness(t)
  sandbox.seedRunningEvaluations(12)
  const pages = []
  for (let n = 1; n <= 3; n++) pages.push((await api('GET', `${BASE}?status=RUNNING&pageSize=5&pageNumber=${n}`)).body)
  assert.deepEqual(pages.map((p) => p.entities.length), [5, 5, 2])
  for (const p of pages) {
    assert.equal(p.total, 12)
    assert.equal(p.pageCount, 3)
    assert.equal(p.pageSize, 5)
    for (const e of p.entities) assert.equal(e.status, 'RUNNING')
  }
  assert.equal(pages[0].nextUri, `${BASE}?status=RUNNING&pageSize=5&pageNumber=2`)
  assert.equal(pages[2].nextUri, undefined)
  assert.equal(new Set(pages.flatMap((p) => p.entities.map((e: { id: string }) => e.id))).size, 12)
  const defaults = (await api('GET', `${BASE}?status=RUNNING`)).body
  assert.equal(defaults.pageSize, 25)
  assert.equal(defaults.pageNumber, 1)
  assert.equal((await api('GET', `${BASE}?status=DONE`)).status, 400)
  assert.equal((await api('GET', `${BASE}?pageSize=0`)).status, 400)

  const blocked = await api('POST', BASE, payload(), HEADERS)
  assert.equal(blocked.status, 409)
  assert.equal(blocked.body.code, 'general.conflict')
  assert.equal(blocked.body.id, undefined)
  assert.equal(blocked.body.limit.value, 10)
  assert.match(blocked.body.message, /Active runs: 12\. Limit: 10\./)

  const admin = await fetch(`${sandbox.url}/__sandbox/evaluations/running`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 9 }) })
  assert.deepEqual(await admin.json(), { running: 9 })
  const listing = (await api('GET', `${BASE}?status=RUNNING`)).body
  assert.equal(listing.total, 9)
  assert.equal((await api('GET', `${BASE}?status=COMPLETED`)).body.total, 12, 'reseeding finishes the old ones')
  assert.equal((await api('POST', BASE, payload(), HEADERS)).status, 201, 'the same key works once nothing was created with it')
  sandbox.seedRunningEvaluations(0)
  assert.equal((await api('GET', `${BASE}?status=RUNNING`)).body.total, 0)
})

test('sandbox: validate-metrics flags unknown directives and oversized samples; trigger-aggregation is recorded', async (t) => {
  const { sandbox, api } = await harness(t)
  const { body: { id } } = await api('POST', BASE, payload(), HEADERS)
  const ok = await api('POST', `${BASE}/${id}/validate-metrics`, { directives: { accuracy: true, latency: true }, datasetSampleSize: 2 })
  assert.equal(ok.status, 200)
  assert.deepEqual(ok.body, { compatible: true, warnings: [] })

  const bleu = await api('POST', `${BASE}/${id}/validate-metrics`, { directives: { accuracy: true, bleu: true }, datasetSampleSize: 2 })
  assert.equal(bleu.body.compatible, false)
  assert.match(bleu.body.warnings.join(), /bleu/)
  const big = await api('POST', `${BASE}/${id}/validate-metrics`, { datasetSampleSize: 80 })
  assert.equal(big.body.compatible, false)
  assert.ok(big.body.warnings.some((w: string) => w.includes('80')))
  assert.equal((await api('POST', `${BASE}/${id}/validate-metrics`, {})).status, 400)
  assert.equal((await api('POST', `${BASE}/00000000-0000-4000-8000-000000000000/validate-metrics`, { datasetSampleSize: 1 })).status, 404)

  const trigger = await api('POST', `${BASE}/${id}/trigger-aggregation`, { mode: 'async', priority: 'high' })
  assert.equal(trigger.status, 202)
  assert.equal((await api('POST', `${BASE}/${id}/trigger-aggregation`, { mode: 'later', priority: 'high' })).status, 400)
  assert.deepEqual(sandbox.stats().aggregationTriggers, [{ id, mode: 'async', priority: 'high' }])
})

test('sandbox: completion posts a Standard Webhooks signed body to webhookUrl when the evaluation ends; dropWebhooks skips it', async (t) => {
  const hook = await receiver(t)
  const key = Buffer.from('sandbox signing key for tests').toString('base64')
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, progress: { evaluationQueuedPolls: null, evaluationRunningPolls: null }, webhooks: { signingSecret: `whsec_${key}` } })
  const { body: { id } } = await api('POST', BASE, payload({ webhookUrl: hook.url }), HEADERS)
  assert.deepEqual(sandbox.advanceEvaluation(id), [{ evaluationId: id, status: 'RUNNING' }])
  assert.equal((await api('GET', `${BASE}/${id}`)).body.status, 'RUNNING', 'held: the poll does not move it')
  assert.deepEqual(sandbox.advanceEvaluation(id), [{ evaluationId: id, status: 'COMPLETED' }])
  const [delivery] = await hook.until(1)
  const msgId = delivery.headers['webhook-id'] as string
  const timestamp = delivery.headers['webhook-timestamp'] as string
  assert.match(msgId, /^msg_/)
  assert.equal(Number(timestamp), Math.floor(clock.now() / 1000), 'stamped when it ended')
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(`${msgId}.${timestamp}.${delivery.raw}`).digest('base64')
  assert.equal(delivery.headers['webhook-signature'], `v1,${expected}`)
  assert.deepEqual(Object.keys(delivery.body).sort(), ['completionTime', 'evaluationId', 'metrics', 'privacyMaskingApplied', 'startTime', 'status'])
  assert.equal(delivery.body.evaluationId, id)
  assert.equal(delivery.body.status, 'COMPLETED')
  assert.equal(delivery.body.metrics.accuracy, 0.5)
  assert.equal(delivery.body.privacyMaskingApplied, true)
  // The receiver may read the evaluation as soon as the webhook arrives.
  assert.equal((await api('GET', `${BASE}/${id}`)).body.status, 'COMPLETED')

  sandbox.setFaults({ dropWebhooks: true })
  const second = await api('POST', BASE, payload({ evaluationId: undefined, webhookUrl: hook.url }), { ...HEADERS, 'Idempotency-Key': 'job-2:create' })
  assert.deepEqual(sandbox.advanceEvaluation(second.body.id, 'end'), [{ evaluationId: second.body.id, status: 'COMPLETED' }])
  assert.equal(sandbox.stats().webhooksDropped, 1, 'dropped as it ended')
  assert.equal(hook.received.length, 1)
})

test('sandbox: a poll that ends an evaluation sends its webhook; advances reach every unfinished evaluation but the seeded ones; the admin route', async (t) => {
  const hook = await receiver(t)
  const { sandbox, api } = await harness(t, { progress: { evaluationQueuedPolls: 0, evaluationRunningPolls: 1 } })
  const create = async (key: string) => (await api('POST', BASE, payload({ evaluationId: undefined, webhookUrl: hook.url }), { ...HEADERS, 'Idempotency-Key': key })).body.id as string
  const polled = await create('k-1')
  assert.equal((await api('GET', `${BASE}/${polled}`)).body.status, 'RUNNING')
  assert.equal((await api('GET', `${BASE}/${polled}`)).body.status, 'COMPLETED')
  const [delivery] = await hook.until(1)
  assert.equal(delivery.body.evaluationId, polled)

  sandbox.seedRunningEvaluations(2)
  const a = await create('k-2')
  const b = await create('k-3')
  const admin = await fetch(`${sandbox.url}/__sandbox/evaluations/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'end' }) })
  assert.deepEqual(await admin.json(), { advanced: [{ evaluationId: a, status: 'COMPLETED' }, { evaluationId: b, status: 'COMPLETED' }] })
  await hook.until(3)
  assert.equal((await api('GET', `${BASE}?status=RUNNING`)).body.total, 2, 'the seeded ones still run')
  const seeded = (await api('GET', `${BASE}?status=RUNNING`)).body.entities[0].id as string
  assert.throws(() => sandbox.advanceEvaluation(seeded), /seeded RUNNING/)
  assert.throws(() => sandbox.advanceEvaluation('00000000-0000-4000-8000-000000000000'), /no evaluation 00000000/)
  sandbox.seedRunningEvaluations(0)
})
