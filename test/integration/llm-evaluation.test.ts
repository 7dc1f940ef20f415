import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const SIGNING_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'
let sandbox: Sandbox
let svc: RunningService
const { llm, judge } = SANDBOX_FIXTURES.actions

let stop: () => Promise<void>
before(async () => {
  // An evaluation answers QUEUED to its first poll, RUNNING to the second, its end from the third; tests end it sooner by hand.
  ({ sandbox, svc, stop } = await startGenesysService({ timing: { modelMs: 5 }, progress: { evaluationQueuedPolls: 1, evaluationRunningPolls: 1 }, webhooks: { signingSecret: SIGNING_SECRET } }, { WEBHOOK_SIGNING_SECRET: SIGNING_SECRET }))
})
after(async () => { await stop() })

const reverse = (s: string) => s.split(/\s+/).filter(Boolean).reverse().join(' ')
const submit = (body: Record<string, unknown>) => api(svc.url, 'POST', '/v1/jobs/llm-evaluation', body)
async function run (body: Record<string, unknown>) {
  const res = await submit(body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=60`)).body
}

/**
 * 200 rows. Every fifth row plants an e-mail, a phone number or a card number (never answered
 * right); of the other rows, the even ones expect what the sandbox model answers (the prompt's
 * words reversed), the odd ones expect something else. By hand: rows 0..199 that are even and not
 * a multiple of 5 — 100 even rows less the 20 multiples of 10 — so 80 correct: accuracy 0.4.
 */
const planted = ['jane.doe@example.com', '+1 415-555-0132', '4111 1111 1111 1111']
planted.forEach(trackSecret)
trackSecret('4111111111111111')
function dataset () {
  return Array.from({ length: 200 }, (_, i) => {
    if (i % 5 === 0) return { prompt: `row ${i} contact ${planted[(i / 5) % 3]} today`, expectedOutput: 'not this' }
    const prompt = `row ${i} where is my order`
    return { prompt, expectedOutput: i % 2 === 0 ? reverse(prompt) : 'wrong answer' }
  })
}

test('llm-evaluation (data-action): with masking on, no planted e-mail, phone or card reaches the action; accuracy, latency and progress', async () => {
  const before = (sandbox.stats().actionBodies[llm] ?? []).length
  const job = await run({
    datasetMatrix: dataset(),
    privacyMasking: { enabled: true, patterns: ['EMAIL', 'PHONE', 'CCN'] },
    engine: { type: 'data-action', actionId: llm, concurrency: 5 }
  })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  const bodies = (sandbox.stats().actionBodies[llm] as Array<{ prompt: string }>).slice(before)
  assert.equal(bodies.length, 200)
  const sent = JSON.stringify(bodies)
  for (const secret of [...planted, '4111111111111111', 'jane.doe']) assert.ok(!sent.includes(secret), `${secret} reached the action`)
  for (const token of ['[EMAIL]', '[PHONE]', '[CCN]']) assert.ok(sent.includes(token), `${token} is in what the action received`)

  assert.equal(job.result.metrics.accuracy, 0.4)
  assert.equal(job.result.accuracyRate, 0.4)
  assert.equal(job.result.metrics.failedRows, 0)
  const latency = job.result.metrics.latencyMs
  assert.ok(latency.p50 >= 0 && latency.p95 >= latency.p50 && latency.max >= latency.p95)
  assert.equal(job.result.privacyMaskingApplied, true)
  assert.equal(job.result.complianceTag, 'AI_EVAL_V2')
  assert.deepEqual([job.progress.done, job.progress.total], [200, 200])
  const progress = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events?limit=1000`)).body.events.filter((e: { type: string }) => e.type === 'progress')
  assert.ok(progress.length > 1, 'progress advanced step by step')
  assert.deepEqual(progress.at(-1).data, { done: 200, total: 200 })
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${job.id}`)).body.items[0]
  assert.equal(audit.details.complianceTag, 'AI_EVAL_V2')
})

test('llm-evaluation (data-action): with masking off the prompts pass unchanged', async () => {
  const before = (sandbox.stats().actionBodies[llm] ?? []).length
  const rows = dataset().slice(0, 10)
  const job = await run({ datasetMatrix: rows, privacyMasking: { enabled: false }, engine: { type: 'data-action', actionId: llm } })
  assert.equal(job.status, 'succeeded')
  const bodies = (sandbox.stats().actionBodies[llm] as Array<{ prompt: string }>).slice(before).map((b) => b.prompt).sort()
  assert.deepEqual(bodies, rows.map((r) => r.prompt).sort())
  assert.equal(job.result.privacyMaskingApplied, false)
})

test('llm-evaluation (data-action): judge metrics need a judge action (400 otherwise) and come from its answers', async () => {
  for (const metric of ['hallucination_rate', 'toxicity_score']) {
    const res = await submit({ datasetMatrix: dataset().slice(0, 3), metricCalculationDirectives: { [metric]: true }, engine: { type: 'data-action', actionId: llm } })
    assert.equal(res.status, 400)
    assert.equal(res.body.code, 'METRIC_SCHEMA_MISMATCH')
    assert.match(res.body.message, /metric schema mismatch: .*judgeActionId/)
  }
  // 10 rows: rows 0-3 answered right; rows 4-9 wrong; rows 8 and 9 contain words the judge finds toxic.
  const rows = Array.from({ length: 10 }, (_, i) => {
    const prompt = i >= 8 ? `row ${i} i hate this` : `row ${i} fine words`
    return { prompt, expectedOutput: i < 4 ? reverse(prompt) : 'something else' }
  })
  const job = await run({
    datasetMatrix: rows,
    metricCalculationDirectives: { accuracy: true, latency: true, hallucination_rate: true, toxicity_score: true },
    engine: { type: 'data-action', actionId: llm, judgeActionId: judge }
  })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.metrics.accuracy, 0.4) // 4 of 10 by hand
  assert.equal(job.result.metrics.hallucination_rate, 0.6) // the judge marks the 6 wrong answers
  assert.equal(job.result.metrics.toxicity_score, 0.2) // rows 8 and 9
})

test('llm-evaluation (data-action): in-flight executions never exceed engine.concurrency', async () => {
  const slowSandboxRows = Array.from({ length: 40 }, (_, i) => ({ prompt: `concurrency row ${i}`, expectedOutput: '' }))
  sandbox.resetStats()
  // The first rows wait at the sandbox until three run at once: they overlap by count, whatever the timing.
  sandbox.holdExecutions(llm, 3)
  const job = await run({ datasetMatrix: slowSandboxRows, engine: { type: 'data-action', actionId: llm, concurrency: 3 } })
  assert.equal(job.status, 'succeeded')
  const peak = sandbox.stats().maxConcurrentExecutions[llm]!
  assert.ok(peak <= 3, `peak ${peak}`)
  assert.ok(peak >= 2, 'rows did run side by side')
  const tooMany = await submit({ datasetMatrix: slowSandboxRows, engine: { type: 'data-action', actionId: llm, concurrency: 11 } })
  assert.equal(tooMany.status, 400)
  assert.equal(tooMany.body.code, 'CONCURRENCY_OUT_OF_RANGE')
})

const gatewayBody = (extra: Record<string, unknown> = {}, engine: Record<string, unknown> = {}) => ({
  datasetMatrix: dataset().slice(0, 60),
  privacyMasking: { enabled: true, patterns: ['EMAIL'] },
  engine: { type: 'gateway', pollIntervalMs: 60_000, ...engine },
  ...extra
})

/**
 * Once the job has polled its evaluation (QUEUED) and waits a minute for the next poll, ends the
 * evaluation at the sandbox: its completion webhook goes out, and the job ends on it.
 */
async function endEvaluationFor (jobId: string, evaluationId: string) {
  await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${jobId}`)).body
    return job.status === 'waiting' && job.step === 'await' ? true : undefined
  }, 30_000, 'the job to await its evaluation')
  assert.deepEqual(sandbox.advanceEvaluation(evaluationId, 'end'), [{ evaluationId, status: 'COMPLETED' }])
  return (await api(svc.url, 'GET', `/v1/jobs/${jobId}?waitSeconds=60`)).body
}

