import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { sha256Hex } from '../../src/canonical.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, type RunningService } from '../helpers/service.ts'
import { SANDBOX_CLIENT, startGenesysService } from '../helpers/genesys-env.ts'
import { call, requestToken } from '../sandbox/helpers.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { requestsTo } from '../helpers/sandbox-log.ts'

checkLogsForSecretsAfterAll()
const WEBHOOK_SECRET = 'flow-events-shared-secret-7d2c9a'
trackSecret(WEBHOOK_SECRET)
let sandbox: Sandbox
let svc: RunningService
const flows = SANDBOX_FIXTURES.flows

let stop: () => Promise<void>
before(async () => {
  // The default progress: a flow runs all its nodes when launched and its node events go out one after another.
  ({ sandbox, svc, stop } = await startGenesysService({}, { WEBHOOK_SECRET }))
  sandbox.setWebhooks({ flowEventsUrl: `${svc.url}/v1/webhooks/genesys/flow-events`, flowEventsSecret: WEBHOOK_SECRET })
})
after(async () => { await stop() })

const customer = [{ name: 'Flow.customerId', value: 'C-1001' }]
const submit = (body: Record<string, unknown>) => api(svc.url, 'POST', '/v1/jobs/flow-execution', { pollIntervalMs: 100, ...body })
async function run (body: Record<string, unknown>) {
  const res = await submit(body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
}
const timeline = async (id: string) => (await api(svc.url, 'GET', `/v1/jobs/${id}/events?limit=1000`)).body.events as Array<{ type: string, data: Record<string, any> }>
const FLOW_LIST = 'GET /api/v2/flows'
const FLOW_BY_ID = 'GET /api/v2/flows/:flowId'
const EXECUTION_BY_ID = 'GET /api/v2/flows/executions/:executionId'
const launchesFor = (jobId: string) => sandbox.stats().flowLaunches.filter((l) => (l.body as { inputData?: Record<string, unknown> }).inputData?.['Flow.orchestratorJobId'] === jobId)

test('flow-execution: a workflow that completes succeeds with its outputData; inputData carries every variable and the job id', async () => {
  const variables = [...customer, { name: 'Flow.count', value: 3 }, { name: 'flag', value: true }, { name: 'Flow.items', value: ['a', 'b'] }, { name: 'Flow.meta', value: { k: 'v' } }]
  const job = await run({ flowId: flows.completes, variables, name: 'happy path' })
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.outputData['Flow.result'], 'ok')
  assert.equal(job.result.outputData['Flow.echo'], 'C-1001')
  assert.match(job.result.inputSha256, /^[0-9a-f]{64}$/)
  assert.equal(typeof job.result.latencyMs, 'number')
  const [launch] = launchesFor(job.id)
  assert.ok(launch !== undefined)
  assert.deepEqual((launch.body as { inputData: unknown }).inputData, {
    'Flow.customerId': 'C-1001', 'Flow.count': 3, flag: true, 'Flow.items': ['a', 'b'], 'Flow.meta': { k: 'v' }, 'Flow.orchestratorJobId': job.id
  })
  assert.equal((launch.body as { name: string }).name, 'happy path')
})

test('flow-execution: FAILED, ERROR and TERMINATED fail the job with the flow error info kept', async () => {
  for (const [flowId, code] of [[flows.fails, 'FLOW_FAILED'], [flows.errors, 'FLOW_ERROR'], [flows.terminated, 'FLOW_TERMINATED']] as const) {
    const job = await run({ flowId, variables: [] })
    assert.equal(job.status, 'failed')
    assert.equal(job.error.code, code)
    assert.ok(job.error.details.flowExecutionId.length > 0)
    assert.ok('flowErrorInfo' in job.error.details)
  }
  const failed = await run({ flowId: flows.fails, variables: [] })
  assert.ok(failed.error.details.flowErrorInfo !== null, 'FAILED carries flowErrorInfo')
})

test('flow-execution: validation answers 400 per rule', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ variables: [{ name: `Flow.${'x'.repeat(60)}`, value: 1 }] }, 'VARIABLE_NAME_TOO_LONG'],
    [{ variables: [{ name: '9lives', value: 1 }] }, 'VARIABLE_NAME_INVALID'],
    [{ variables: [{ name: 'Flow.a-b', value: 1 }] }, 'VARIABLE_NAME_INVALID'],
    [{ variables: [{ name: 'Flow.note', value: 'x'.repeat(1025) }] }, 'VARIABLE_VALUE_TOO_LONG'],
    [{ variables: [{ name: 'Flow.nothing', value: null }] }, 'VARIABLE_TYPE_UNSUPPORTED'],
    [{ variables: [], pollIntervalMs: 99 }, 'POLL_INTERVAL_OUT_OF_RANGE']
  ]
  for (const [body, code] of cases) {
    const res = await submit({ flowId: flows.completes, ...body })
    assert.equal(res.status, 400, code)
    assert.equal(res.body.code, code)
    assert.ok(res.body.message.length > 20)
  }
  const longest = await submit({ flowId: flows.noSchema, variables: [{ name: 'Flow.note', value: 'x'.repeat(1024) }] })
  assert.equal(longest.status, 202)
  await api(svc.url, 'GET', `/v1/jobs/${longest.body.id}?waitSeconds=30`)
})

