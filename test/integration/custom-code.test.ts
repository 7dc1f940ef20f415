import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
let sandbox: Sandbox
let svc: RunningService
const { fnGreeting, fnPendingZip, fnRetiredRuntime } = SANDBOX_FIXTURES.actions

let stop: () => Promise<void>
before(async () => {
  ({ sandbox, svc, stop } = await startGenesysService())
})
after(async () => { await stop() })

async function run (body: unknown) {
  const res = await api(svc.url, 'POST', '/v1/jobs/custom-code', body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)).body
}
const executions = (actionId: string) => sandbox.stats().actionExecutions[actionId] ?? 0

test('custom-code: a valid job succeeds; repeated inputs hit the cache; the record keeps latency and cache hit', async () => {
  const before = executions(fnGreeting)
  const first = await run({ actionId: fnGreeting, inputs: { name: 'Ada', amount: 42 }, timeoutSeconds: 10 })
  assert.equal(first.status, 'succeeded', JSON.stringify(first.error))
  assert.equal(first.result.output.greeting, 'Hello, Ada')
  assert.equal(first.result.cacheHit, false)
  assert.equal(typeof first.result.latencyMs, 'number')
  const second = await run({ actionId: fnGreeting, inputs: { name: 'Ada', amount: 42 }, timeoutSeconds: 10 })
  assert.equal(second.result.cacheHit, true)
  assert.deepEqual(second.result.output, first.result.output)
  assert.equal(executions(fnGreeting) - before, 1)
  const fresh = await run({ actionId: fnGreeting, inputs: { name: 'Ada', amount: 42 }, timeoutSeconds: 10, cache: false })
  assert.equal(fresh.result.cacheHit, false)
  assert.equal(executions(fnGreeting) - before, 2)
})

test('custom-code: each refusal fails with its own code and message before execute is called', async () => {
  const before = { greeting: executions(fnGreeting), pending: executions(fnPendingZip), retired: executions(fnRetiredRuntime) }
  const cases: Array<[unknown, string, RegExp]> = [
    [{ actionId: fnGreeting, inputs: { name: 'Ada', x: 1 } }, 'UNKNOWN_INPUT', /^Input parameter 'x' is not defined in the custom code schema$/],
    [{ actionId: fnGreeting, inputs: { amount: 1 } }, 'MISSING_INPUT', /Input parameter 'name' is required/],
    [{ actionId: fnPendingZip, inputs: {} }, 'FUNCTION_NOT_AVAILABLE', /'Pending', not 'Available'/],
    [{ actionId: fnRetiredRuntime, inputs: {} }, 'RUNTIME_UNAVAILABLE', /nodejs16\.x' is Unavailable/],
    [{ actionId: fnGreeting, inputs: { name: 'Ada' }, timeoutSeconds: 12 }, 'TIMEOUT_EXCEEDS_FUNCTION', /timeoutSeconds is 12 but the function stops after 10 s/],
    [{ actionId: fnGreeting, inputs: { name: 42 } }, 'INPUT_CONTRACT_VIOLATION', /inputs\.name must be string/]
  ]
  for (const [body, code, message] of cases) {
    const job = await run(body)
    assert.equal(job.status, 'failed', code)
    assert.equal(job.error.code, code)
    assert.match(job.error.message, message)
  }
  assert.deepEqual({ greeting: executions(fnGreeting), pending: executions(fnPendingZip), retired: executions(fnRetiredRuntime) }, before)
})

test('custom-code: a payload over 750 000 bytes and a timeout over 15 s are refused at submission', async () => {
  const big = await api(svc.url, 'POST', '/v1/jobs/custom-code', { actionId: fnGreeting, inputs: { name: 'x'.repeat(760_000) } })
  assert.equal(big.status, 400)
  assert.equal(big.body.code, 'PAYLOAD_TOO_LARGE')
  assert.match(big.body.message, /at most 750000/)
  const slow = await api(svc.url, 'POST', '/v1/jobs/custom-code', { actionId: fnGreeting, inputs: { name: 'x' }, timeoutSeconds: 16 })
  assert.equal(slow.status, 400)
  assert.equal(slow.body.code, 'TIMEOUT_OUT_OF_RANGE')
})
