import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, receiver, UUID, waitFor } from './helpers.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'
import { manualClock } from '../helpers/manual-clock.ts'

const { flows } = SANDBOX_FIXTURES
const STATUSES = ['UNKNOWN', 'RUNNING', 'COMPLETED', 'FAILED', 'ERROR', 'TERMINATED']

const ALL_FLOW_IDS = Object.values(flows).toSorted()
const LISTING_KEYS = ['entities', 'firstUri', 'lastUri', 'pageCount', 'pageNumber', 'pageSize', 'selfUri', 'total']

test('sandbox: GET /api/v2/flows/{id} answers the Flow without any schema', async (t) => {
  const { api } = await harness(t)
  for (const id of [flows.completes, flows.noSchema]) {
    const flow = await api('GET', `/api/v2/flows/${id}`)
    assert.equal(flow.status, 200)
    assert.equal(flow.body.id, id)
    assert.equal(flow.body.type, 'workflow')
    assert.equal(flow.body.selfUri, `/api/v2/flows/${id}`)
    assert.deepEqual(flow.body.publishedVersion, { id: '3.0', name: '3.0', selfUri: `/api/v2/flows/${id}/versions/3.0` })
    for (const key of ['inputSchema', 'outputSchema']) assert.equal(flow.body[key], undefined, `${key} of ${id}`)
  }
  // Not even when asked: the documented call takes only `deleted`.
  const asked = await api('GET', `/api/v2/flows/${flows.completes}?includeSchemas=true`)
  assert.equal(asked.body.publishedVersion.inputSchema, undefined)
  assert.equal(asked.body.inputSchema, undefined)

  const missing = await api('GET', '/api/v2/flows/00000000-0000-4000-8000-000000000000')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.code, 'not.found')
})

test('sandbox: GET /api/v2/flows list shape is the paged entity listing, 25 a page from page 1, sorted by id', async (t) => {
  const { api } = await harness(t)
  const list = await api('GET', '/api/v2/flows')
  assert.equal(list.status, 200)
  assert.deepEqual(Object.keys(list.body).sort(), LISTING_KEYS)
  assert.equal(list.body.pageNumber, 1)
  assert.equal(list.body.pageSize, 25)
  assert.equal(list.body.total, ALL_FLOW_IDS.length)
  assert.equal(list.body.pageCount, 1)
  assert.deepEqual(list.body.entities.map((f: { id: string }) => f.id), ALL_FLOW_IDS)
  assert.equal(list.body.firstUri, '/api/v2/flows?pageSize=25&pageNumber=1')
  assert.equal(list.body.selfUri, list.body.firstUri)
  assert.equal(list.body.lastUri, list.body.firstUri)
  for (const flow of list.body.entities) {
    assert.equal(flow.type, 'workflow')
    assert.equal(typeof flow.name, 'string')
    assert.equal(flow.publishedVersion.id, '3.0')
    assert.equal(flow.selfUri, `/api/v2/flows/${flow.id}`)
  }
})

test('sandbox: GET /api/v2/flows id filter repeated picks those flows and overrides type', async (t) => {
  const { api } = await harness(t)
  const two = await api('GET', `/api/v2/flows?id=${flows.fails}&id=${flows.completes}`)
  assert.equal(two.status, 200)
  assert.deepEqual(two.body.entities.map((f: { id: string }) => f.id), [flows.completes, flows.fails].toSorted())
  assert.equal(two.body.total, 2)
  assert.equal(two.body.selfUri, `/api/v2/flows?id=${flows.fails}&id=${flows.completes}&pageSize=25&pageNumber=1`)
  // "If one or more IDs are specified, the search ... not use any additional supplied query parameters."
  const withType = await api('GET', `/api/v2/flows?id=${flows.completes}&type=inboundcall`)
  assert.deepEqual(withType.body.entities.map((f: { id: string }) => f.id), [flows.completes])
  const unknown = await api('GET', '/api/v2/flows?id=00000000-0000-4000-8000-000000000000')
  assert.equal(unknown.status, 200, 'an id the list does not hold is an empty page, not a 404')
  assert.deepEqual(unknown.body.entities, [])
  assert.equal(unknown.body.total, 0)
  assert.equal(unknown.body.pageCount, 0)

  assert.equal((await api('GET', '/api/v2/flows?type=workflow')).body.total, ALL_FLOW_IDS.length)
  assert.equal((await api('GET', '/api/v2/flows?type=inboundcall&type=workflow')).body.total, ALL_FLOW_IDS.length)
  assert.equal((await api('GET', '/api/v2/flows?type=inboundcall')).body.total, 0)
  const badType = await api('GET', '/api/v2/flows?type=wrokflow')
  assert.equal(badType.status, 400)
  assert.equal(badType.body.code, 'bad.request')
  assert.equal(badType.body.details[0].fieldName, 'type')
})

