import { test } from 'node:test'
import assert from 'node:assert/strict'
import { call, harness, requestToken } from './helpers.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const echo = SANDBOX_FIXTURES.actions.echo
const EXECUTE = `/api/v2/integrations/actions/${echo}/execute`

test('sandbox: each injected 5xx answers with its platform code and never runs the action', async (t) => {
  const { sandbox, api } = await harness(t)
  const cases = [[500, 'internal.server.error'], [502, 'bad.gateway'], [503, 'service.unavailable'], [504, 'gateway.timeout']] as const
  for (const [status, code] of cases) {
    sandbox.setFaults({ rate500: 0, rate502: 0, rate503: 0, rate504: 0, [`rate${status}`]: 1 })
    const answer = await api('POST', EXECUTE, { message: 'hi' })
    assert.equal(answer.status, status)
    assert.equal(answer.body.code, code)
    assert.equal(answer.body.status, status)
    assert.equal(answer.body.contextId, answer.headers.get('inin-correlation-id'))
    assert.equal(answer.headers.get('inin-ratelimit-count') !== null, true)
  }
  const stats = sandbox.stats()
  assert.deepEqual(stats.actionExecutions, {})
  assert.deepEqual(stats.faults, { 500: 1, 502: 1, 503: 1, 504: 1 })
  assert.deepEqual(stats.requests['POST /api/v2/integrations/actions/:actionId/execute'], { 500: 1, 502: 1, 503: 1, 504: 1 })

  // Faults touch only the api host: tokens and admin routes stay reliable.
  assert.equal((await requestToken(sandbox.url)).status, 200)
  assert.equal((await fetch(`${sandbox.url}/__sandbox/stats`)).status, 200)
})

test('sandbox: an injected 429 carries Retry-After and counts as rate limited', async (t) => {
  const { sandbox, api } = await harness(t, { faults: { rate429: 1 } })
  const answer = await api('POST', EXECUTE, { message: 'hi' })
  assert.equal(answer.status, 429)
  assert.equal(answer.headers.get('retry-after'), '1')
  assert.equal(answer.body.code, 'too.many.requests.retry.after')
  assert.equal(answer.body.message, 'Rate limit exceeded the maximum. Retry the request in [1] seconds')
  const stats = sandbox.stats()
  assert.equal(stats.rateLimited, 1)
  assert.equal(stats.log.at(-1)?.retryAfterMs, 1000)
  assert.equal(stats.actionExecutions[echo], undefined)
})

test('sandbox: a reset fault drops the connection without answering or executing', async (t) => {
  const { sandbox, api } = await harness(t, { faults: { resetRate: 1 } })
  await assert.rejects(api('POST', EXECUTE, { message: 'hi' }), TypeError)
  const stats = sandbox.stats()
  assert.equal(stats.faults.reset, 1)
  assert.deepEqual(stats.requests['POST /api/v2/integrations/actions/:actionId/execute'], { 0: 1 })
  assert.equal(stats.log.at(-1)?.status, 0)
  assert.equal(stats.actionExecutions[echo], undefined)
  sandbox.setFaults({ resetRate: 0 })
  assert.equal((await api('POST', EXECUTE, { message: 'hi' })).status, 200)
})

test('sandbox: latency applies to every response and slowRate adds slowMs to its share', async (t) => {
  const { sandbox, api } = await harness(t, { faults: { latencyMs: 120 } })
  let started = Date.now()
  assert.equal((await api('POST', EXECUTE, { message: 'hi' })).status, 200)
  assert.ok(Date.now() - started >= 115, 'latency applied')

  sandbox.setFaults({ latencyMs: 0, slowRate: 1, slowMs: 200 })
  started = Date.now()
  assert.equal((await api('POST', EXECUTE, { message: 'hi' })).status, 200)
  assert.ok(Date.now() - started >= 195, 'slow share applied')
  assert.equal(sandbox.stats().faults.slow, 1)

  const put = await fetch(`${sandbox.url}/__sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slowRate: 0 }) })
  assert.equal((await put.json() as { slowRate: number }).slowRate, 0)
  const bad = await fetch(`${sandbox.url}/__sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rate503: 2 }) })
  assert.equal(bad.status, 400)
  assert.throws(() => sandbox.setFaults({ rate500: 0.6, rate503: 0.6 }), RangeError)
  assert.throws(() => sandbox.setFaults({ rate418: 1 } as never), /unknown fault setting\(s\): rate418/)
})

test('sandbox: fault draws are repeatable for a seed', async (t) => {
  const run = async (seed: number) => {
    const { sandbox, token } = await harness(t, { seed, faults: { rate503: 0.5 } })
    const statuses: number[] = []
    for (let i = 0; i < 24; i++) statuses.push((await call(sandbox.url, token, 'POST', EXECUTE, { message: String(i) })).status)
    return statuses
  }
  const a = await run(7)
  const b = await run(7)
  const c = await run(8)
  assert.deepEqual(a, b)
  assert.notDeepEqual(a, c)
  assert.ok(a.includes(503) && a.includes(200))
})