test('llm-evaluation (gateway): completion by webhook succeeds the job with metrics, latency, accuracy rate and masking flag', async () => {
  const evaluationId = crypto.randomUUID()
  const res = await submit(gatewayBody({ evaluationId }))
  assert.equal(res.status, 202, JSON.stringify(res.body))
  const job = await endEvaluationFor(res.body.id, evaluationId)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.completedVia, 'webhook')
  assert.equal(typeof job.result.metrics.accuracy, 'number')
  assert.equal(job.result.accuracyRate, job.result.metrics.accuracy)
  assert.ok(job.result.executionLatencyMs >= 0)
  assert.equal(job.result.privacyMaskingApplied, true)
  assert.equal(job.result.complianceTag, 'AI_EVAL_V2')
  const triggers = sandbox.stats().aggregationTriggers.filter((t) => t.id === job.result.evaluationId)
  assert.deepEqual(triggers.map((t) => [t.mode, t.priority]), [['async', 'high']])
  assert.equal(sandbox.stats().evaluationKeys[`orchestrator-${job.id}-create`], 1, 'one creation under the job\'s stable key')
  const events = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events
  assert.ok(events.some((e: { type: string, data: { status: string } }) => e.type === 'evaluation' && e.data.status === 'COMPLETED'))
})

test('llm-evaluation (gateway): with the webhook dropped, fallback polling completes the job', async () => {
  sandbox.setFaults({ dropWebhooks: true })
  try {
    const job = await run(gatewayBody({}, { pollIntervalMs: 300 }))
    assert.equal(job.status, 'succeeded')
    assert.equal(job.result.completedVia, 'poll')
  } finally {
    sandbox.setFaults({ dropWebhooks: false })
  }
})

