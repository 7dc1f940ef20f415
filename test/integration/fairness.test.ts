// Issue 18, item 1: fair sharing of the Genesys budget. One team's big job must not make another
// team's small one wait behind all of its requests; a job's priority weighs its turns within its
// team. Driven by request counts: the service's pacer is slow on purpose (a low rate limit), so the
// big jobs' requests fill its queue, and the order in which requests reach the sandbox is counted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { api, eventually, waitForTerminal } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { executionsOf, requestsTo } from '../helpers/sandbox-log.ts'

checkLogsForSecretsAfterAll()
const { llm } = SANDBOX_FIXTURES.actions
const keys = { a: 'fair-team-a-key-0123456789abcdef', b: 'fair-team-b-key-0123456789abcdef' }
Object.values(keys).forEach(trackSecret)
const API_KEYS = JSON.stringify([
  { name: 'reporting-svc', key: keys.a, team: 'reporting', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'support-bot', key: keys.b, team: 'support', scopes: ['jobs:read', 'jobs:write'] }
])
const as = (key: string) => ({ authorization: `Bearer ${key}` })

/** An LLM evaluation of `rows` rows through the sandbox model, `concurrency` rows in flight: its requests fill the pacer's queue. */
const evaluation = (tag: string, rows: number, priority?: string) => ({
  datasetMatrix: Array.from({ length: rows }, (_, i) => ({ prompt: `${tag} row ${i}`, expectedOutput: `${i} row ${tag}` })),
  engine: { type: 'data-action', actionId: llm, concurrency: 10 },
  ...(priority === undefined ? {} : { priority })
})
const promptOf = (body: Record<string, unknown>) => String(body.prompt)

test("fairness: while team A's big LLM evaluation fills the Genesys queue, team B's one-call data-action job is executed after at most 4 of A's requests (in arrival order it would wait behind every queued one)", async () => {
  // 60 a minute: one request a second, so the evaluation's ten rows in flight keep about nine waiting.
  const { sandbox, svc, stop } = await startGenesysService({}, { API_KEYS, GENESYS_RATE_LIMIT_PER_MINUTE: '60' })
  try {
    const pacer = svc.app.genesys.client.pacer
    const big = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', evaluation('bulk', 1000), as(keys.a))
    assert.equal(big.status, 202, JSON.stringify(big.body))
    assert.equal(big.body.priority, 'normal', 'a submission without a priority is normal')
    const waitingAtSubmit = await eventually(async () => (pacer.waiting >= 8 ? pacer.waiting : undefined), 30_000, "the evaluation's requests to fill the pacer's queue")
    const seenBefore = executionsOf(sandbox, llm).length

    const question = 'support asks once'
    const small = await api(svc.url, 'POST', '/v1/jobs/data-action', { actionId: llm, inputs: { prompt: question }, cacheResults: false }, as(keys.b))
    assert.equal(small.status, 202, JSON.stringify(small.body))
    const done = await waitForTerminal(svc.url, small.body.id, 60_000, as(keys.b))
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error))
    assert.equal(done.team, 'support')

    const executions = executionsOf(sandbox, llm)
    // The filters can match: B's question reached the sandbox exactly once, A's rows many times.
    const bAt = executions.findIndex((body) => promptOf(body) === question)
    assert.equal(executions.filter((body) => promptOf(body) === question).length, 1, "team B's execution is in the sandbox's record once")
    assert.ok(executions.filter((body) => promptOf(body).startsWith('bulk row ')).length >= seenBefore, "team A's rows are in it too")
    // B's action lookup (its first Genesys request) is the only GET of the action: A's rows never read it.
    assert.equal(requestsTo(sandbox, 'GET /api/v2/integrations/actions/:actionId').length, 1)
    const aBetween = executions.slice(seenBefore, bAt).filter((body) => promptOf(body).startsWith('bulk row ')).length
    assert.ok(aBetween <= 4, `between B's submission and B's execution ${aBetween} of A's requests reached Genesys (at most 4: one turn each for B's two requests, and one more each for the database writes in between); ${waitingAtSubmit} of A's were waiting when B was submitted`)

    const cancel = await api(svc.url, 'POST', `/v1/jobs/${big.body.id}/cancel`, undefined, as(keys.a))
    assert.ok(cancel.status === 200 || cancel.status === 202, JSON.stringify(cancel.body))
    assert.equal((await waitForTerminal(svc.url, big.body.id, 60_000, as(keys.a))).status, 'cancelled')
  } finally {
    await stop()
  }
})

test('fairness: a job may carry priority "high"|"normal"|"low": within a team, a high-priority evaluation gets four of its requests sent for a low one\'s one while both wait', async () => {
  // 300 a minute, Genesys's own limit: a request every 200 ms.
  const { sandbox, svc, stop } = await startGenesysService({}, { API_KEYS, GENESYS_RATE_LIMIT_PER_MINUTE: '300' })
  try {
    const pacer = svc.app.genesys.client.pacer
    const high = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', evaluation('urgent', 1000, 'high'), as(keys.a))
    const low = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', evaluation('backfill', 1000, 'low'), as(keys.a))
    assert.equal(high.status, 202, JSON.stringify(high.body))
    assert.equal(low.status, 202, JSON.stringify(low.body))
    assert.equal(high.body.priority, 'high')
    assert.equal((await api(svc.url, 'GET', `/v1/jobs/${low.body.id}`, undefined, as(keys.a))).body.priority, 'low', 'the priority is returned on GET')

    const sent = () => executionsOf(sandbox, llm).map(promptOf)
    // Both have requests waiting (each runs ten rows at once) before the turns are counted.
    await eventually(async () => {
      const prompts = sent()
      return pacer.waiting >= 15 && prompts.some((p) => p.startsWith('urgent ')) && prompts.some((p) => p.startsWith('backfill ')) ? true : undefined
    }, 30_000, 'both evaluations to have requests sent and waiting')
    const from = sent().length
    const turns = await eventually(async () => { const prompts = sent(); return prompts.length >= from + 25 ? prompts.slice(from, from + 25) : undefined }, 60_000, '25 more executions')
    const highTurns = turns.filter((p) => p.startsWith('urgent ')).length
    const lowTurns = turns.filter((p) => p.startsWith('backfill ')).length
    assert.equal(highTurns + lowTurns, 25, 'the filters match every execution of the two jobs')
    assert.ok(highTurns >= 3 * lowTurns && lowTurns >= 3, `of 25 requests sent while both waited, high had ${highTurns} and low ${lowTurns} (weights 4 : 1, so about 20 : 5; low is not starved)`)

    for (const job of [high.body, low.body]) await api(svc.url, 'POST', `/v1/jobs/${job.id}/cancel`, undefined, as(keys.a))
    for (const job of [high.body, low.body]) assert.equal((await waitForTerminal(svc.url, job.id, 60_000, as(keys.a))).status, 'cancelled')
  } finally {
    await stop()
  }
})

test('fairness: a priority other than high, normal or low is refused with the values it may take', async () => {
  const { svc, stop } = await startGenesysService({}, { API_KEYS })
  try {
    const res = await api(svc.url, 'POST', '/v1/jobs/data-action', { actionId: llm, inputs: { prompt: 'x' }, priority: 'urgent' }, as(keys.b))
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.code, 'PRIORITY_INVALID')
    for (const value of ['high', 'normal', 'low']) assert.ok(JSON.stringify(res.body).includes(value), `the answer names ${value}: ${JSON.stringify(res.body)}`)
  } finally {
    await stop()
  }
})
