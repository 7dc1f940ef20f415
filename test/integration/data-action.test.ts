import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll } from '../helpers/secrets.ts'
import { requestsTo } from '../helpers/sandbox-log.ts'

checkLogsForSecretsAfterAll()
let sandbox: Sandbox
let svc: RunningService
const { echo, failing, slow } = SANDBOX_FIXTURES.actions

let stop: () => Promise<void>
before(async () => {
  ({ sandbox, svc, stop } = await startGenesysService({}, { STEP_MAX_ATTEMPTS: '8' }))
})
after(async () => { await stop() })

const submit = (body: unknown) => api(svc.url, 'POST', '/v1/jobs/data-action', body)
async function run (body: unknown) {
  const res = await submit(body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
}
const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'
const executions = (actionId: string) => sandbox.stats().actionExecutions[actionId] ?? 0

test('data-action: a valid job succeeds with the output; the same inputs within the TTL come from cache; cacheResults false always executes', async () => {
  const before = executions(echo)
  const inputs = { message: `cache-${Date.now()}`, count: 3 }
  const first = await run({ actionId: echo, inputs })
  assert.equal(first.status, 'succeeded')
  assert.deepEqual(first.result.output, { echo: inputs })
  assert.equal(first.result.cacheHit, false)
  assert.equal(typeof first.result.latencyMs, 'number')
  const second = await run({ actionId: echo, inputs })
  assert.equal(second.result.cacheHit, true)
  assert.deepEqual(second.result.output, { echo: inputs })
  assert.equal(executions(echo) - before, 1, 'the sandbox saw one execution')

  const uncached = await run({ actionId: echo, inputs, cacheResults: false })
  const again = await run({ actionId: echo, inputs, cacheResults: false })
  assert.equal(uncached.result.cacheHit, false)
  assert.equal(again.result.cacheHit, false)
  assert.equal(executions(echo) - before, 3)
  assert.deepEqual(sandbox.stats().actionBodies[echo]?.at(-1), inputs, 'the inputs are the execute body')
})

test('data-action: each submission rule answers 400 with its own code and an actionable message', async () => {
  const big = await submit({ actionId: echo, inputs: { message: 'x'.repeat(520_000) } })
  assert.equal(big.status, 400)
  assert.equal(big.body.code, 'REQUEST_TOO_LARGE')
  assert.match(big.body.message, /at most 512000/)

  const deep = await submit({ actionId: echo, inputs: { a: { b: { c: { d: { e: { f: 1 } } } } } } })
  assert.equal(deep.body.code, 'INPUT_TOO_DEEP')
  assert.match(deep.body.message, /nested 6 levels deep; data actions accept at most 5/)
  const fiveDeep = await submit({ actionId: echo, inputs: { message: 'ok', a: { b: { c: { d: { e: 1 } } } } } })
  assert.equal(fiveDeep.status, 202, 'depth 5 is allowed')
  await api(svc.url, 'GET', `/v1/jobs/${fiveDeep.body.id}?waitSeconds=30`)

  const cycle = await submit({ actionId: echo, inputs: { message: 'x' }, actionReferences: { a: ['b'], b: ['c'], c: ['a'], d: ['a'] } })
  assert.equal(cycle.body.code, 'ACTION_REFERENCE_CYCLE')
  assert.match(cycle.body.message, /a → b → c → a/)

  for (const timeoutMs of [999, 60_001]) {
    const res = await submit({ actionId: echo, inputs: { message: 'x' }, timeoutMs })
    assert.equal(res.status, 400)
    assert.equal(res.body.code, 'TIMEOUT_OUT_OF_RANGE')
    assert.match(res.body.message, /body\.timeoutMs must be/)
  }
  const unknown = await submit({ actionId: echo, inputs: {}, retries: 3 })
  assert.equal(unknown.body.code, 'VALIDATION_ERROR')
  assert.match(unknown.body.message, /unknown field 'retries'/)
})

test('data-action: inputs violating the input contract fail the job with INPUT_CONTRACT_VIOLATION and never reach execute', async () => {
  const before = executions(echo)
  const job = await run({ actionId: echo, inputs: { count: 'three' } })
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'INPUT_CONTRACT_VIOLATION')
  assert.match(job.error.message, /missing 'message'/)
  assert.ok(Array.isArray(job.error.details) && job.error.details.length >= 2, 'every schema error is listed')
  assert.equal(executions(echo), before)
})

test('data-action: a Genesys 4xx on execute fails the job with the Genesys fields kept', async () => {
  const job = await run({ actionId: failing, inputs: {} })
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'ACTION_EXECUTION_FAILED')
  assert.equal(job.error.genesys.status, 400)
  assert.equal(job.error.genesys.code, 'BAD_REQUEST')
  assert.ok(job.error.genesys.message.length > 0)
  assert.ok(job.error.genesys.correlationId.length > 0)

  const missing = await run({ actionId: 'custom_-_00000000-0000-4000-8000-000000000000', inputs: {} })
  assert.equal(missing.error.code, 'ACTION_NOT_FOUND')
  assert.equal(missing.error.genesys.status, 404)
})

for (const storm of [{ rate429: 1 }, { rate503: 1 }] as const) {
  const name = 'rate429' in storm ? '429' : '503'
  // A 429 on execute proves Genesys did not run it; a 503 does not, so that job opts in to repeats.
  test(`data-action: a ${name} storm delays the job but does not fail it${name === '503' ? ' (retryUnknownOutcome)' : ''}`, async () => {
    const faulted = () => requestsTo(sandbox, EXECUTE_ROUTE).filter((e) => e.status === Number(name)).length
    const before = faulted()
    sandbox.setFaults(storm)
    const res = await submit({ actionId: echo, inputs: { message: `storm-${name}-${Date.now()}` }, cacheResults: false, ...(name === '503' ? { retryUnknownOutcome: true } : {}) })
    try {
      // Two executes refused, by count: the job is still under way after them.
      await eventually(async () => (faulted() - before >= 2 ? true : undefined), 30_000, `two executes answered ${name}`)
      const during = await api(svc.url, 'GET', `/v1/jobs/${res.body.id}`)
      assert.ok(['running', 'waiting'].includes(during.body.status), `still going during the storm (${during.body.status})`)
    } finally {
      sandbox.setFaults({ rate429: 0, rate503: 0 })
    }
    const done = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
    assert.equal(done.status, 'succeeded')
  })
}

test('data-action: the job record keeps what metrics need (latency, cache hit, outcome, timings)', async () => {
  const job = await run({ actionId: slow, inputs: { delayMs: 150 }, cacheResults: false, traceId: 'trace-123' })
  assert.equal(job.status, 'succeeded')
  assert.ok(job.result.latencyMs >= 150)
  assert.equal(job.result.cacheHit, false)
  assert.equal(job.result.traceId, 'trace-123')
  assert.ok(job.startedAt !== null && job.finishedAt !== null)
  const events = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events
  assert.deepEqual(events.filter((e: { type: string }) => e.type === 'step').map((e: { data: { step: string } }) => e.data.step), ['prepare', 'execute'])
})
