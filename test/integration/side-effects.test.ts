import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { PlannedFault, Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, startService, waitForTerminal, type RunningService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { startGate, type Gate } from '../helpers/gate.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { requestsTo } from '../helpers/sandbox-log.ts'

/*
 * At most once for side effects (issue 12): a call that may have changed something at Genesys
 * (action execute, flow launch) is repeated only when Genesys certainly did not act on it, or when
 * the job opted in with retryUnknownOutcome. The sandbox's planned faults strike by request count:
 * `after` faults let the execute or launch run and then lose its answer.
 */
checkLogsForSecretsAfterAll()

const EXECUTE = 'POST /api/v2/integrations/actions/:actionId/execute'
const LAUNCH = 'POST /api/v2/flows/executions'
const GET_ACTION = 'GET /api/v2/integrations/actions/:actionId'
const { echo, llm, fnGreeting, forbidden } = SANDBOX_FIXTURES.actions
const executePath = (actionId: string) => `/api/v2/integrations/actions/${actionId}/execute`
/** The documented worst case: each Genesys call of a step is tried GENESYS_RETRIES + 1 times, each step STEP_MAX_ATTEMPTS times. */
const RETRIES = 2
const STEP_MAX_ATTEMPTS = 3

let db: TestDatabase
let sandbox: Sandbox
let gate: Gate
let svc: RunningService

before(async () => {
  db = await createTestDatabase()
  const started = await startTestSandbox()
  sandbox = started.sandbox
  // The api host goes through a gate the tests can shut, so a connection can be refused; tokens come straight from the sandbox.
  gate = await startGate(sandbox.url)
  svc = await startService(undefined, {
    ...db.env,
    ...started.env,
    GENESYS_API_URL: gate.url,
    GENESYS_RETRIES: String(RETRIES),
    GENESYS_RETRY_BASE_MS: '20',
    STEP_MAX_ATTEMPTS: String(STEP_MAX_ATTEMPTS)
  })
})
after(async () => {
  trackSecret(await svc.app.genesys.client.tokens.get())
  await svc.close()
  await gate.close()
  await sandbox.close()
  await db.drop()
})

/** Plans faults after checking that the routes they name exist (the sandbox refuses unknown ones). */
function plan (faults: PlannedFault[]): void {
  sandbox.planFaults(faults)
  assert.equal(sandbox.plannedFaults().length, faults.length)
}
const executions = (actionId: string) => sandbox.stats().actionExecutions[actionId] ?? 0
async function submit (kind: string, body: Record<string, unknown>): Promise<string> {
  const res = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return res.body.id
}
async function timeline (id: string): Promise<Array<{ type: string, data: Record<string, any> }>> {
  return (await api(svc.url, 'GET', `/v1/jobs/${id}/events?limit=1000`)).body.events
}
async function auditOf (id: string) {
  const records = (await api(svc.url, 'GET', `/v1/audit?jobId=${id}`)).body.items as Array<{ event: string, details: Record<string, any> }>
  return records.find((r) => r.event.startsWith('job.'))!
}
function assertUnknownOutcome (job: any, what: RegExp): void {
  assert.equal(job.status, 'failed', JSON.stringify(job))
  assert.equal(job.error.code, 'REMOTE_OUTCOME_UNKNOWN')
  assert.equal(job.error.retryable, false)
  assert.match(job.error.message, what)
  assert.match(job.error.message, /may have run/)
  assert.doesNotMatch(job.error.message, /retrying/i, 'a terminal error never says retrying')
}

for (const [fault, lost, withCorrelation] of [[500, /answered HTTP 500/, true], ['reset', /connection failed/, false], ['hang', /no answer came in time/, false]] as const) {
  test(`at most once: a data action that runs and then answers ${fault === 'hang' ? 'nothing (timeout)' : fault} is executed exactly once and fails REMOTE_OUTCOME_UNKNOWN, audited as may have run`, async () => {
    const before = executions(echo)
    plan([{ route: EXECUTE, path: executePath(echo), fault, when: 'after', times: 1 }])
    const id = await submit('data-action', { actionId: echo, inputs: { message: `once-${fault}` }, cacheResults: false, timeoutMs: 1000 })
    const job = await waitForTerminal(svc.url, id)
    assertUnknownOutcome(job, lost)
    assert.equal(executions(echo) - before, 1, 'the sandbox ran the action exactly once')
    assert.equal(sandbox.stats().faults[`after:${fault}`] !== undefined, true, 'the planned fault struck')
    if (withCorrelation) assert.ok(typeof job.error.genesys.correlationId === 'string' && job.error.genesys.correlationId.length > 0, 'Genesys\'s correlation id is kept')
    const audit = await auditOf(id)
    assert.equal(audit.event, 'job.failed')
    assert.equal(audit.details.remoteMayHaveRun, true)
    assert.equal(audit.details.error.code, 'REMOTE_OUTCOME_UNKNOWN')
    assert.match(audit.details.error.message, /may have run/)
    if (withCorrelation) assert.equal(audit.details.error.correlationId, job.error.genesys.correlationId)
  })
}

test('at most once: a Genesys Function that throws (500 after its code ran) is run once and fails REMOTE_OUTCOME_UNKNOWN', async () => {
  const before = executions(fnGreeting)
  plan([{ route: EXECUTE, path: executePath(fnGreeting), fault: 500, when: 'after', times: 1 }])
  const job = await waitForTerminal(svc.url, await submit('custom-code', { actionId: fnGreeting, inputs: { name: 'Ada' }, cache: false }))
  assertUnknownOutcome(job, /Running function action/)
  assert.equal(executions(fnGreeting) - before, 1)
})

test('at most once: a flow launch that runs and then answers 500 launches exactly once and fails REMOTE_OUTCOME_UNKNOWN', async () => {
  const before = sandbox.stats().flowLaunches.length
  plan([{ route: LAUNCH, fault: 500, when: 'after', times: 1 }])
  const id = await submit('flow-execution', { flowId: SANDBOX_FIXTURES.flows.noSchema, pollIntervalMs: 100 })
  const job = await waitForTerminal(svc.url, id)
  assertUnknownOutcome(job, /Launching flow/)
  assert.equal(sandbox.stats().flowLaunches.length - before, 1, 'one execution was launched')
  assert.equal((await auditOf(id)).details.remoteMayHaveRun, true)
})

function rows (tag: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({ prompt: `${tag} row ${i} asks`, expectedOutput: `asks ${i} row ${tag}` }))
}
const promptsSent = (prompt: string) => (sandbox.stats().actionBodies[llm] as Array<{ prompt: string }> ?? []).filter((b) => b.prompt === prompt).length