test('flow: the schema check works when GET /flows/{id} carries no schema', async () => {
  // The documented GET /api/v2/flows/{flowId} answers the flow without its schemas.
  const { body: { access_token: token } } = await requestToken(sandbox.url, SANDBOX_CLIENT.id, SANDBOX_CLIENT.secret)
  const byId = await call(sandbox.url, token, 'GET', `/api/v2/flows/${flows.completes}`)
  assert.equal(byId.status, 200)
  assert.equal(byId.body.publishedVersion.id, '3.0')
  assert.equal(byId.body.publishedVersion.inputSchema, undefined)
  assert.equal(byId.body.inputSchema, undefined)
  // The list call carries it when asked to (these two calls also put both routes in the sandbox's log).
  const listed = await call(sandbox.url, token, 'GET', `/api/v2/flows?id=${flows.completes}&includeSchemas=true`)
  assert.deepEqual(listed.body.entities[0].publishedVersion.inputSchema.required, ['Flow.customerId'])

  // A flow with a published schema: a violating variable fails before launch.
  const listCalls = requestsTo(sandbox, FLOW_LIST).length
  const byIdCalls = requestsTo(sandbox, FLOW_BY_ID).length
  const launches = sandbox.stats().flowLaunches.length
  const job = await run({ flowId: flows.completes, variables: [{ name: 'Flow.customerId', value: 42 }] })
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'INPUT_SCHEMA_VIOLATION')
  assert.match(job.error.message, /Flow\.customerId/)
  assert.equal(launchesFor(job.id).length, 0, 'nothing was launched for the job')
  assert.equal(sandbox.stats().flowLaunches.length, launches, 'no launch counted at all')
  // The schema came from the list call: one more list request, no more requests by id.
  assert.equal(requestsTo(sandbox, FLOW_LIST).length, listCalls + 1, 'the job read the flow through GET /api/v2/flows')
  assert.equal(requestsTo(sandbox, FLOW_BY_ID).length, byIdCalls, 'the job did not use GET /api/v2/flows/{flowId}')

  // Variables that match: the timeline says the check ran, against the published version.
  const valid = await run({ flowId: flows.completes, variables: customer })
  assert.equal(valid.status, 'succeeded', JSON.stringify(valid.error))
  const checked = (await timeline(valid.id)).filter((e) => e.type === 'schema_check')
  assert.deepEqual(checked.map((e) => e.data), [{ checked: true, flowVersion: '3.0' }])

  // A flow that publishes no schema runs, and its timeline says the check was skipped.
  const bare = await run({ flowId: flows.noSchema, variables: [{ name: 'Flow.anything', value: [1, 2] }] })
  assert.equal(bare.status, 'succeeded', JSON.stringify(bare.error))
  assert.equal(launchesFor(bare.id).length, 1)
  const skipped = (await timeline(bare.id)).filter((e) => e.type === 'schema_check')
  assert.deepEqual(skipped.map((e) => e.data), [{ checked: false, flowVersion: '3.0', reason: 'the published version has no input schema' }])
})

test('flow: a flowId the list does not hold fails FLOW_NOT_FOUND before launch', async () => {
  const missing = '00000000-0000-4000-8000-000000000000'
  const job = await run({ flowId: missing, variables: [] })
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'FLOW_NOT_FOUND')
  assert.match(job.error.message, new RegExp(missing))
  assert.equal(launchesFor(job.id).length, 0)
})

test('flow: routingPriority is a 400', async () => {
  for (const routingPriority of [50, 0, 'high', null]) {
    const res = await submit({ flowId: flows.completes, variables: customer, routingPriority })
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.code, 'FIELD_RETIRED')
    assert.match(res.body.message, /^routingPriority is not accepted: it has no counterpart in Genesys's launch request/)
    assert.match(res.body.message, /remove it$/)
  }
})

