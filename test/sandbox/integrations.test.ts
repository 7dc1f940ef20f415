import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, waitFor } from './helpers.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const { actions, integrations } = SANDBOX_FIXTURES
const BASE = '/api/v2/integrations/actions'
const execute = (id: string) => `${BASE}/${id}/execute`

test('sandbox: every fixture action id is shaped like a real custom action id', () => {
  assert.deepEqual(Object.keys(actions).sort(), ['echo', 'failing', 'fnGreeting', 'fnPendingZip', 'fnRetiredRuntime', 'forbidden', 'judge', 'llm', 'llmVariant', 'platformError', 'slow'])
  for (const id of Object.values(actions)) assert.match(id, /^custom_-_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('sandbox: GET action returns the Action model, with contract and config only when asked', async (t) => {
  const { api } = await harness(t)
  const plain = await api('GET', `${BASE}/${actions.echo}`)
  assert.equal(plain.status, 200)
  assert.deepEqual(Object.keys(plain.body).sort(), ['category', 'id', 'integrationId', 'name', 'secure', 'selfUri', 'version'])
  assert.equal(plain.body.id, actions.echo)
  assert.equal(plain.body.integrationId, integrations.webServices)
  assert.equal(plain.body.secure, false)
  assert.equal(plain.body.selfUri, `${BASE}/${actions.echo}`)

  const full = await api('GET', `${BASE}/${actions.echo}?expand=contract&includeConfig=true`)
  const input = full.body.contract.input.inputSchema
  assert.equal(input.type, 'object')
  assert.deepEqual(input.required, ['message'])
  assert.deepEqual(input.properties, { message: { type: 'string' }, count: { type: 'integer' } })
  assert.equal(full.body.contract.output.successSchema.type, 'object')
  assert.equal(full.body.config.timeoutSeconds, 60)
  assert.equal(full.body.config.request.requestType, 'POST')

  const fn = await api('GET', `${BASE}/${actions.fnGreeting}?expand=contract`)
  assert.equal(fn.body.integrationId, integrations.functions)
  assert.equal(fn.body.contract.input.inputSchema.additionalProperties, false)
  assert.deepEqual(fn.body.contract.input.inputSchema.required, ['name'])

  const missing = await api('GET', `${BASE}/custom_-_00000000-0000-4000-8000-000000000000`)
  assert.equal(missing.status, 404)
  assert.equal(missing.body.code, 'not.found')
  assert.equal(missing.body.status, 404)
  assert.equal(missing.body.contextId, missing.headers.get('inin-correlation-id'))
})

test('sandbox: function config and runtimes match the Functions models', async (t) => {
  const { api } = await harness(t)
  const greeting = await api('GET', `${BASE}/${actions.fnGreeting}/function`)
  assert.equal(greeting.status, 200)
  assert.deepEqual(Object.keys(greeting.body).sort(), ['function', 'id', 'uploadExceptionHistory', 'zip'])
  assert.deepEqual(greeting.body.function, { description: 'Sandbox greeting function', handler: 'src/index.handler', runtime: 'nodejs22.x', timeoutSeconds: 10 })
  assert.equal(greeting.body.zip.status, 'Available')
  assert.equal(greeting.body.zip.name, 'greeting.zip')
  assert.ok(!Number.isNaN(Date.parse(greeting.body.zip.dateCreated)))
  assert.deepEqual(greeting.body.uploadExceptionHistory, [])

  assert.equal((await api('GET', `${BASE}/${actions.fnPendingZip}/function`)).body.zip.status, 'Pending')
  assert.equal((await api('GET', `${BASE}/${actions.fnRetiredRuntime}/function`)).body.function.runtime, 'nodejs16.x')
  const notFunction = await api('GET', `${BASE}/${actions.echo}/function`)
  assert.equal(notFunction.status, 404)
  assert.equal(notFunction.body.code, 'not.found')

  const runtimes = await api('GET', `${BASE}/functions/runtimes`)
  assert.equal(runtimes.status, 200)
  const byName = Object.fromEntries(runtimes.body.map((r: { name: string, status: string }) => [r.name, r]))
  assert.equal(byName['nodejs22.x'].status, 'Available')
  assert.equal(byName['nodejs20.x'].status, 'Deprecated')
  assert.equal(byName['nodejs16.x'].status, 'Unavailable')
  assert.ok(byName['nodejs16.x'].dateEndOfLife !== undefined)
  for (const r of runtimes.body) assert.ok(['Available', 'Deprecated', 'Unavailable'].includes(r.status))
})

test('sandbox: echo executes, and contract violations answer in the data-actions error shape', async (t) => {
  const { sandbox, api } = await harness(t)
  const ok = await api('POST', execute(actions.echo), { message: 'hello', count: 2 })
  assert.equal(ok.status, 200)
  assert.deepEqual(ok.body, { echo: { message: 'hello', count: 2 } })

  for (const inputs of [{ count: 1 }, { message: 'x', count: 1.5 }, { message: 7 }]) {
    const bad = await api('POST', execute(actions.echo), inputs)
    assert.equal(bad.status, 400)
    assert.deepEqual(Object.keys(bad.body).sort(), ['correlationId', 'details', 'errorCode', 'errors', 'status', 'userMessage', 'userParams'])
    assert.equal(bad.body.status, 400)
    assert.equal(bad.body.errorCode, 'BAD_REQUEST')
    assert.deepEqual(bad.body.userParams, [])
    assert.deepEqual(bad.body.details, [{ errorCode: 'ACTION.PROCESSING' }])
    assert.equal(bad.body.correlationId, bad.headers.get('inin-correlation-id'))
    assert.equal(bad.body.errors[0].status, 400)
    assert.match(bad.body.errors[0].userMessage, /Input parameter '(message|count)'/)
  }
  const stats = sandbox.stats()
  assert.equal(stats.actionExecutions[actions.echo], 1, 'rejected inputs never ran')
  assert.deepEqual(stats.actionBodies[actions.echo], [{ message: 'hello', count: 2 }])
})

test('sandbox: failing and platformError fixtures answer with the two real error shapes', async (t) => {
  const { sandbox, api } = await harness(t)
  const failing = await api('POST', execute(actions.failing), {})
  assert.equal(failing.status, 400)
  assert.equal(failing.body.errorCode, 'BAD_REQUEST')
  assert.deepEqual(failing.body.details, [{ errorCode: 'ACTION.REMOTE_ENDPOINT' }])
  assert.match(failing.body.userMessage, /^REST call for action execute failed/)
  assert.equal(failing.body.errors[0].errorCode, 'BAD_REQUEST')

  const platform = await api('POST', execute(actions.platformError), {})
  assert.equal(platform.status, 500)
  assert.equal(platform.body.code, 'internal.server.error')
  assert.equal(platform.body.status, 500)
  assert.equal(typeof platform.body.message, 'string')
  assert.equal(platform.body.contextId, platform.headers.get('inin-correlation-id'))
  assert.deepEqual(platform.body.details, [{ errorCode: 'ACTION.PROCESSING' }])
  const stats = sandbox.stats()
  assert.equal(stats.actionExecutions[actions.failing], 1)
  assert.equal(stats.actionExecutions[actions.platformError], 1)
})

test('sandbox: slow waits as asked and the stats see concurrent executions', async (t) => {
  const { sandbox, api, token } = await harness(t)
  // Checked by order, never timed: minute-long executions are still running when a 1 ms one has answered.
  const giveUp = new AbortController()
  let answered = 0
  const held = [1, 2, 3].map(async () => await fetch(`${sandbox.url}${execute(actions.slow)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ delayMs: 60_000 }),
    signal: giveUp.signal
  }).then(() => { answered++ }))
  await waitFor(() => sandbox.stats().actionExecutions[actions.slow] === 3, 'three slow executions under way')
  assert.equal(sandbox.stats().maxConcurrentExecutions[actions.slow], 3)
  assert.deepEqual((await api('POST', execute(actions.slow), { delayMs: 1 })).body, { waitedMs: 1 })
  assert.equal(answered, 0, 'the minute-long executions still wait')
  assert.equal(sandbox.stats().maxConcurrentExecutions[actions.slow], 4)
  giveUp.abort()
  await Promise.allSettled(held)
  assert.equal((await api('POST', execute(actions.slow), { delayMs: 'soon' })).status, 400)
  assert.equal((await api('POST', execute(actions.slow), { delayMs: 70_000 })).status, 400)
})

test('sandbox: held executions wait until enough of them run at once, then all answer; the admin route refuses bad holds', async (t) => {
  const { sandbox, api } = await harness(t)
  sandbox.holdExecutions(actions.echo, 3)
  let answered = 0
  const first = [1, 2].map(async (n) => { const r = await api('POST', execute(actions.echo), { message: `m${n}` }); answered++; return r })
  await waitFor(() => sandbox.stats().actionExecutions[actions.echo] === 2, 'two executions held')
  assert.equal(answered, 0, 'two of three: still held')
  const third = await api('POST', execute(actions.echo), { message: 'm3' })
  assert.equal(third.status, 200)
  assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200])
  assert.equal(sandbox.stats().maxConcurrentExecutions[actions.echo], 3)
  assert.equal((await api('POST', execute(actions.echo), { message: 'free' })).status, 200, 'the hold was for one group')

  const hold = (body: unknown) => fetch(`${sandbox.url}/__sandbox/executions/hold`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal((await hold({ actionId: actions.llm, inFlight: 2 })).status, 204)
  assert.equal((await hold({ actionId: actions.llm, inFlight: 2 })).status, 400, 'already held')
  assert.equal((await hold({ actionId: actions.echo, inFlight: 1 })).status, 400)
  assert.throws(() => sandbox.holdExecutions('custom_-_nope', 2), /no action custom_-_nope/)
})

test('sandbox: the llm reverses words and the judge scores hallucination and toxicity', async (t) => {
  const { api } = await harness(t)
  assert.deepEqual((await api('POST', execute(actions.llm), { prompt: '  what is my\torder status? ' })).body, { output: 'status? order my is what' })
  assert.equal((await api('POST', execute(actions.llm), {})).status, 400)

  const judge = async (output: string, expectedOutput: string) => (await api('POST', execute(actions.judge), { prompt: 'p', output, expectedOutput })).body
  assert.deepEqual(await judge('Cancel  Subscription ', 'cancel subscription'), { hallucination: 0, toxicity: 0 })
  assert.deepEqual(await judge('reset password', 'check order'), { hallucination: 1, toxicity: 0 })
  assert.deepEqual(await judge('I HATE this', 'I hate this'), { hallucination: 0, toxicity: 1 })
  assert.deepEqual(await judge('you Stupid idiot', 'hello'), { hallucination: 1, toxicity: 1 })
  assert.equal((await api('POST', execute(actions.judge), { prompt: 'p', output: 'o' })).status, 400)
})

test('sandbox: function actions run, enforce their contract, zip, runtime and payload cap', async (t) => {
  const { sandbox, api } = await harness(t)
  assert.deepEqual((await api('POST', execute(actions.fnGreeting), { name: 'Ada', amount: 12.5 })).body, { greeting: 'Hello, Ada', amount: 12.5 })
  assert.deepEqual((await api('POST', execute(actions.fnGreeting), { name: 'Bo' })).body, { greeting: 'Hello, Bo' })

  const extra = await api('POST', execute(actions.fnGreeting), { name: 'Ada', x: 1 })
  assert.equal(extra.status, 400)
  assert.equal(extra.body.userMessage, "Input parameter 'x' is not defined in the custom code schema")
  const missing = await api('POST', execute(actions.fnGreeting), { amount: 1 })
  assert.match(missing.body.userMessage, /'name' is required/)

  const pending = await api('POST', execute(actions.fnPendingZip), { name: 'Ada' })
  assert.equal(pending.status, 400)
  assert.match(pending.body.userMessage, /zip status Pending/)
  const retired = await api('POST', execute(actions.fnRetiredRuntime), { name: 'Ada' })
  assert.equal(retired.status, 400)
  assert.match(retired.body.userMessage, /nodejs16\.x is Unavailable/)

  // Functions take up to 750 000 bytes; other actions stop at request.bytes.max (512 000).
  const between = { name: 'x'.repeat(600_000) }
  assert.equal((await api('POST', execute(actions.fnGreeting), between)).status, 200)
  const tooBigFn = await api('POST', execute(actions.fnGreeting), { name: 'x'.repeat(750_000) })
  assert.equal(tooBigFn.status, 413)
  assert.equal(tooBigFn.body.code, 'request.entity.too.large')
  const tooBigEcho = await api('POST', execute(actions.echo), { message: 'x'.repeat(600_000) })
  assert.equal(tooBigEcho.status, 413)
  assert.equal(tooBigEcho.body.code, 'request.entity.too.large')
  assert.equal(tooBigEcho.body.limit.value, 512_000)

  const stats = sandbox.stats()
  assert.equal(stats.actionExecutions[actions.fnGreeting], 3)
  assert.equal(stats.actionExecutions[actions.fnPendingZip], undefined)
  assert.equal(stats.actionExecutions[actions.echo], undefined)
})