test('at most once: an LLM evaluation row whose execute outcome is unknown is an error row, executed once', async () => {
  plan([{ route: EXECUTE, path: executePath(llm), fault: 500, when: 'after', times: 1 }])
  const dataset = rows('unknown', 6)
  const job = await waitForTerminal(svc.url, await submit('llm-evaluation', { datasetMatrix: dataset, engine: { type: 'data-action', actionId: llm, concurrency: 1 } }))
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.metrics.failedRows, 1)
  const [sample] = job.result.failedRowSamples
  assert.equal(sample.error.code, 'REMOTE_OUTCOME_UNKNOWN')
  assert.match(sample.error.message, /may have run/)
  assert.equal(promptsSent(dataset[sample.row]!.prompt), 1, 'the row whose answer was lost was executed once')
  for (const row of dataset) assert.equal(promptsSent(row.prompt), 1)
})

test('retryUnknownOutcome: a data action whose answer is lost twice is repeated with backoff, each repeat on the timeline, and succeeds once the fault stops', async () => {
  const before = executions(echo)
  plan([{ route: EXECUTE, path: executePath(echo), fault: 500, when: 'after', times: 2 }])
  const id = await submit('data-action', { actionId: echo, inputs: { message: 'idempotent' }, cacheResults: false, retryUnknownOutcome: true })
  const job = await waitForTerminal(svc.url, id)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(executions(echo) - before, 3, 'the first run and two repeats')
  const events = await timeline(id)
  const repeats = events.filter((e) => e.type === 'repeat')
  assert.equal(repeats.length, 2)
  for (const r of repeats) {
    assert.equal(r.data.call, 'execute')
    assert.match(r.data.note, /repeats a call that may have completed/)
  }
  assert.equal(events.filter((e) => e.type === 'waiting' && e.data.reason === 'retry').length, 2, 'each repeat came after a backoff')
})

test('retryUnknownOutcome: a flow launch whose answer is lost is launched again and the job succeeds', async () => {
  const before = sandbox.stats().flowLaunches.length
  plan([{ route: LAUNCH, fault: 'reset', when: 'after', times: 1 }])
  const id = await submit('flow-execution', { flowId: SANDBOX_FIXTURES.flows.noSchema, pollIntervalMs: 100, retryUnknownOutcome: true })
  const job = await waitForTerminal(svc.url, id)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(sandbox.stats().flowLaunches.length - before, 2)
  assert.equal((await timeline(id)).filter((e) => e.type === 'repeat').length, 1)
})

test('retryUnknownOutcome: an LLM evaluation row whose answer is lost is executed again and no row fails', async () => {
  plan([{ route: EXECUTE, path: executePath(llm), fault: 500, when: 'after', times: 1 }])
  const dataset = rows('optin', 6)
  const id = await submit('llm-evaluation', { datasetMatrix: dataset, engine: { type: 'data-action', actionId: llm, concurrency: 1 }, retryUnknownOutcome: true })
  const job = await waitForTerminal(svc.url, id)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.metrics.failedRows, 0)
  const repeats = (await timeline(id)).filter((e) => e.type === 'repeat')
  assert.equal(repeats.length, 1)
  assert.equal(promptsSent(dataset[repeats[0]!.data.item]!.prompt), 2, 'the row was sent twice, as the job asked')
})