test('flow-execution: past timeoutMs the job ends timed_out, polling stops, and the audit record says the execution may still run', async () => {
  const job = await run({ flowId: flows.endless, variables: [], timeoutMs: 1500, pollIntervalMs: 150 })
  assert.equal(job.status, 'timed_out')
  const events = await timeline(job.id)
  const executionId = events.find((e) => e.type === 'remote')!.data.flowExecutionId as string
  // A terminal job is never claimed again, so nothing polls after its end: no step after the final status.
  const end = events.findIndex((e) => e.type === 'status' && e.data.to === 'timed_out')
  assert.deepEqual(events.slice(end + 1).filter((e) => e.type === 'step'), [])
  const finishedAt = Date.parse(job.finishedAt)
  const lateRequests = requestsTo(sandbox, EXECUTION_BY_ID).filter((e) => e.at > finishedAt)
  assert.deepEqual(lateRequests, [], 'no poll after the job ended')
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${job.id}&event=job.timed_out`)).body.items[0]
  assert.equal(audit.details.remoteMayStillRun, true)
  assert.equal(audit.details.flowExecutionId, executionId)
  assert.match(audit.details.note, /may still be running/)
})

test('flow-execution: polling starts at pollIntervalMs and backs off', async () => {
  const res = await submit({ flowId: flows.endless, variables: [], timeoutMs: 4000, pollIntervalMs: 200 })
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
  assert.equal(job.status, 'timed_out')
  const polls = (await timeline(job.id)).filter((e) => e.type === 'step' && e.data.step === 'poll').map((e) => Date.parse((e as unknown as { at: string }).at))
  const waits = (await timeline(job.id)).filter((e) => e.type === 'waiting').map((e) => e.data.reason as string)
  assert.ok(polls.length >= 4 && polls.length <= 10, `${polls.length} polls in 4 s`)
  const delays = waits.map((r) => Number(/next poll in (\d+) ms/.exec(r)?.[1] ?? /first poll in (\d+) ms/.exec(r)?.[1]))
  assert.equal(delays[0], 200)
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, `delays grow: ${delays.join(', ')}`)
  assert.ok(delays.at(-1)! > 200)
  for (let i = 1; i < polls.length; i++) assert.ok(polls[i]! - polls[i - 1]! >= 190, 'polls are at least the interval apart')
})

test('flow-execution: a 429 storm delays polling but does not fail the job', async (t) => {
  // The execution runs until the storm is over.
  sandbox.setProgress({ flowPollsPerNode: null })
  t.after(() => sandbox.setProgress({ flowPollsPerNode: 0 }))
  const res = await submit({ flowId: flows.completes, variables: customer, pollIntervalMs: 100 })
  const launched = await eventually(async () => (await timeline(res.body.id)).find((e) => e.type === 'remote'), 60_000, 'launch')
  const throttled = () => requestsTo(sandbox, EXECUTION_BY_ID).filter((e) => e.status === 429).length
  const before = throttled()
  sandbox.setFaults({ rate429: 1 })
  try {
    // Two polls refused, by count: the job is still under way between them.
    await eventually(async () => (throttled() - before >= 2 ? true : undefined), 30_000, 'two throttled polls')
    const during = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}`)).body
    assert.ok(['running', 'waiting'].includes(during.status), `still going during the storm (${during.status})`)
  } finally {
    sandbox.setFaults({ rate429: 0 })
  }
  sandbox.advanceFlowExecution(launched.data.flowExecutionId as string, 'end')
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
  assert.equal(job.status, 'succeeded')
})

test('flow-execution receiver: node events join the timeline in order; flow.complete makes the job poll at once', async (t) => {
  // The execution waits in the sandbox until the job is waiting for its first poll, a minute away.
  sandbox.setProgress({ flowUnknownPolls: null, flowPollsPerNode: null })
  t.after(() => sandbox.setProgress({ flowUnknownPolls: 0, flowPollsPerNode: 0 }))
  const res = await submit({ flowId: flows.completes, variables: customer, pollIntervalMs: 60_000 })
  assert.equal(res.status, 202)
  const waiting = await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}`)).body
    return job.status === 'waiting' && job.step === 'poll' ? job : undefined
  }, 10_000, 'the job to wait for its first poll')
  const executionId = (await timeline(waiting.id)).find((e) => e.type === 'remote')!.data.flowExecutionId as string
  const pollsBefore = requestsTo(sandbox, EXECUTION_BY_ID).length
  assert.deepEqual(sandbox.advanceFlowExecution(executionId, 'end'), [{ executionId, status: 'COMPLETED' }])
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
  assert.equal(job.status, 'succeeded')
  assert.equal(requestsTo(sandbox, EXECUTION_BY_ID).length - pollsBefore, 1, 'one poll, right after flow.complete')
  const events = await timeline(job.id)
  const firstPollAt = events.find((e) => e.type === 'waiting' && e.data.step === 'poll')!.data.until as string
  assert.ok(Date.parse(job.finishedAt) < Date.parse(firstPollAt), 'it did not wait for the 60 s poll interval')
  const nodes = events.filter((e) => e.type === 'node').map((e) => `${e.data.eventType as string}:${e.data.nodeId as string}`)
  assert.deepEqual(nodes, [
    'flow.node.enter:start', 'flow.node.exit:start', 'flow.node.enter:lookupCustomer', 'flow.node.exit:lookupCustomer',
    'flow.node.enter:setResult', 'flow.node.exit:setResult'
  ], 'every node event, in the order the workflow ran them')
  for (const enter of nodes.filter((n) => n.startsWith('flow.node.enter'))) {
    const node = enter.split(':')[1]
    assert.ok(nodes.indexOf(`flow.node.exit:${node}`) > nodes.indexOf(enter), `exit of ${node} follows its enter`)
  }
  assert.ok(events.some((e) => e.type === 'flow_complete'))
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${job.id}&limit=100`)).body.items.map((r: { event: string }) => r.event)
  assert.ok(audit.includes('webhook.flow.complete'))
  assert.ok(audit.includes('webhook.flow.node.enter'))
})

