import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPacer } from '../../src/clients/genesys/pacer.ts'
import { GenesysError, parseGenesysError, parseRetryAfter } from '../../src/clients/genesys/errors.ts'
import { mayHaveBeenSent, repeatable } from '../../src/clients/genesys/client.ts'
import { resolveHosts } from '../../src/clients/genesys/hosts.ts'

test('genesys errors: the platform ErrorBody maps to the typed error with every field', () => {
  const err = parseGenesysError('integrations.getAction', 429, {
    message: 'Rate limit exceeded the maximum. Retry the request in [3] seconds',
    code: 'too.many.requests.retry.after',
    status: 429,
    contextId: 'ctx-1',
    limit: { key: 'token.rate.per.minute', namespace: 'platform.api', value: 300 }
  }, { 'inin-correlation-id': 'corr-1' }, 3000)
  assert.ok(err instanceof GenesysError)
  assert.deepEqual({ ...err.toJobField(), retryAfterMs: err.retryAfterMs, limit: err.limit, operation: err.operation }, {
    status: 429,
    code: 'too.many.requests.retry.after',
    message: 'Rate limit exceeded the maximum. Retry the request in [3] seconds',
    contextId: 'ctx-1',
    correlationId: 'corr-1',
    retryAfterMs: 3000,
    limit: { key: 'token.rate.per.minute', namespace: 'platform.api', value: 300 },
    operation: 'integrations.getAction'
  })
  assert.equal(err.retryable, true)
})

test('genesys errors: the data-actions shape (errorCode, userMessage, correlationId) maps to the same fields', () => {
  const err = parseGenesysError('integrations.executeAction', 400, {
    status: 400,
    errorCode: 'BAD_REQUEST',
    userMessage: 'REST call for action execute failed. Message: Request to backend service failed.',
    userParams: [],
    correlationId: 'corr-body',
    details: [{ errorCode: 'ACTION.REMOTE_ENDPOINT' }],
    errors: []
  }, { 'inin-correlation-id': 'corr-header' })
  assert.equal(err.status, 400)
  assert.equal(err.code, 'BAD_REQUEST')
  assert.equal(err.message, 'REST call for action execute failed. Message: Request to backend service failed.')
  assert.equal(err.correlationId, 'corr-body', 'the body wins over the header')
  assert.deepEqual(err.details, [{ errorCode: 'ACTION.REMOTE_ENDPOINT' }])
  assert.equal(err.retryable, false)
})

test('genesys errors: nested, OAuth and non-JSON bodies still give a message', () => {
  assert.equal(parseGenesysError('x', 400, { errors: [{ userMessage: 'inner' }] }, {}).message, 'inner')
  const oauth = parseGenesysError('oauth.token', 401, { error: 'invalid_client', error_description: 'client not found' }, {})
  assert.equal(oauth.code, 'invalid_client')
  assert.equal(oauth.message, 'client not found')
  assert.equal(parseGenesysError('x', 502, '<html>Bad gateway</html>', {}).message, '<html>Bad gateway</html>')
  assert.equal(parseGenesysError('x', 503, undefined, {}).message, 'Genesys answered HTTP 503')
})

test('genesys errors: Retry-After in seconds or as a date, capped', () => {
  assert.equal(parseRetryAfter('3', 180_000), 3000)
  assert.equal(parseRetryAfter('86400', 180_000), 180_000)
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 180_000, 4000), 6000)
  assert.equal(parseRetryAfter(undefined, 180_000), undefined)
  assert.equal(parseRetryAfter('soon', 180_000), undefined)
})

test('genesys hosts: a region gives login and api hosts; explicit URLs win', () => {
  assert.deepEqual(resolveHosts({ region: 'usw2.pure.cloud' }), { apiUrl: 'https://api.usw2.pure.cloud', loginUrl: 'https://login.usw2.pure.cloud' })
  assert.deepEqual(resolveHosts({ region: 'api.mypurecloud.ie' }), { apiUrl: 'https://api.mypurecloud.ie', loginUrl: 'https://login.mypurecloud.ie' })
  assert.deepEqual(resolveHosts({ region: 'mypurecloud.com', apiUrl: 'http://127.0.0.1:9/' }), { apiUrl: 'http://127.0.0.1:9', loginUrl: 'https://login.mypurecloud.com' })
  assert.throws(() => resolveHosts({}), /GENESYS_REGION/)
})

test('pacer: never more than the limit in any sliding window, evenly spaced', async () => {
  const pacer = createPacer({ limit: 10, windowMs: 200, concurrency: 50, marginMs: 5 })
  const sends: number[] = []
  await Promise.all(Array.from({ length: 30 }, async () => {
    // The pacer's own send instants: a stamp taken here could lag them when the process is
    // descheduled, and the window is the pacer's promise, not the test runner's.
    const release = await pacer.acquire()
    sends.push(release.sentAt)
    release()
  }))
  sends.sort((a, b) => a - b)
  for (let i = 10; i < sends.length; i++) assert.ok(sends[i]! - sends[i - 10]! >= 200, `send ${i} came ${sends[i]! - sends[i - 10]!} ms after send ${i - 10}`)
  assert.ok(sends[29]! - sends[0]! >= 400, '30 sends at 10 a window span at least two windows of the pacer\'s clock')
})