test('sandbox: GET /api/v2/flows includeSchemas on/off: schemas only when true, and only where published', async (t) => {
  const { api } = await harness(t)
  const path = `/api/v2/flows?id=${flows.completes}&id=${flows.noSchema}`
  const byId = async (query: string) => {
    const res = await api('GET', `${path}${query}`)
    assert.equal(res.status, 200)
    return Object.fromEntries(res.body.entities.map((f: { id: string }) => [f.id, f])) as Record<string, any>
  }
  const on = await byId('&includeSchemas=true')
  const schema = on[flows.completes].publishedVersion.inputSchema
  assert.deepEqual(schema.required, ['Flow.customerId'])
  assert.equal(schema.properties['Flow.customerId'].type, 'string')
  assert.deepEqual(on[flows.completes].inputSchema, schema)
  assert.ok(on[flows.completes].publishedVersion.outputSchema !== undefined)
  assert.equal(on[flows.noSchema].publishedVersion.inputSchema, undefined, 'a flow that publishes no schema has none to include')
  assert.equal(on[flows.noSchema].inputSchema, undefined)

  for (const query of ['&includeSchemas=false', '']) {
    const off = await byId(query)
    for (const flow of Object.values(off)) {
      for (const key of ['inputSchema', 'outputSchema']) {
        assert.equal(flow[key], undefined, `${key} with '${query}'`)
        assert.equal(flow.publishedVersion[key], undefined, `publishedVersion.${key} with '${query}'`)
      }
    }
  }
  const bad = await api('GET', `${path}&includeSchemas=yes`)
  assert.equal(bad.status, 400)
  assert.equal(bad.body.details[0].fieldName, 'includeSchemas')
})

test('sandbox: GET /api/v2/flows paging: pageSize and pageNumber, with next/previous/last URIs', async (t) => {
  const { api } = await harness(t)
  const pageSize = 4
  const pages = Math.ceil(ALL_FLOW_IDS.length / pageSize)
  assert.ok(pages >= 2, 'the fixtures fill more than one page')
  const seen: string[] = []
  for (let n = 1; n <= pages; n++) {
    const page = await api('GET', `/api/v2/flows?includeSchemas=true&pageSize=${pageSize}&pageNumber=${n}`)
    assert.equal(page.status, 200)
    assert.equal(page.body.pageNumber, n)
    assert.equal(page.body.pageSize, pageSize)
    assert.equal(page.body.total, ALL_FLOW_IDS.length)
    assert.equal(page.body.pageCount, pages)
    assert.equal(page.body.selfUri, `/api/v2/flows?includeSchemas=true&pageSize=${pageSize}&pageNumber=${n}`)
    assert.equal(page.body.lastUri, `/api/v2/flows?includeSchemas=true&pageSize=${pageSize}&pageNumber=${pages}`)
    assert.equal(page.body.nextUri, n < pages ? `/api/v2/flows?includeSchemas=true&pageSize=${pageSize}&pageNumber=${n + 1}` : undefined)
    assert.equal(page.body.previousUri, n > 1 ? `/api/v2/flows?includeSchemas=true&pageSize=${pageSize}&pageNumber=${n - 1}` : undefined)
    assert.ok(page.body.entities.length <= pageSize)
    seen.push(...page.body.entities.map((f: { id: string }) => f.id))
  }
  assert.deepEqual(seen, ALL_FLOW_IDS, 'the pages together hold every flow once, in order')
  const past = await api('GET', `/api/v2/flows?pageSize=${pageSize}&pageNumber=${pages + 1}`)
  assert.equal(past.status, 200)
  assert.deepEqual(past.body.entities, [])
  for (const query of ['pageSize=0', 'pageNumber=0', 'pageSize=x', 'pageNumber=-1']) {
    const bad = await api('GET', `/api/v2/flows?${query}`)
    assert.equal(bad.status, 400, query)
    assert.equal(bad.body.code, 'bad.request')
    assert.equal(bad.body.details[0].fieldName, query.split('=')[0])
  }
})

