import { test } from 'node:test'
import assert from 'node:assert/strict'
import { call, harness, requestToken, UUID } from './helpers.ts'
import { manualClock } from '../helpers/manual-clock.ts'
import { answersTo, requestsTo } from '../helpers/sandbox-log.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const ACTION = `/api/v2/integrations/actions/${SANDBOX_FIXTURES.actions.echo}`

test('sandbox: every api response carries the correlation id and inin-ratelimit headers', async (t) => {
  const clock = manualClock()
  const { api } = await harness(t, { now: clock.now, rateLimit: { limit: 50, windowMs: 60_000 } })
  const first = await api('GET', ACTION)
  clock.advance(1500)
  const second = await api('GET', '/api/v2/integrations/actions/custom_-_missing')
  assert.match(first.headers.get('inin-correlation-id') ?? '', UUID)
  assert.notEqual(first.headers.get('inin-correlation-id'), second.headers.get('inin-correlation-id'))
  assert.equal(second.status, 404)
  assert.equal(first.headers.get('inin-ratelimit-count'), '1')
  assert.equal(second.headers.get('inin-ratelimit-count'), '2')
  assert.equal(first.headers.get('inin-ratelimit-allowed'), '50')
  assert.equal(first.headers.get('inin-ratelimit-reset'), '60')
  assert.equal(second.headers.get('inin-ratelimit-reset'), '59', 'whole seconds, rounded up: 58.5 s left')
})

test('sandbox: over the per-token limit the answer is 429 with Retry-After and the platform body', async (t) => {
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, rateLimit: { limit: 3, windowMs: 5_000 } })
  for (let i = 0; i < 3; i++) assert.equal((await api('GET', ACTION)).status, 200)
  clock.advance(600)
  const limited = await api('GET', ACTION)
  assert.equal(limited.status, 429)
  const retryAfter = Number(limited.headers.get('retry-after'))
  assert.equal(retryAfter, 5, '4.4 s left in the window, in whole seconds rounded up')
  assert.equal(limited.body.code, 'too.many.requests.retry.after')
  assert.equal(limited.body.status, 429)
  assert.equal(limited.body.message, `Rate limit exceeded the maximum. Retry the request in [${retryAfter}] seconds`)
  assert.equal(limited.body.contextId, limited.headers.get('inin-correlation-id'))
  assert.equal(limited.headers.get('inin-ratelimit-count'), '3')
  assert.equal(limited.headers.get('inin-ratelimit-reset'), String(retryAfter))

  // Another token has its own window.
  const other = (await requestToken(sandbox.url)).body.access_token as string
  assert.equal((await call(sandbox.url, other, 'GET', ACTION)).status, 200)

  const stats = sandbox.stats()
  assert.equal(stats.rateLimited, 1)
  assert.equal(answersTo(sandbox, 'GET /api/v2/integrations/actions/:actionId')['429'], 1)
  const entry = stats.log.find((e) => e.status === 429)
  assert.ok(entry !== undefined)
  assert.equal(entry.retryAfterMs, retryAfter * 1000)
  assert.equal(entry.route, 'GET /api/v2/integrations/actions/:actionId')
  assert.equal(entry.token.length, 8)
  assert.ok(stats.log.every((e, i) => i === 0 || e.at >= stats.log[i - 1].at))
})

test('sandbox: a window shorter than a second reopens on time although Retry-After says 1', async (t) => {
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, rateLimit: { limit: 2, windowMs: 150 } })
  await api('GET', ACTION)
  await api('GET', ACTION)
  const limited = await api('GET', ACTION)
  assert.equal(limited.status, 429)
  assert.equal(limited.headers.get('retry-after'), '1')
  assert.equal(limited.headers.get('inin-ratelimit-reset'), '1')
  clock.advance(149)
  assert.equal((await api('GET', ACTION)).status, 429, 'still the same window 149 ms on')
  clock.advance(1)
  const reopened = await api('GET', ACTION)
  assert.equal(reopened.status, 200)
  assert.equal(reopened.headers.get('inin-ratelimit-count'), '1')
  const windows = requestsTo(sandbox, 'GET /api/v2/integrations/actions/:actionId').map((e) => `${e.status}@${e.rateWindow}`)
  assert.deepEqual(windows, ['200@1', '200@1', '429@1', '429@1', '200@2'], 'the log says which window each request fell in')

  // Changing the limit starts every window afresh.
  sandbox.setRateLimit({ limit: 1, windowMs: 60_000 })
  assert.equal((await api('GET', ACTION)).headers.get('inin-ratelimit-allowed'), '1')
  assert.equal((await api('GET', ACTION)).status, 429)
  const put = await fetch(`${sandbox.url}/__sandbox/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limit: 10, windowMs: 1000 }) })
  assert.deepEqual(await put.json(), { limit: 10, windowMs: 1000 })
  assert.equal((await api('GET', ACTION)).status, 200)
  const invalid = await fetch(`${sandbox.url}/__sandbox/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limit: 0, windowMs: 1000 }) })
  assert.equal(invalid.status, 400)
})