test('llm-evaluation (gateway): with 10 evaluations RUNNING the job waits, reading every page of the count, and proceeds when one finishes', async (t) => {
  sandbox.seedRunningEvaluations(10)
  t.after(() => sandbox.seedRunningEvaluations(0))
  const evaluationId = crypto.randomUUID()
  const res = await submit(gatewayBody({ evaluationId }, { pageSize: 3 }))
  const waiting = await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}`)).body
    return job.status === 'waiting' && job.step === 'capacity' ? job : undefined
  }, 10_000, 'job to wait for capacity')
  assert.match(waiting.waitReason, /10 evaluations RUNNING \(limit 10, 4 page\(s\) read\)/)
  sandbox.seedRunningEvaluations(0)
  const job = await endEvaluationFor(res.body.id, evaluationId)
  assert.equal(job.status, 'succeeded')
  const reasons = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events.filter((e: { type: string }) => e.type === 'waiting').map((e: { data: { reason: string } }) => e.data.reason)
  assert.ok(reasons.some((r: string) => r.includes('RUNNING')), 'the reason is on the timeline')
})

test('llm-evaluation (gateway): a retry after a lost answer finds the evaluation already created under the same key', async (t) => {
  // The job waits while 5 run (its own limit); the gateway itself still accepts up to 10.
  sandbox.seedRunningEvaluations(5)
  t.after(() => sandbox.seedRunningEvaluations(0))
  const res = await submit(gatewayBody({}, { pageSize: 100, runningLimit: 5 }))
  await eventually(async () => ((await api(svc.url, 'GET', `/v1/jobs/${res.body.id}`)).body.step === 'capacity' ? true : undefined), 60_000, 'capacity wait')
  // An earlier try reached the gateway but its answer was lost: the evaluation exists under the job's key.
  const token = await svc.app.genesys.client.tokens.get()
  const earlier = await fetch(`${sandbox.url}/api/v2/ai/llm/evaluations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'Idempotency-Key': `orchestrator-${res.body.id}-create`, 'X-Genesys-Evaluation-Version': '2.1' },
    body: JSON.stringify({ datasetMatrix: [{ prompt: 'x', expectedOutput: 'x' }], metricCalculationDirectives: { accuracy: true }, webhookUrl: `${svc.url}/v1/webhooks/genesys/llm-evaluations` })
  })
  assert.equal(earlier.status, 201)
  const earlierId = (await earlier.json() as { id: string }).id
  const createdBefore = sandbox.stats().evaluationsCreated
  sandbox.seedRunningEvaluations(0)
  const job = await endEvaluationFor(res.body.id, earlierId)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(sandbox.stats().evaluationsCreated, createdBefore, 'no second evaluation was created')
  assert.equal(sandbox.stats().evaluationKeys[`orchestrator-${res.body.id}-create`], 2, 'the retry carried the same key')
  assert.equal(job.result.evaluationId, earlierId)
})

test('llm-evaluation (gateway): a validate-metrics incompatibility fails the job with the warnings', async () => {
  const job = await run(gatewayBody({ metricCalculationDirectives: { accuracy: true, bleu: true } }))
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'METRICS_INCOMPATIBLE')
  assert.ok(job.error.details.warnings.length > 0)
  assert.match(job.error.message, /bleu/)
})

test('llm-evaluation (gateway): the receiver refuses a bad or stale signature and stores nothing', async () => {
  const { signWebhook } = await import('../../src/webhooks/verify.ts')
  const body = JSON.stringify({ evaluationId: 'nope', status: 'COMPLETED' })
  const stale = new Date(Date.now() - 10 * 60_000)
  const headers = (sig: string, at: Date) => ({ 'content-type': 'application/json', 'webhook-id': 'msg_test_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': sig })
  const bad = await fetch(`${svc.url}/v1/webhooks/genesys/llm-evaluations`, { method: 'POST', headers: headers('v1,AAAA', new Date()), body })
  assert.equal(bad.status, 401)
  const old = await fetch(`${svc.url}/v1/webhooks/genesys/llm-evaluations`, { method: 'POST', headers: headers(signWebhook(SIGNING_SECRET, 'msg_test_1', stale, body), stale), body })
  assert.equal(old.status, 401)
  const good = await fetch(`${svc.url}/v1/webhooks/genesys/llm-evaluations`, { method: 'POST', headers: headers(signWebhook(SIGNING_SECRET, 'msg_test_1', new Date(), body), new Date()), body })
  assert.equal(good.status, 200)
  assert.equal(((await good.json()) as { status: string }).status, 'unmatched')
})