test('sandbox: a launched flow answers UNKNOWN to its first poll, RUNNING while its nodes run (one poll each), then COMPLETED with outputData', async (t) => {
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, progress: { flowUnknownPolls: 1, flowPollsPerNode: 1 } })
  const body = { flowId: flows.completes, inputData: { 'Flow.customerId': 'C-42' }, name: 'job 1' }
  const launch = await api('POST', '/api/v2/flows/executions', body)
  assert.equal(launch.status, 200)
  assert.deepEqual(Object.keys(launch.body).sort(), ['flowVersion', 'id', 'name', 'selfUri'])
  assert.match(launch.body.id, UUID)
  assert.equal(launch.body.name, 'job 1')
  assert.deepEqual(launch.body.flowVersion, { id: '3.0', selfUri: `/api/v2/flows/${flows.completes}/versions/3.0` })
  assert.equal(launch.body.selfUri, `/api/v2/flows/executions/${launch.body.id}`)
  const launchedAt = new Date(clock.now()).toISOString()

  const path = `/api/v2/flows/executions/${launch.body.id}`
  const polls = []
  for (let i = 0; i < 5; i++) {
    clock.advance(1000)
    polls.push((await api('GET', path)).body)
  }
  assert.deepEqual(polls.map((p) => p.status), ['UNKNOWN', 'RUNNING', 'RUNNING', 'RUNNING', 'COMPLETED'], 'picked up at the 2nd poll, three nodes, done at the 5th')
  for (const running of polls.slice(0, 4)) {
    assert.equal(running.outputData, undefined)
    assert.equal(running.dateCompleted, undefined)
  }
  const done = polls[4]
  assert.deepEqual(done.outputData, { 'Flow.result': 'ok', 'Flow.echo': 'C-42' })
  assert.equal(done.dateLaunched, launchedAt)
  assert.equal(done.dateCompleted, new Date(clock.now()).toISOString(), 'completed at the poll that moved it')
  assert.equal(done.flowVersion.id, '3.0')
  assert.equal(done.flowErrorInfo, undefined)
  assert.equal(typeof done.completionReason, 'string')
  assert.equal(done.selfUri, path)
  assert.equal((await api('GET', path)).body.status, 'COMPLETED', 'and it stays so')

  const stats = sandbox.stats()
  assert.equal(stats.flowLaunches.length, 1)
  assert.equal(stats.flowLaunches[0].executionId, launch.body.id)
  assert.deepEqual(stats.flowLaunches[0].body, body)
})

test('sandbox: every terminal status, with flowErrorInfo on failures, and endless never ends', async (t) => {
  // The default progress: a flow runs all its nodes when launched.
  const { api } = await harness(t)
  const launch = async (flowId: string) => (await api('POST', '/api/v2/flows/executions', { flowId })).body.id as string
  const ids = {
    fails: await launch(flows.fails),
    errors: await launch(flows.errors),
    terminated: await launch(flows.terminated),
    endless: await launch(flows.endless),
    noSchema: await launch(flows.noSchema)
  }
  const get = async (id: string) => (await api('GET', `/api/v2/flows/executions/${id}`)).body
  const expected = { fails: 'FAILED', errors: 'ERROR', terminated: 'TERMINATED', endless: 'RUNNING', noSchema: 'COMPLETED' } as const
  for (const [name, status] of Object.entries(expected)) {
    const execution = await get(ids[name as keyof typeof ids])
    assert.equal(execution.status, status, name)
    assert.ok(STATUSES.includes(execution.status))
    if (status === 'FAILED' || status === 'ERROR' || status === 'TERMINATED') {
      assert.equal(typeof execution.flowErrorInfo.message, 'string')
      assert.equal(typeof execution.flowErrorInfo.code, 'string')
      assert.match(execution.flowErrorInfo.contextId, UUID)
      assert.equal(execution.outputData, undefined)
      assert.ok(execution.dateCompleted !== undefined)
    }
  }
  assert.deepEqual((await get(ids.noSchema)).outputData, { 'Flow.result': 'ok' })
  for (let i = 0; i < 5; i++) assert.equal((await get(ids.endless)).status, 'RUNNING', 'endless: polls never end it')
  assert.equal((await get(ids.endless)).dateCompleted, undefined)
  const unknown = await api('GET', '/api/v2/flows/executions/00000000-0000-4000-8000-000000000000')
  assert.equal(unknown.status, 404)
})

