import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createGenesys, GenesysError, type GenesysClientOptions } from '../../src/clients/genesys/index.ts'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { capturingLogger, checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { jumpingClock } from '../helpers/manual-clock.ts'
import { requestsTo } from '../helpers/sandbox-log.ts'

checkLogsForSecretsAfterAll()
const sandboxes: Sandbox[] = []
after(async () => { await Promise.all(sandboxes.map((s) => s.close())) })

const clientSecret = 'genesys-client-test-secret-9f8e7d'
trackSecret(clientSecret)
const echo = SANDBOX_FIXTURES.actions.echo

async function setup (sandboxOptions: SandboxOptions, clientOptions: Partial<GenesysClientOptions> = {}) {
  const sandbox = await startSandbox({ clientId: 'client-test', clientSecret, ...sandboxOptions })
  sandboxes.push(sandbox)
  const genesys = createGenesys({
    hosts: { apiUrl: sandbox.url, loginUrl: sandbox.url },
    clientId: 'client-test',
    clientSecret,
    rateLimit: { limit: 100_000, windowMs: 60_000 },
    concurrency: 50,
    retryBackoff: { minMs: 50, maxMs: 1000 },
    log: capturingLogger(),
    ...clientOptions
  })
  const remember = async () => { trackSecret(await genesys.client.tokens.get()) }
  return { sandbox, genesys, remember }
}

const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'
const apiLog = (sandbox: Sandbox) => sandbox.stats().log.filter((e) => e.route.includes('/api/v2/'))

test('genesys client: 200 concurrent calls with an expired token cause exactly one token request', async () => {
  // One clock for both sides: the hour-long token expires when the test jumps past its hour.
  const clock = jumpingClock()
  const { sandbox, genesys, remember } = await setup({ tokenTtlSeconds: 3600, now: clock.now, rateLimit: { limit: 100_000, windowMs: 60_000 } }, { now: clock.now })
  await genesys.integrations.getAction(echo)
  await remember()
  assert.equal(sandbox.stats().tokenRequests, 1)
  clock.jump(3_600_000) // the token has now expired for both sides
  const results = await Promise.all(Array.from({ length: 200 }, () => genesys.integrations.getAction(echo)))
  assert.equal(results.length, 200)
  assert.ok(results.every((a) => a.id === echo))
  assert.equal(sandbox.stats().tokenRequests, 2, 'one new token for all 200 calls')
  await remember()
})

test('genesys client: a token revoked mid-run costs one re-login and the calls succeed', async () => {
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 } }, { concurrency: 5 })
  let done = 0
  let thirtyDone: () => void
  const thirty = new Promise<void>((resolve) => { thirtyDone = resolve })
  const calls = Array.from({ length: 100 }, async () => {
    const action = await genesys.integrations.getAction(echo)
    if (++done === 30) thirtyDone()
    return action
  })
  await thirty
  await remember()
  assert.ok(sandbox.revokeTokens() >= 1)
  const results = await Promise.all(calls)
  assert.equal(results.length, 100)
  assert.equal(sandbox.stats().tokenRequests, 2, 'the first token, then exactly one re-login')
  assert.ok(apiLog(sandbox).some((e) => e.status === 401), 'the revoked token was refused at least once')
  await remember()
})

test('genesys client: a client set faster than Genesys allows follows the rate-limit headers instead of meeting 429s', async () => {
  const N = 20
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: N, windowMs: 1000 } }, { rateLimit: { limit: 600, windowMs: 1000 }, concurrency: 10 })
  const results = await Promise.all(Array.from({ length: 3 * N }, () => genesys.integrations.getAction(echo)))
  assert.equal(results.length, 3 * N)
  const statuses = apiLog(sandbox).map((e) => e.status)
  assert.ok(statuses.filter((s) => s === 429).length / statuses.length <= 0.01)
  assert.equal(genesys.client.pacer.limit, N, 'the pace follows inin-ratelimit-allowed')
  await remember()
})

test('genesys client: a burst of 3N calls against a limit of N per window all complete with at most 1% 429s', async () => {
  const N = 20
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: N, windowMs: 1000 } }, { rateLimit: { limit: N, windowMs: 1000 }, concurrency: 10 })
  const results = await Promise.all(Array.from({ length: 3 * N }, () => genesys.integrations.getAction(echo)))
  assert.equal(results.length, 3 * N)
  const log = apiLog(sandbox)
  const statuses = log.map((e) => e.status)
  const share429 = statuses.filter((s) => s === 429).length / statuses.length
  assert.ok(share429 <= 0.01, `429 share ${share429}`)
  // Counted, not timed: the sandbox says which of the token's windows each request fell in.
  const perWindow = Map.groupBy(log.filter((e) => e.status === 200), (e) => e.rateWindow)
  assert.ok(perWindow.size >= 3, `3N calls at N per window take at least three windows (${perWindow.size})`)
  assert.ok([...perWindow.values()].every((inWindow) => inWindow.length <= N), 'no window took more than N')
  await remember()
})