test('at most once: a 429 on execute is repeated (Genesys did not run it), exactly 1 execution in the end', async () => {
  const before = executions(echo)
  const beforeLog = sandbox.stats().log.length
  plan([{ route: EXECUTE, path: executePath(echo), fault: 429, when: 'before', times: 2 }])
  const job = await waitForTerminal(svc.url, await submit('data-action', { actionId: echo, inputs: { message: 'throttled' }, cacheResults: false }))
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(executions(echo) - before, 1)
  const executes = requestsTo(sandbox, EXECUTE, sandbox.stats().log.slice(beforeLog))
  assert.deepEqual(executes.map((e) => e.status), [429, 429, 200])
})

test('at most once: a connection refused before sending is repeated, exactly 1 execution in the end (data action and flow launch)', async () => {
  // The data action's definition is cached after one run, so the next job's first request is its execute.
  await waitForTerminal(svc.url, await submit('data-action', { actionId: echo, inputs: { message: 'warm' } }))
  const refused = () => svc.logs.filter((l) => l.includes('"code":"ECONNREFUSED"') && l.includes('integrations.executeAction')).length
  const refusedBefore = refused()
  const before = executions(echo)
  await gate.shut()
  const id = await submit('data-action', { actionId: echo, inputs: { message: 'refused' }, cacheResults: false })
  await eventually(async () => (refused() > refusedBefore ? true : undefined), 30_000, 'a refused connection')
  await gate.open()
  const job = await waitForTerminal(svc.url, id)
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(executions(echo) - before, 1)

  const launchesBefore = sandbox.stats().flowLaunches.length
  const launchRefused = () => svc.logs.filter((l) => l.includes('"code":"ECONNREFUSED"') && l.includes('flows.launchExecution')).length
  const launchRefusedBefore = launchRefused()
  // Shut right after the flow is read, so the launch is the request that finds the door closed.
  const shut = gate.shutAfter('GET', '/api/v2/flows')
  const flowJob = await submit('flow-execution', { flowId: SANDBOX_FIXTURES.flows.noSchema, pollIntervalMs: 100 })
  await shut
  await eventually(async () => (launchRefused() > launchRefusedBefore ? true : undefined), 30_000, 'a refused launch')
  await gate.open()
  const flow = await waitForTerminal(svc.url, flowJob)
  assert.equal(flow.status, 'succeeded', JSON.stringify(flow.error))
  assert.equal(sandbox.stats().flowLaunches.length - launchesBefore, 1)
})

test(`retry budget: a GET during a run of 503s costs at most (GENESYS_RETRIES + 1) × STEP_MAX_ATTEMPTS = ${(RETRIES + 1) * STEP_MAX_ATTEMPTS} calls`, async () => {
  const beforeLog = sandbox.stats().log.length
  // A fresh action id the definition cache has never seen: the job's first call is the GET.
  const unseen = 'custom_-_0b1d7e52-2f4c-4c1a-9d3e-7a8b9c0d1e2f'
  plan([{ route: GET_ACTION, path: `/api/v2/integrations/actions/${unseen}`, fault: 503, when: 'before', times: 1000 }])
  const job = await waitForTerminal(svc.url, await submit('data-action', { actionId: unseen, inputs: {} }))
  sandbox.planFaults([])
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'GENESYS_UNAVAILABLE')
  assert.match(job.error.message, /gave up after 3 tries/)
  assert.doesNotMatch(job.error.message, /retrying/i)
  const gets = requestsTo(sandbox, GET_ACTION, sandbox.stats().log.slice(beforeLog))
  assert.equal(gets.length, (RETRIES + 1) * STEP_MAX_ATTEMPTS)
  assert.ok(gets.every((e) => e.status === 503))
})

test('permissions: an execute Genesys refuses with 403 fails GENESYS_PERMISSION_DENIED at once, with Genesys\'s body kept and nothing repeated', async () => {
  const beforeLog = sandbox.stats().log.length
  const job = await waitForTerminal(svc.url, await submit('data-action', { actionId: forbidden, inputs: {} }))
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'GENESYS_PERMISSION_DENIED')
  assert.equal(job.error.genesys.status, 403)
  assert.equal(job.error.genesys.code, 'missing.any.permissions')
  assert.match(job.error.message, /integrations:action:execute/)
  assert.equal(requestsTo(sandbox, EXECUTE, sandbox.stats().log.slice(beforeLog)).length, 1)
})