test('sandbox: advancing flow executions by hand: a node at a time, to the end, or every execution under way; JS control and admin route', async (t) => {
  const { sandbox, api } = await harness(t, { progress: { flowUnknownPolls: null, flowPollsPerNode: null } })
  const launch = async (flowId: string, inputData = {}) => (await api('POST', '/api/v2/flows/executions', { flowId, inputData })).body.id as string
  const status = async (id: string) => (await api('GET', `/api/v2/flows/executions/${id}`)).body.status as string
  const completes = await launch(flows.completes, { 'Flow.customerId': 'C-9' })
  const endless = await launch(flows.endless)
  const fails = await launch(flows.fails)

  assert.equal(await status(completes), 'UNKNOWN', 'held: not picked up until advanced')
  assert.equal(await status(completes), 'UNKNOWN')
  assert.deepEqual(sandbox.advanceFlowExecution(completes), [{ executionId: completes, status: 'RUNNING' }], 'picked up and on to its second node')
  assert.deepEqual(sandbox.advanceFlowExecution(completes, 1), [{ executionId: completes, status: 'RUNNING' }], 'its third node')
  assert.equal(await status(completes), 'RUNNING')
  assert.deepEqual(sandbox.advanceFlowExecution(completes), [{ executionId: completes, status: 'COMPLETED' }], 'leaving the last node ends it')
  assert.equal(await status(completes), 'COMPLETED')

  assert.deepEqual(sandbox.advanceFlowExecution(endless, 'end'), [{ executionId: endless, status: 'RUNNING' }], 'an endless flow stays in its last node')
  const admin = await fetch(`${sandbox.url}/__sandbox/flows/executions/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nodes: 'end' }) })
  assert.deepEqual(await admin.json(), { advanced: [{ executionId: endless, status: 'RUNNING' }, { executionId: fails, status: 'FAILED' }] }, 'without an id: every execution under way')
  assert.equal(await status(fails), 'FAILED')

  assert.throws(() => sandbox.advanceFlowExecution('00000000-0000-4000-8000-000000000000'), /no flow execution 00000000/)
  assert.throws(() => sandbox.advanceFlowExecution(endless, 0), /whole number/)
  const bad = await fetch(`${sandbox.url}/__sandbox/flows/executions/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ executionId: 5 }) })
  assert.equal(bad.status, 400)

  sandbox.setProgress({ flowUnknownPolls: 0, flowPollsPerNode: 2 })
  const twoPolls = await launch(flows.noSchema)
  const seen = []
  for (let i = 0; i < 5; i++) seen.push(await status(twoPolls))
  assert.deepEqual(seen, ['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'COMPLETED'], 'two nodes of two polls each')
})

test('sandbox: a launch is checked against the flow and its published input schema', async (t) => {
  const { sandbox, api } = await harness(t)
  const bad = await api('POST', '/api/v2/flows/executions', { flowId: flows.completes, inputData: { 'Flow.customerId': 42 } })
  assert.equal(bad.status, 400)
  assert.equal(bad.body.code, 'bad.request')
  assert.equal(bad.body.status, 400)
  assert.equal(bad.body.details[0].fieldName, 'inputData.Flow.customerId')
  assert.equal((await api('POST', '/api/v2/flows/executions', { flowId: flows.completes })).status, 400, 'required input missing')
  assert.equal((await api('POST', '/api/v2/flows/executions', { inputData: {} })).status, 400, 'flowId missing')
  assert.equal((await api('POST', '/api/v2/flows/executions', { flowId: flows.completes, flowVersion: '9.0', inputData: { 'Flow.customerId': 'x' } })).status, 400)
  const unknown = await api('POST', '/api/v2/flows/executions', { flowId: '00000000-0000-4000-8000-000000000000' })
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.code, 'not.found')
  assert.equal((await api('POST', '/api/v2/flows/executions', { flowId: flows.noSchema, inputData: { anything: [1] } })).status, 200)
  assert.equal(sandbox.stats().flowLaunches.length, 1)
})

