import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { harness, receiver, requestToken, waitFor } from './helpers.ts'
import { SANDBOX_FIXTURES, type SandboxStats } from '../../src/sandbox/index.ts'

const EXECUTE = `/api/v2/integrations/actions/${SANDBOX_FIXTURES.actions.echo}/execute`
const json = (method: string, body: unknown) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('sandbox: stats count requests by route pattern and status, and admin routes stay out of them', async (t) => {
  const { sandbox, api, token } = await harness(t)
  await api('POST', EXECUTE, { message: 'a' })
  await api('POST', EXECUTE, { message: 'b' })
  await api('POST', EXECUTE, {})
  await api('GET', '/api/v2/nothing/here')
  await fetch(`${sandbox.url}/__sandbox/stats`)
  await fetch(`${sandbox.url}/__sandbox/faults`, json('PUT', { latencyMs: 0 }))

  const response = await fetch(`${sandbox.url}/__sandbox/stats`)
  const stats = await response.json() as SandboxStats
  assert.deepEqual(stats, sandbox.stats())
  assert.deepEqual(stats.requests, {
    'POST /oauth/token': { 200: 1 },
    'POST /api/v2/integrations/actions/:actionId/execute': { 200: 2, 400: 1 },
    'GET (unmatched)': { 404: 1 }
  })
  assert.deepEqual(stats.actionExecutions, { [SANDBOX_FIXTURES.actions.echo]: 2 })
  assert.deepEqual(stats.actionBodies[SANDBOX_FIXTURES.actions.echo], [{ message: 'a' }, { message: 'b' }])
  assert.equal(stats.maxConcurrentExecutions[SANDBOX_FIXTURES.actions.echo], 1)
  assert.equal(stats.log.length, 5)
  assert.deepEqual(stats.log.map((e) => e.status), [200, 200, 200, 400, 404])
  assert.equal(stats.log[1].token, token.slice(0, 8))
  assert.equal(stats.log[0].token, '')
  for (const key of ['tokenRequests', 'tokensIssued', 'evaluationsCreated', 'rateLimited', 'webhooksDropped'] as const) assert.equal(typeof stats[key], 'number', key)
  for (const key of ['flowLaunches', 'aggregationTriggers', 'webhookDeliveries', 'log'] as const) assert.ok(Array.isArray(stats[key]), key)

  const notFound = await api('GET', '/api/v2/nothing/here')
  assert.equal(notFound.body.code, 'not.found')
  assert.equal(notFound.body.status, 404)

  assert.equal((await fetch(`${sandbox.url}/__sandbox/reset`, { method: 'POST' })).status, 204)
  const cleared = sandbox.stats()
  assert.deepEqual(cleared.requests, {})
  assert.deepEqual(cleared.log, [])
  assert.equal(cleared.tokensIssued, 0)
  assert.equal((await api('POST', EXECUTE, { message: 'still works' })).status, 200, 'tokens survive a stats reset')
  sandbox.resetStats()
  assert.deepEqual(sandbox.stats().actionExecutions, {})
})

test('sandbox: admin routes change faults, webhooks and validate their bodies', async (t) => {
  const hook = await receiver(t)
  const { sandbox, api } = await harness(t)
  const faults = await (await fetch(`${sandbox.url}/__sandbox/faults`, json('PUT', { rate503: 1 }))).json() as Record<string, number>
  assert.equal(faults.rate503, 1)
  assert.equal(faults.rate500, 0)
  assert.equal((await api('POST', EXECUTE, { message: 'x' })).status, 503)
  await fetch(`${sandbox.url}/__sandbox/faults`, json('PUT', { rate503: 0 }))
  assert.equal((await fetch(`${sandbox.url}/__sandbox/faults`, json('PUT', [1]))).status, 400)

  assert.equal((await fetch(`${sandbox.url}/__sandbox/webhooks`, json('PUT', { flowEventsUrl: hook.url, flowEventsSecret: 'abc' }))).status, 204)
  await api('POST', '/api/v2/flows/executions', { flowId: SANDBOX_FIXTURES.flows.noSchema })
  // The default progress runs the flow's two nodes at launch: enter, exit, enter, exit, complete.
  const events = await hook.until(5)
  assert.equal(events[0].headers['x-webhook-secret'], 'abc')
  assert.equal((await fetch(`${sandbox.url}/__sandbox/webhooks`, json('PUT', { flowEventsUrl: 5 }))).status, 400)
  assert.equal((await fetch(`${sandbox.url}/__sandbox/evaluations/running`, json('POST', { count: -1 }))).status, 400)
  assert.equal((await fetch(`${sandbox.url}/__sandbox/limits`, json('PUT', 'nope'))).status, 400)
  assert.equal((await requestToken(sandbox.url)).status, 200)

  const progress = await fetch(`${sandbox.url}/__sandbox/progress`, json('PUT', { flowPollsPerNode: null, evaluationRunningPolls: 2 }))
  assert.deepEqual(await progress.json(), { analyticsQueuedPolls: 1, analyticsPendingPolls: 1, flowUnknownPolls: 0, flowPollsPerNode: null, evaluationQueuedPolls: 0, evaluationRunningPolls: 2 })
  const badProgress = await fetch(`${sandbox.url}/__sandbox/progress`, json('PUT', { flowNodeMs: 10 }))
  assert.equal(badProgress.status, 400)
  assert.match((await badProgress.json() as { message: string }).message, /unknown progress setting\(s\): flowNodeMs/)
  assert.equal((await fetch(`${sandbox.url}/__sandbox/progress`, json('PUT', { flowUnknownPolls: 1.5 }))).status, 400)
})

test('sandbox: routes() lists every route the request log can name, and the admin route serves the same list', async (t) => {
  const { sandbox } = await harness(t)
  const routes = sandbox.routes()
  for (const route of ['POST /oauth/token', 'POST /api/v2/integrations/actions/:actionId/execute', 'GET /api/v2/flows/executions/:executionId', 'GET /api/v2/analytics/conversations/aggregates/jobs/:jobId', 'GET /api/v2/ai/llm/evaluations/:id']) {
    assert.ok(routes.includes(route), route)
  }
  assert.ok(!routes.includes('GET /api/v2/flows/executions/:id'), 'a misspelt route is not there')
  assert.ok(routes.every((r) => !r.includes('__sandbox')), 'admin routes are never logged')
  assert.deepEqual(routes, routes.toSorted())
  assert.deepEqual(await (await fetch(`${sandbox.url}/__sandbox/routes`)).json(), routes)
})

test('sandbox: npm run sandbox prints its URL and credentials and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/sandbox/main.ts')], { env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => { output += chunk })
  const line = await waitFor(() => output.includes('\n') && output, 'the banner')
  const match = /listening on (http:\/\/127\.0\.0\.1:\d+) \(client id: sandbox-client, client secret: sandbox-secret\)/.exec(line)
  assert.ok(match !== null, line)
  assert.equal((await requestToken(match[1])).status, 200)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
})
