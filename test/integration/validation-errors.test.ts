// Errors a person can fix without reading the source (issue 15): every problem of a body at once,
// in words, with its field path and its own code.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, type RunningService } from '../helpers/service.ts'

let db: TestDatabase
let svc: RunningService
const { actions, queues } = SANDBOX_FIXTURES

before(async () => {
  db = await createTestDatabase()
  svc = await startService(undefined, { ...db.env, ROLE: 'api', GENESYS_CLIENT_ID: '' })
})
after(async () => {
  await svc.close()
  await db.drop()
})

const post = (kind: string, body: unknown) => api(svc.url, 'POST', `/v1/jobs/${kind}`, body)
const NO_REGEX = /\^|\$|\\d|\[A-Z|\{1,/

test('a body with three mistakes gets three problems in one 400: each with its path, its own code and what to do', async () => {
  const res = await post('data-action', {
    actionId: actions.echo,
    inputs: { message: 'hi' },
    timeoutMs: 5,
    cacheTtlSeconds: 0,
    labels: { 'bad key': 'x' }
  })
  assert.equal(res.status, 400)
  assert.equal(res.body.code, 'VALIDATION_ERROR', 'three fields with codes of their own: the general code on top')
  assert.deepEqual(res.body.details.problems, [
    { path: 'body.timeoutMs', code: 'TIMEOUT_OUT_OF_RANGE', message: 'body.timeoutMs must be at least 1000' },
    { path: 'body.cacheTtlSeconds', code: 'CACHE_TTL_OUT_OF_RANGE', message: 'body.cacheTtlSeconds must be at least 1' },
    { path: 'body.labels', code: 'LABEL_KEY_INVALID', message: "body.labels has a key 'bad key' that is not 1 to 63 letters, digits, '_', '.' or '-'" }
  ])
  assert.equal(res.body.message, '3 problems: ' + res.body.details.problems.map((p: { message: string }) => p.message).join('; '))
  assert.doesNotMatch(res.body.message, NO_REGEX, 'in words, no regular expression')
})

test('errors: an empty prompt is PROMPT_EMPTY, not DATASET_SIZE_INVALID; an empty dataset is DATASET_SIZE_INVALID; a bad label key is not an unknown field', async () => {
  const engine = { type: 'data-action', actionId: actions.llm }
  const empty = await post('llm-evaluation', { datasetMatrix: [{ prompt: 'fine', expectedOutput: 'x' }, { prompt: '', expectedOutput: 'x' }], engine })
  assert.equal(empty.status, 400)
  assert.equal(empty.body.code, 'PROMPT_EMPTY')
  assert.equal(empty.body.message, 'body.datasetMatrix[1].prompt must not be empty')
  const none = await post('llm-evaluation', { datasetMatrix: [], engine })
  assert.equal(none.body.code, 'DATASET_SIZE_INVALID')
  assert.equal(none.body.message, 'body.datasetMatrix must have at least 1 item')

  const label = await post('data-action', { actionId: actions.echo, inputs: {}, labels: { 'team/billing': 'x' } })
  assert.equal(label.body.code, 'LABEL_KEY_INVALID')
  assert.doesNotMatch(label.body.message, /unknown field/)
  assert.match(label.body.message, /key 'team\/billing' that is not 1 to 63 letters/)
})

test('errors: patterns, alternatives and discriminators are said in words; unknown fields name the fields there are', async () => {
  const granularity = await post('routing-evaluation', { queueIds: [queues.support], interval: { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }, granularity: 'every hour' })
  assert.equal(granularity.body.code, 'GRANULARITY_INVALID')
  assert.equal(granularity.body.message, 'body.granularity must be an ISO-8601 duration such as PT15M, PT30M, PT1H, P1D or P7D')
  const engine = await post('llm-evaluation', { datasetMatrix: [{ prompt: 'a', expectedOutput: 'b' }], engine: { type: 'openai' } })
  assert.equal(engine.body.message, 'body.engine.type must be one of: data-action, gateway')
  const noType = await post('llm-evaluation', { datasetMatrix: [{ prompt: 'a', expectedOutput: 'b' }], engine: {} })
  assert.equal(noType.body.message, 'body.engine.type is required', 'a missing tag is said once')
  const unknown = await post('data-action', { actionId: actions.echo, inputs: {}, retries: 3 })
  assert.match(unknown.body.message, /^body has an unknown field 'retries'; remove it \(the fields are actionId, inputs, actionReferences, timeoutMs, /)
  const nested = await post('llm-evaluation', { datasetMatrix: [{ prompt: 'a', expectedOutput: 'b', notes: 'x' }], engine: { type: 'gateway' } })
  assert.match(nested.body.message, /^body\.datasetMatrix\[0\] has an unknown field 'notes'; remove it \(the fields are prompt, expectedOutput, metadata\)/)
  for (const res of [granularity, engine, unknown, nested]) assert.doesNotMatch(res.body.message, NO_REGEX)
})

test('errors: a body with many problems lists every one in details and says how many more in the message', async () => {
  const rows = Array.from({ length: 120 }, () => ({ prompt: '', expectedOutput: 'x' }))
  const res = await post('llm-evaluation', { datasetMatrix: rows, engine: { type: 'gateway' } })
  assert.equal(res.status, 400)
  assert.equal(res.body.code, 'PROMPT_EMPTY', 'one rule broken many times: its own code')
  assert.equal(res.body.details.problems.length, 120)
  assert.match(res.body.message, /^120 problems: body\.datasetMatrix\[0\]\.prompt must not be empty; .*; and 70 more \(see details\)$/)
})

test('errors: 413 says the limit, 415 says to send JSON, an unknown kind lists the kinds', async () => {
  const big = await fetch(`${svc.url}/v1/jobs/data-action`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ actionId: actions.echo, inputs: { blob: 'x'.repeat(1_100_000) } })
  })
  assert.equal(big.status, 413)
  const bigBody = await big.json() as { code: string, message: string }
  assert.equal(bigBody.code, 'BODY_TOO_LARGE')
  assert.match(bigBody.message, /at most 1,048,576 bytes \(1 MiB\)/)

  const text = await fetch(`${svc.url}/v1/jobs/data-action`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })
  assert.equal(text.status, 415)
  const textBody = await text.json() as { code: string, message: string }
  assert.equal(textBody.code, 'UNSUPPORTED_MEDIA_TYPE')
  assert.equal(textBody.message, 'Send the body as JSON with the header Content-Type: application/json (this request said text/plain).')

  const kind = await post('llm-evaluations', {})
  assert.equal(kind.status, 404)
  assert.equal(kind.body.code, 'KIND_NOT_FOUND')
  assert.match(kind.body.message, /^There is no job kind 'llm-evaluations'; the kinds are data-action, custom-code, flow-execution, routing-evaluation, llm-evaluation/)
})

test('errors: fields with defaults may be left out and get their defaults, as the OpenAPI document says', async () => {
  const res = await post('data-action', { actionId: actions.echo, inputs: { message: 'hi' } })
  assert.equal(res.status, 202, JSON.stringify(res.body))
  assert.deepEqual([res.body.input.timeoutMs, res.body.input.cacheResults, res.body.input.cacheTtlSeconds, res.body.input.retryUnknownOutcome], [60_000, true, 300, false])
  const llm = await post('llm-evaluation', { datasetMatrix: [{ prompt: 'a', expectedOutput: 'b' }], engine: { type: 'gateway' } })
  assert.equal(llm.status, 202)
  assert.deepEqual(llm.body.input.metricCalculationDirectives, { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false })
  assert.deepEqual(llm.body.input.privacyMasking, { enabled: false, patterns: [] })
})