test('sandbox: node events are posted in order as the execution moves, with the secret header, the job id and one retry', async (t) => {
  const hook = await receiver(t, (n) => (n === 1 ? 500 : 200))
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { now: clock.now, progress: { flowUnknownPolls: 0, flowPollsPerNode: null }, webhooks: { flowEventsUrl: hook.url, flowEventsSecret: 's3cret' } })
  const launch = await api('POST', '/api/v2/flows/executions', { flowId: flows.completes, inputData: { 'Flow.customerId': 'C-1', 'Flow.orchestratorJobId': 'job-123' } })
  const executionId = launch.body.id as string
  // The launch enters the first node; its delivery is answered 500 and comes again.
  const [refused, retried] = await hook.until(2)
  assert.equal(retried.body.eventId, refused.body.eventId, 'the refused delivery came again with the same event')
  assert.equal(refused.body.eventType, 'flow.node.enter')
  for (let node = 1; node <= 3; node++) {
    clock.advance(40)
    sandbox.advanceFlowExecution(executionId)
    await hook.until(2 + 2 * node)
  }
  assert.deepEqual(hook.received.slice(1).map((r) => `${r.body.eventType as string}:${r.body.nodeId as string}:${r.body.nodeType as string}`), [
    'flow.node.enter:start:Start', 'flow.node.exit:start:Start',
    'flow.node.enter:lookupCustomer:CallDataAction', 'flow.node.exit:lookupCustomer:CallDataAction',
    'flow.node.enter:setResult:UpdateData', 'flow.node.exit:setResult:UpdateData',
    'flow.complete:setResult:UpdateData'
  ], 'one after another, in the order the workflow ran them')
  for (const [i, r] of hook.received.entries()) {
    assert.equal(r.headers['x-webhook-secret'], 's3cret', `delivery ${i}`)
    assert.equal(r.headers['content-type'], 'application/json')
    assert.equal(r.body.flowExecutionId, executionId)
    assert.equal(r.body.jobId, 'job-123')
    assert.equal(r.body.flowId, flows.completes)
    assert.match(r.body.eventId, UUID)
    assert.equal(typeof r.body.message, 'string')
  }
  const enterTimes = hook.received.slice(1).filter((r) => r.body.eventType === 'flow.node.enter').map((r) => Date.parse(r.body.timestamp))
  assert.deepEqual(enterTimes.map((at) => at - enterTimes[0]), [0, 40, 80], 'each event is stamped when the execution moved')
  assert.equal((await api('GET', `/api/v2/flows/executions/${executionId}`)).body.status, 'COMPLETED', 'flow.complete went out once the execution had ended')
  // The sandbox records an attempt once it has read the answer, a moment after the receiver saw it.
  const deliveries = await waitFor(() => { const d = sandbox.stats().webhookDeliveries; return d.length >= 8 && d }, 'recorded deliveries')
  assert.equal(deliveries.filter((d) => d.status === 500).length, 1)
  assert.ok(deliveries.some((d) => d.attempt === 2 && d.status === 200))
})

test('sandbox: a failing flow ends its events with flow.error; dropWebhooks sends nothing', async (t) => {
  const hook = await receiver(t)
  // The default progress: the flow runs all its nodes at launch, its events go out one after another.
  const { sandbox, api } = await harness(t, { webhooks: { flowEventsUrl: hook.url } })
  await api('POST', '/api/v2/flows/executions', { flowId: flows.fails })
  const received = await hook.until(4)
  assert.deepEqual(received.map((r) => `${r.body.eventType as string}:${r.body.nodeId as string}`), ['flow.node.enter:start', 'flow.node.exit:start', 'flow.node.enter:callBackend', 'flow.error:callBackend'])
  assert.equal(hook.received[0].body.jobId, null)
  assert.equal(hook.received[0].headers['x-webhook-secret'], undefined)

  sandbox.setFaults({ dropWebhooks: true })
  await api('POST', '/api/v2/flows/executions', { flowId: flows.noSchema })
  await waitFor(() => sandbox.stats().webhooksDropped === 5, 'five events dropped')
  assert.equal(hook.received.length, 4, 'none of them was sent')
})