test('genesys client: after a 429 no request reaches Genesys during the Retry-After pause', async () => {
  // 10% of requests are throttled at random, each asking for a 1 s pause.
  const sends: number[] = []
  const pauses: Array<{ from: number, to: number }> = []
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 }, faults: { rate429: 0.1 }, seed: 3 }, {
    concurrency: 10,
    observer: {
      sending: ({ at }) => { sends.push(at) },
      // The pause as the pacer set it: a clock read here may be a millisecond later than its own.
      throttled: ({ pausedUntil }) => { pauses.push({ from: Date.now(), to: pausedUntil }) }
    }
  })
  const results = await Promise.all(Array.from({ length: 40 }, () => genesys.integrations.getAction(echo)))
  assert.equal(results.length, 40, 'every call completes despite the 429s')
  const log = apiLog(sandbox)
  const throttles = log.filter((e) => e.status === 429)
  assert.ok(throttles.length > 0 && pauses.length > 0, 'the sandbox did throttle')
  // Nothing is sent while a pause runs: from the moment the 429 is read until Retry-After is over.
  for (const pause of pauses) {
    const sentDuring = sends.filter((at) => at > pause.from && at < pause.to)
    assert.deepEqual(sentDuring, [], `requests were sent during the pause ${pause.from}–${pause.to}`)
  }
  // And so, at the sandbox, only requests already on the wire when the 429 left (at most
  // concurrency − 1 of them) can arrive after it.
  for (const t of throttles) {
    const late = log.filter((e) => e.at > t.at && e.at < t.at + (t.retryAfterMs ?? 0))
    assert.ok(late.length <= 9, `${late.length} requests arrived after the 429 at ${t.at}`)
  }
  await remember()
})

test('genesys client: with 20% injected 503 and 5% connection resets, 500 idempotent calls all succeed', async () => {
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 }, faults: { rate503: 0.2, resetRate: 0.05 }, seed: 7 }, { concurrency: 20 })
  const results = await Promise.all(Array.from({ length: 500 }, () => genesys.integrations.getAction(echo)))
  assert.equal(results.length, 500)
  const log = apiLog(sandbox)
  assert.ok(log.filter((e) => e.status === 503).length > 50, 'faults were injected')
  await remember()
})

test('genesys client: an unsafe POST is not retried after a connection reset', async () => {
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 } })
  await genesys.integrations.getAction(echo)
  sandbox.setFaults({ resetRate: 1 })
  const failure = await genesys.integrations.executeAction(echo, { message: 'hi' }).catch((err: unknown) => err)
  assert.ok(failure instanceof GenesysError)
  assert.equal(failure.status, 0)
  assert.equal(failure.outcome, 'unknown', 'the caller is told the action may or may not have run')
  assert.equal(failure.mayHaveRun, true)
  const executes = requestsTo(sandbox, EXECUTE_ROUTE)
  assert.equal(executes.length, 1, 'exactly one attempt reached the sandbox')

  // The same fault on an idempotent GET is retried.
  const before = apiLog(sandbox).length
  sandbox.setFaults({ resetRate: 1 })
  const getFailure = await genesys.client.request({ name: 'test.get', method: 'GET', repeat: 'safe', path: `/api/v2/integrations/actions/${echo}` }).catch((e: unknown) => e)
  assert.ok(getFailure instanceof GenesysError)
  assert.ok(apiLog(sandbox).length - before > 1, 'the GET was tried again')
  sandbox.setFaults({ resetRate: 0 })
  await remember()
})

test('genesys client: both Genesys error shapes reach the caller as the typed error', async () => {
  const { genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 } })
  const dataAction = await genesys.integrations.executeAction(SANDBOX_FIXTURES.actions.failing, {}).catch((e: unknown) => e)
  assert.ok(dataAction instanceof GenesysError)
  assert.equal(dataAction.status, 400)
  assert.equal(dataAction.code, 'BAD_REQUEST')
  assert.ok(dataAction.message.length > 0)
  assert.ok(typeof dataAction.correlationId === 'string' && dataAction.correlationId.length > 0)

  const platform = await genesys.integrations.executeAction(SANDBOX_FIXTURES.actions.platformError, {}).catch((e: unknown) => e)
  assert.ok(platform instanceof GenesysError)
  assert.equal(platform.status, 500)
  assert.ok(typeof platform.code === 'string')
  assert.ok(typeof platform.contextId === 'string' && platform.contextId.length > 0)
  assert.ok(typeof platform.correlationId === 'string')

  const missing = await genesys.integrations.getAction('custom_-_00000000-0000-0000-0000-000000000000').catch((e: unknown) => e)
  assert.ok(missing instanceof GenesysError)
  assert.equal(missing.status, 404)
  assert.equal(missing.code, 'not.found')
  await remember()
})

test('genesys client: wrong credentials give the OAuth error, typed', async () => {
  const sandbox = await startSandbox({ clientId: 'right', clientSecret: 'right-secret-123' })
  sandboxes.push(sandbox)
  trackSecret('wrong-secret-456')
  const genesys = createGenesys({ hosts: { apiUrl: sandbox.url, loginUrl: sandbox.url }, clientId: 'right', clientSecret: 'wrong-secret-456', rateLimit: { limit: 100, windowMs: 60_000 }, log: capturingLogger() })
  const err = await genesys.integrations.getAction(echo).catch((e: unknown) => e)
  assert.ok(err instanceof GenesysError)
  assert.equal(err.status, 401)
  assert.equal(err.code, 'invalid_client')
})

test('genesys client: an unsafe POST answered 503 is not repeated by the client (the job engine decides)', async () => {
  const { sandbox, genesys, remember } = await setup({ rateLimit: { limit: 100_000, windowMs: 60_000 } })
  await genesys.integrations.getAction(echo)
  sandbox.setFaults({ rate503: 1 })
  const failure = await genesys.integrations.executeAction(echo, { message: 'once' }).catch((err: unknown) => err)
  sandbox.setFaults({ rate503: 0 })
  assert.ok(failure instanceof GenesysError)
  assert.equal(failure.status, 503)
  assert.equal(failure.retryable, true, 'Genesys-side trouble, worth another try later')
  assert.equal(failure.mayHaveRun, true, 'but the action may have run: only the job may decide to repeat it')
  const executes = requestsTo(sandbox, EXECUTE_ROUTE)
  assert.equal(executes.length, 1)
  await remember()
})