test('flow-execution receiver: flow.error is logged, counted and audited', async () => {
  const job = await run({ flowId: flows.fails, variables: [] })
  await eventually(async () => ((await timeline(job.id)).some((e) => e.type === 'flow_error') ? true : undefined), 60_000, 'flow.error on the timeline')
  assert.ok(svc.logs.some((l) => l.includes('workflow reported an error')))
  const metrics = await (await fetch(`${svc.url}/metrics`)).text()
  assert.match(metrics, /orchestrator_webhook_events_total\{source="genesys\.flow-events",type="flow\.error",outcome="accepted"\} [1-9]/)
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${job.id}&event=webhook.flow.error`)).body.items
  assert.equal(audit.length, 1)
})

const post = (body: unknown, headers: Record<string, string> = { 'x-webhook-secret': WEBHOOK_SECRET }) =>
  api(svc.url, 'POST', '/v1/webhooks/genesys/flow-events', body, headers)
const stored = async (eventId: string) => await svc.app.store.webhookEvents.find('genesys.flow-events', eventId)

test('flow-execution receiver: unknown executions are acknowledged and audited as unmatched; a repeated event id changes nothing', async () => {
  // No long digit runs in the id: audit details are masked, and a 13-digit timestamp can pass for a card number.
  const unknown = await post({ eventId: `evt-unknown-${crypto.randomUUID().replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!)}`, eventType: 'flow.node.enter', flowExecutionId: 'no-such-execution', nodeId: 'n1' })
  assert.equal(unknown.status, 200)
  assert.equal(unknown.body.status, 'unmatched')
  const audit = (await api(svc.url, 'GET', '/v1/audit?event=webhook.unmatched')).body.items
  assert.ok(audit.some((r: { details: { eventId: string } }) => r.details.eventId === unknown.body.eventId))

  // A job still waiting (an endless flow, polled every 5 minutes): events for a finished job are ignored.
  const job = (await submit({ flowId: flows.endless, variables: [], pollIntervalMs: 300_000 })).body
  const before = await timeline(job.id)
  const event = { eventId: `evt-repeat-${crypto.randomUUID().replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!)}`, eventType: 'flow.node.enter', jobId: job.id, nodeId: 'extra', message: 'hello' }
  const first = await post(event)
  assert.deepEqual(first.body, { status: 'accepted', eventId: event.eventId, jobId: job.id })
  const again = await post(event)
  assert.equal(again.status, 200)
  assert.equal(again.body.status, 'duplicate')
  const after = await timeline(job.id)
  assert.equal(after.filter((e: { data: { eventId?: string } }) => e.data.eventId === event.eventId).length, 1, 'one timeline entry for two deliveries')
  assert.equal(before.filter((e: { data: { eventId?: string } }) => e.data.eventId === event.eventId).length, 0)
  await api(svc.url, 'POST', `/v1/jobs/${job.id}/cancel`)
})

test('flow-execution receiver: without the shared secret the answer is 401 and nothing is stored', async () => {
  const missing = await post({ eventId: 'evt-nosecret', eventType: 'flow.complete', jobId: 'x' }, {})
  assert.equal(missing.status, 401)
  assert.equal(missing.body.code, 'WEBHOOK_UNAUTHORIZED')
  const wrong = await post({ eventId: 'evt-wrong', eventType: 'flow.complete', jobId: 'x' }, { 'x-webhook-secret': 'not-the-secret-at-all' })
  assert.equal(wrong.status, 401)
  const invalidJson = await fetch(`${svc.url}/v1/webhooks/genesys/flow-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' })
  assert.equal(invalidJson.status, 401, 'an unauthenticated sender learns nothing about the body')
  for (const eventId of ['evt-nosecret', 'evt-wrong', `sha256:${sha256Hex('{oops')}`]) assert.equal(await stored(eventId), undefined, `${eventId} was not stored`)
  const uncorrelated = await post({ eventType: 'flow.complete' })
  assert.equal(uncorrelated.status, 400)
  assert.equal(uncorrelated.body.code, 'EVENT_NOT_CORRELATED')
})
