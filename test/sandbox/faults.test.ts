import { test } from 'node:test'
import assert from 'node:assert/strict'
import { call, harness, requestToken, waitFor } from './helpers.ts'
import { answersTo } from '../helpers/sandbox-log.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const echo = SANDBOX_FIXTURES.actions.echo
const EXECUTE = `/api/v2/integrations/actions/${echo}/execute`
const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'

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
  assert.deepEqual(answersTo(sandbox, EXECUTE_ROUTE), { 500: 1, 502: 1, 503: 1, 504: 1 })

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
  assert.deepEqual(answersTo(sandbox, EXECUTE_ROUTE), { 0: 1 })
  assert.equal(stats.log.at(-1)?.status, 0)
  assert.equal(stats.actionExecutions[echo], undefined)
  sandbox.setFaults({ resetRate: 0 })
  assert.equal((await api('POST', EXECUTE, { message: 'hi' })).status, 200)
})

/** Sends an execute the sandbox will hold; resolves once the sandbox has it, with a way to give up on it. */
async function heldExecute (sandbox: Awaited<ReturnType<typeof harness>>['sandbox'], token: string, counter: 'latency' | 'slow') {
  const controller = new AbortController()
  let answered = false
  const request = fetch(`${sandbox.url}${EXECUTE}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'held' }),
    signal: controller.signal
  }).then(() => { answered = true })
  await waitFor(() => sandbox.stats().faults[counter] === 1, `the sandbox to hold the request (${counter})`)
  return { answered: () => answered, giveUp: async () => { controller.abort(); await assert.rejects(request, /abort/i) } }
}

// Latency is checked by order, never timed: a request held for ten minutes is still unanswered
// when a later request has its answer, however busy the machine.
test('sandbox: latency holds every response and slowRate adds slowMs to its share, before the handler runs', async (t) => {
  const { sandbox, api, token } = await harness(t, { faults: { latencyMs: 600_000 } })
  const delayed = await heldExecute(sandbox, token, 'latency')
  sandbox.setFaults({ latencyMs: 0 })
  assert.equal((await api('POST', EXECUTE, { message: 'quick' })).status, 200)
  assert.equal(delayed.answered(), false, 'latency applied: the earlier request is still held')
  assert.deepEqual(sandbox.stats().actionBodies[echo], [{ message: 'quick' }], 'a held request has not reached its handler')
  await delayed.giveUp()

  sandbox.setFaults({ slowRate: 1, slowMs: 600_000 })
  const slow = await heldExecute(sandbox, token, 'slow')
  sandbox.setFaults({ slowRate: 0 })
  assert.equal((await api('POST', EXECUTE, { message: 'quick again' })).status, 200)
  assert.equal(slow.answered(), false, 'slow share applied')
  assert.equal(sandbox.stats().faults.slow, 1)
  await slow.giveUp()

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

test('sandbox: a planned fault after the handler lets the execute run, then answers 500 with the platform body, resets, or never answers', async (t) => {
  const { sandbox, api } = await harness(t)
  const route = 'POST /api/v2/integrations/actions/:actionId/execute'
  sandbox.planFaults([{ route, path: EXECUTE, fault: 500, when: 'after', times: 1 }])
  const lost = await api('POST', EXECUTE, { message: 'ran' })
  assert.equal(lost.status, 500)
  assert.equal(lost.body.code, 'internal.server.error')
  assert.equal(lost.body.contextId, lost.headers.get('inin-correlation-id'))
  assert.equal(sandbox.stats().actionExecutions[echo], 1, 'the action ran before its answer was replaced')
  assert.equal((await api('POST', EXECUTE, { message: 'again' })).status, 200, 'times: 1 strikes once')

  sandbox.planFaults([{ route, path: EXECUTE, fault: 'reset', when: 'after', times: 1 }])
  await assert.rejects(api('POST', EXECUTE, { message: 'reset' }), TypeError)
  assert.equal(sandbox.stats().actionExecutions[echo], 3)

  sandbox.planFaults([{ route, path: EXECUTE, fault: 'hang', when: 'after', times: 1 }])
  const giveUp = new AbortController()
  const hung = fetch(`${sandbox.url}${EXECUTE}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${(await requestToken(sandbox.url)).body.access_token as string}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'hang' }),
    signal: giveUp.signal
  })
  let answered = false
  void hung.then(() => { answered = true }, () => {})
  // The fault is counted once the handler has run and the answer is being held.
  await waitFor(() => sandbox.stats().faults['after:hang'] === 1, 'the hang to strike')
  assert.equal((await api('POST', EXECUTE, { message: 'after the hang' })).status, 200)
  assert.equal(answered, false, 'no answer comes while a later request is answered')
  giveUp.abort()
  await assert.rejects(hung, /abort/i)
  assert.equal(sandbox.stats().actionExecutions[echo], 5)
  assert.deepEqual(sandbox.stats().faults, { 'after:500': 1, 'after:reset': 1, 'after:hang': 1 })
  assert.deepEqual(sandbox.plannedFaults(), [])
})

test('sandbox: a planned fault before the handler strikes by count and nothing runs; a plan naming an unknown route is refused', async (t) => {
  const { sandbox, api } = await harness(t)
  sandbox.planFaults([{ route: 'POST /api/v2/integrations/actions/:actionId/execute', fault: 503, when: 'before', times: 2 }])
  assert.equal((await api('POST', EXECUTE, { message: 'a' })).status, 503)
  assert.equal((await api('POST', EXECUTE, { message: 'b' })).status, 503)
  assert.equal((await api('POST', EXECUTE, { message: 'c' })).status, 200)
  assert.equal(sandbox.stats().actionExecutions[echo], 1)
  assert.throws(() => sandbox.planFaults([{ route: 'POST /api/v2/integrations/actions/:id/execute', fault: 500, when: 'after', times: 1 }]), /not a sandbox route; routes: .*POST \/api\/v2\/integrations\/actions\/:actionId\/execute/)
  const refused = await fetch(`${sandbox.url}/__sandbox/faults/plan`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ route: 'GET /nowhere', fault: 500, when: 'after', times: 1 }]) })
  assert.equal(refused.status, 400)
})

test('sandbox: an action the client lacks permission for answers 403 with the platform ErrorBody and runs nothing', async (t) => {
  const { sandbox, api } = await harness(t)
  const forbidden = `/api/v2/integrations/actions/${SANDBOX_FIXTURES.actions.forbidden}/execute`
  const answer = await api('POST', forbidden, {})
  assert.equal(answer.status, 403)
  // Reference §9: ErrorBody { message, code, status, messageParams, contextId, details, errors }.
  assert.equal(answer.body.status, 403)
  assert.equal(answer.body.code, 'missing.any.permissions')
  assert.match(answer.body.message, /integrations:action:execute/)
  assert.equal(answer.body.contextId, answer.headers.get('inin-correlation-id'))
  assert.deepEqual(answer.body.errors, [])
  assert.deepEqual(sandbox.stats().actionExecutions, {})
})