test('pacer: a pause holds every request; concurrency is bounded', async () => {
  const pacer = createPacer({ limit: 1000, windowMs: 1000, concurrency: 2 })
  const pausedUntil = pacer.pauseFor(150)
  const release = await pacer.acquire()
  assert.ok(release.sentAt >= pausedUntil, 'the first send waits for the pause to end')
  const second = await pacer.acquire()
  let thirdIn = false
  const third = pacer.acquire().then((r) => { thirdIn = true; return r })
  // A request takes its slot synchronously when one is free, so no waiting is needed to see it held.
  assert.equal(pacer.inFlight, 2, 'a third request waits for a free slot')
  assert.equal(thirdIn, false)
  release()
  ;(await third)()
  second()
  assert.equal(pacer.inFlight, 0)
})

test('pacer: Genesys headers lower the pace and a spent budget pauses until the reset', async () => {
  const pacer = createPacer({ limit: 300, windowMs: 60_000, concurrency: 5 })
  pacer.observe({ allowed: 180, count: 10, resetMs: 30_000 })
  assert.equal(pacer.limit, 180)
  const before = Date.now()
  pacer.observe({ allowed: 180, count: 180, resetMs: 2000 })
  assert.ok(pacer.pausedUntil >= before + 2000)
  const aborted = new AbortController()
  const waiting = pacer.acquire(aborted.signal)
  aborted.abort()
  await assert.rejects(waiting)
  assert.equal(pacer.inFlight, 0, 'an aborted wait gives its slot back')
})

test('pacer: the limit goes back up after inin-ratelimit-allowed rises, never above the configured limit', () => {
  const pacer = createPacer({ limit: 300, windowMs: 60_000, concurrency: 5 })
  pacer.observe({ allowed: 120, count: 1, resetMs: 60_000 })
  assert.equal(pacer.limit, 120, 'down with Genesys')
  pacer.observe({ allowed: 240, count: 1, resetMs: 60_000 })
  assert.equal(pacer.limit, 240, 'and back up with it')
  pacer.observe({ allowed: 600, count: 1, resetMs: 60_000 })
  assert.equal(pacer.limit, 300, 'but no higher than the operator configured')
  pacer.observe({ count: 2 })
  assert.equal(pacer.limit, 300, 'a missing header changes nothing')
})

const op = (repeat: 'safe' | 'side-effect') => ({ repeat })
const failure = (status: number, outcome?: 'not-sent' | 'unknown', code?: string) => new GenesysError({ operation: 'x', status, message: 'm', outcome, code })

test('client retry rule: a side effect is repeated only when Genesys certainly did not act (never sent, 429)', () => {
  assert.equal(repeatable(op('side-effect'), failure(429)), true, '429: refused before running')
  assert.equal(repeatable(op('side-effect'), failure(0, 'not-sent', 'ECONNREFUSED')), true, 'never sent')
  assert.equal(repeatable(op('side-effect'), failure(503, 'not-sent')), true, 'a login that failed: the call itself never went')
  for (const [status, outcome, code] of [[500], [502], [503], [504], [408], [0, 'unknown', 'ECONNRESET'], [0, 'unknown', 'ETIMEDOUT'], [200, 'unknown', 'UNREADABLE_ANSWER']] as const) {
    assert.equal(repeatable(op('side-effect'), failure(status, outcome, code)), false, `${status} ${code ?? ''} may have run`)
    // 500 is Genesys's own failure, not a passing one: the client leaves even reads to the engine's step retry.
    assert.equal(repeatable(op('safe'), failure(status, outcome, code)), status !== 500, `${status} ${code ?? ''} is repeated when safe (500 is not)`)
  }
  for (const status of [400, 401, 403, 404, 409, 413]) {
    assert.equal(repeatable(op('safe'), failure(status)), false, `${status} is a definite answer`)
    assert.equal(failure(status).outcome, 'refused')
  }
  assert.equal(failure(500).mayHaveRun, true)
  assert.equal(failure(429).notRun, true)
  assert.equal(failure(0, 'not-sent').notRun, true)
})

test('client: a request failed without an answer was sent unless no connection (or TLS session) ever existed', () => {
  const timings = (t: Record<string, number | undefined>) => ({ start: 1, socket: 2, ...t }) as never
  assert.equal(mayHaveBeenSent({ code: 'ECONNREFUSED', timings: timings({}) }, 'http://api'), false)
  assert.equal(mayHaveBeenSent({ code: 'ENOTFOUND', timings: timings({}) }, 'https://api'), false)
  assert.equal(mayHaveBeenSent({ code: 'ECONNRESET', timings: timings({}) }, 'http://api'), false, 'reset before connecting')
  assert.equal(mayHaveBeenSent({ code: 'ECONNRESET', timings: timings({ connect: 3 }) }, 'http://api'), true, 'reset after connecting (or on a reused connection)')
  assert.equal(mayHaveBeenSent({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', timings: timings({ connect: 3 }) }, 'https://api'), false, 'TLS failed before the request')
  assert.equal(mayHaveBeenSent({ code: 'ETIMEDOUT', timings: timings({ connect: 3, secureConnect: 4, upload: 5 }) }, 'https://api'), true)
  assert.equal(mayHaveBeenSent({ code: 'X', timings: undefined }, 'http://api'), true, 'nothing known: it may have been sent')
})
